// The program's volumes: the ext4 file systems the kernel command line names (volume=),
// mounted before the program starts.
#pragma once

#include <span>
#include <string_view>

#include "kernel/boot/boot_options.h"
#include "kernel/fs/fs_context.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"

namespace nimbus::linux {

// Keeps the volume= words for mount_volumes() (boot, before the program).
void set_boot_volumes(std::span<const VolumeOption> volumes);
// Keeps the root= word's device for mount_disk_root().
void set_boot_root(std::string_view device);
// Mounts the root= device's ext4 file system read-only and returns its root, for the Vfs to
// make the tree's root; nullptr without a root= word. False (an error), with a message, when
// it cannot be mounted.
bool mount_disk_root(RefPtr<fs::Vnode>* root);
// Mounts each volume (read-only or read-write, as its word says) on its directory (made if
// missing); false, with a message naming the volume and the reason, when one cannot be mounted.
bool mount_volumes(fs::FsContext& context);
// mkdir -p of a mount point: every missing directory on the way, in the tree mounted so far
// (volumes and shares alike).
Result<> make_directories(fs::FsContext& context, std::string_view path);
// Writes back every writable volume and flushes its disk: the VM's orderly end (power-off)
// calls it with `final` (a clean unmount: journals emptied, no recovery needed), so what the
// program wrote is on the host's image when QEMU exits; sync(2) without.
void sync_volumes(bool final = false);

}  // namespace nimbus::linux
