// The program's shared host directories: the virtio-9p shares the kernel command line names
// (share=), mounted before the program starts.
#pragma once

#include <span>

#include "kernel/boot/boot_options.h"
#include "kernel/fs/fs_context.h"

namespace nimbus::linux {

// Keeps the share= words for mount_shares() (boot, before the program).
void set_boot_shares(std::span<const VolumeOption> shares);
// Mounts each share's 9p file system on its directory (made if missing); false, with a
// message naming the share and the reason, when one cannot be mounted.
bool mount_shares(fs::FsContext& context);

}  // namespace nimbus::linux
