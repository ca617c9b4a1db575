// Volumes: block device by name, ext4 mount, directory creation and the mount itself.
#include "kernel/linux/volumes.h"

#include "kernel/block/block_io.h"
#include "kernel/fs/ext4/ext4_fs.h"
#include "kernel/fs/fs.h"
#include "kernel/fs/linux_abi.h"
#include "kernel/fs/page_cache.h"
#include "kernel/fs/vfs.h"
#include "kernel/lib/console.h"
#include "kernel/linux/program_buffer_pinner.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/time/clock.h"

namespace nimbus::linux {
namespace {

std::span<const VolumeOption> g_volumes;
std::string_view g_root_device;

// The kernel's page cache for every ext4 mount; none (reads through the block cache, no shared
// mappings) if it cannot start.
fs::PageCache* page_cache() {
  auto cache = fs::start_kernel_page_cache();
  return cache ? *cache : nullptr;
}
// The writable mounts, for sync_volumes (mounted once at boot, never unmounted).
fs::ext4::Ext4Fs* g_writable[BootOptions::kMaxVolumes];
size_t g_writable_count = 0;

// How often the writable volumes commit what changed without an fsync (Linux's default
// commit interval).
constexpr uint64_t kCommitIntervalNs = 5'000'000'000;

// The periodic commit: what a program wrote reaches the journal within kCommitIntervalNs
// even if it never calls fsync (a commit with nothing changed costs nothing).
void commit_volumes_periodically(void*) {
  for (;;) {
    scheduler::sleep_for(kCommitIntervalNs);
    sync_volumes();
  }
}

void log_ext4_problem(const char* device, uint32_t ino, const char* problem) {
  print("nimbus: ext4 on %s: inode %u: %s\n", device, ino, problem);
}

}  // namespace

Result<> make_directories(fs::FsContext& context, std::string_view path) {
  for (size_t end = 1; end <= path.size(); end++) {
    if (end != path.size() && path[end] != '/') continue;
    // Existing directories first: a read-only root (a disk) refuses mkdir with EROFS even there.
    if (fs::stat(context, fs::linux_abi::at_fdcwd, std::string_view(path.data(), end), 0)) continue;
    auto made = fs::mkdir(context, fs::linux_abi::at_fdcwd, std::string_view(path.data(), end), 0755);
    if (!made && made.error() != Errno::eexist) return made;
  }
  return {};
}

void set_boot_volumes(std::span<const VolumeOption> volumes) { g_volumes = volumes; }
void set_boot_root(std::string_view device) { g_root_device = device; }

bool mount_disk_root(RefPtr<fs::Vnode>* root) {
  *root = nullptr;
  if (g_root_device.empty()) return true;
  fs::ext4::set_problem_logger(log_ext4_problem);
  fs::set_buffer_pinner(&program_buffer_pinner());
  char device_name[16] = {};
  if (g_root_device.size() >= sizeof(device_name)) return false;
  for (size_t i = 0; i < g_root_device.size(); i++) device_name[i] = g_root_device[i];
  block::BlockDevice* device = block::find_device(device_name);
  if (!device) {
    print("nimbus: the root file system's disk %s is missing\n", device_name);
    return false;
  }
  const char* problem = "?";
  auto mounted = fs::ext4::Ext4Fs::try_mount(*device, [] { return static_cast<int64_t>(clock::wall_ns()); }, &problem,
                                             fs::ext4::Ext4Fs::Access::read_only, page_cache());
  if (!mounted) {
    print("nimbus: cannot mount the root file system's ext4 on %s: %s (error %d)\n", device_name, problem,
          static_cast<int>(mounted.error()));
    return false;
  }
  *root = (*mounted)->root();
  log("root: %s (ext4, read-only)\n", device_name);
  return true;
}

bool mount_volumes(fs::FsContext& context) {
  fs::ext4::set_problem_logger(log_ext4_problem);
  fs::set_buffer_pinner(&program_buffer_pinner());
  for (const VolumeOption& volume : g_volumes) {
    char device_name[16] = {};
    if (volume.device.size() >= sizeof(device_name)) return false;
    for (size_t i = 0; i < volume.device.size(); i++) device_name[i] = volume.device[i];
    int directory_length = static_cast<int>(volume.directory.size());
    block::BlockDevice* device = block::find_device(device_name);
    if (!device) {
      print("nimbus: volume %s for %.*s: no such block device\n", device_name, directory_length, volume.directory.data());
      return false;
    }
    const char* problem = "?";
    auto access = volume.read_only ? fs::ext4::Ext4Fs::Access::read_only : fs::ext4::Ext4Fs::Access::read_write;
    auto mounted =
        fs::ext4::Ext4Fs::try_mount(*device, [] { return static_cast<int64_t>(clock::wall_ns()); }, &problem, access,
                                    page_cache());
    if (!mounted) {
      print("nimbus: volume %s for %.*s: cannot mount its ext4 file system: %s (error %d)\n", device_name,
            directory_length, volume.directory.data(), problem, static_cast<int>(mounted.error()));
      return false;
    }
    auto made = make_directories(context, volume.directory);
    auto attached = made ? fs::vfs().mount(volume.directory, (*mounted)->root()) : made;
    if (!attached && attached.error() == Errno::erofs) {
      print("nimbus: volume %s: %.*s does not exist on the read-only root disk (pack it with --workdir or --add)\n",
            device_name, directory_length, volume.directory.data());
      return false;
    }
    if (!attached) {
      print("nimbus: volume %s: cannot mount it on %.*s (error %d)\n", device_name, directory_length,
            volume.directory.data(), static_cast<int>(attached.error()));
      return false;
    }
    if (!volume.read_only && g_writable_count < BootOptions::kMaxVolumes) g_writable[g_writable_count++] = *mounted;
    if ((*mounted)->volume().replayed_transactions())
      log("volume: %s: journal replayed (%u transactions)\n", device_name,
          (*mounted)->volume().replayed_transactions());
    log("volume: %s (ext4, %s) on %.*s\n", device_name, volume.read_only ? "read-only" : "read-write", directory_length,
        volume.directory.data());
  }
  if (g_writable_count) {
    auto committer = Thread::try_create("ext4-commit", commit_volumes_periodically, nullptr);
    if (committer) {
      (*committer)->detach();
    } else {
      print("nimbus: no periodic commit thread (out of memory): volumes commit on fsync and at exit only\n");
    }
  }
  return true;
}

void sync_volumes(bool final) {
  for (size_t i = 0; i < g_writable_count; i++) {
    // The VM's end is a clean unmount: the journal is emptied and needs no recovery.
    if (auto synced = final ? g_writable[i]->close() : g_writable[i]->sync(); !synced)
      print("nimbus: a volume cannot be written back (error %d): its image may need e2fsck\n",
            static_cast<int>(synced.error()));
  }
}

}  // namespace nimbus::linux
