// The image's root file system as an ext4 disk: the tree staged in a host directory and handed
// to e2fsprogs' mke2fs -d, which needs no root and no loop device.
#pragma once

#include <optional>
#include <string>

#include "cli_error.h"
#include "progress_line.h"
#include "rootfs_tree.h"

// Writes `tree` as an ext4 file system to the new file `out`, staging it in `staging` (a
// directory that must not exist yet; files are copied there, never linked, so the host files'
// change times stay as the build cache saw them; removed afterwards). The result
// is reproducible: the UUID, hash seed and times come from the tree, not from the clock.
// Failures (mke2fs missing or failing, disk full): kCliFailure.
// `progress`, when given, hears of every file staged.
CliResult<> write_ext4_image(const RootfsTree& tree, const std::string& staging, const std::string& out,
                             ProgressLine* progress = nullptr);

// e2fsprogs' mke2fs: in /usr/sbin or /sbin, which a user's PATH often lacks, or on PATH.
std::optional<std::string> find_mke2fs();

// The directories the kernel mounts over on a disk root (devfs, tmpfs, procfs, sysfs and the
// RAM copy of /etc): every disk image has them.
inline constexpr const char* kDiskMountPoints[] = {"/dev", "/tmp", "/proc", "/sys", "/etc"};
