// Shares: the virtio-9p device by mount tag, the 9P2000.L attach, and the mount itself.
#include "kernel/linux/shares.h"

#include "kernel/drivers/virtio/p9.h"
#include "kernel/fs/9p/p9_fs.h"
#include "kernel/fs/fs.h"
#include "kernel/fs/linux_abi.h"
#include "kernel/fs/vfs.h"
#include "kernel/lib/console.h"
#include "kernel/linux/volumes.h"
#include "kernel/time/clock.h"

namespace nimbus::linux {
namespace {

std::span<const VolumeOption> g_shares;

}  // namespace

void set_boot_shares(std::span<const VolumeOption> shares) { g_shares = shares; }

bool mount_shares(fs::FsContext& context) {
  for (const VolumeOption& share : g_shares) {
    int tag_length = static_cast<int>(share.device.size());
    int directory_length = static_cast<int>(share.directory.size());
    virtio_9p::Channel* channel = virtio_9p::find(share.device);
    if (!channel) {
      print("nimbus: share %.*s for %.*s: no virtio-9p device with that mount tag\n", tag_length, share.device.data(),
            directory_length, share.directory.data());
      return false;
    }
    auto access = share.read_only ? p9::P9Fs::Access::read_only : p9::P9Fs::Access::read_write;
    auto mounted = p9::P9Fs::try_mount(*channel, [] { return static_cast<int64_t>(clock::wall_ns()); }, access);
    if (!mounted) {
      print("nimbus: share %.*s for %.*s: the 9P2000.L attach failed (error %d)\n", tag_length, share.device.data(),
            directory_length, share.directory.data(), static_cast<int>(mounted.error()));
      return false;
    }
    auto made = make_directories(context, share.directory);
    auto attached = made ? fs::vfs().mount(share.directory, (*mounted)->root()) : made;
    if (!attached) {
      print("nimbus: share %.*s: cannot mount it on %.*s (error %d)\n", tag_length, share.device.data(),
            directory_length, share.directory.data(), static_cast<int>(attached.error()));
      return false;
    }
    log("share: %.*s (9p, %s) on %.*s\n", tag_length, share.device.data(), share.read_only ? "read-only" : "read-write",
        directory_length, share.directory.data());
  }
  return true;
}

}  // namespace nimbus::linux
