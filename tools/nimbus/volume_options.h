// VolumeOption: `nimbus run --volume FILE:GUESTDIR[:ro]`, an ext4 image (made, sparse, when
// missing) attached as a virtio-blk or NVMe disk and mounted at GUESTDIR, read-write unless
// :ro; its parser, host preparation, QEMU arguments and the kernel's volume= words.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cli_error.h"

struct VolumeOption {
  std::string file;       // the ext4 image on the host
  std::string guest_dir;  // absolute, in the guest
  bool read_only = false;
  bool operator==(const VolumeOption&) const = default;
};

// The size of a volume nimbus makes when --volume-size does not say (MiB).
inline constexpr uint64_t kDefaultVolumeMib = 1024;

// How the disks (volumes, then the image's root disk) are attached: virtio-blk on the
// machine's virtio transport, or NVMe controllers (PCI only: `--disk-bus nvme`).
enum class DiskDevice { VirtioMmio, VirtioPci, Nvme };

// The kernel's name of the disk attached `index`-th: vda, vdb, ... or nvme0n1, nvme1n1, ...
// (one controller per disk, each with namespace 1, numbered in PCI order as attached).
std::string guest_disk_name(DiskDevice device, std::size_t index);

// FILE:GUESTDIR[:ro|:rw] (the image path may hold colons; the last fields are the guest's).
CliResult<VolumeOption> parse_volume_option(std::string_view text);
// The image exists and is a readable (writable, unless :ro) regular file or block device; a
// missing writable one is made: a sparse file of `size_mib` formatted by mke2fs -t ext4.
// A clear error before QEMU starts otherwise.
CliResult<void> prepare_volume_file(const VolumeOption& volume, uint64_t size_mib, bool verbose);
// -drive/-device pairs (read-only for :ro), in order: the kernel names them as guest_disk_name says.
std::vector<std::string> qemu_volume_args(const std::vector<VolumeOption>& volumes, DiskDevice device);
// volume=vda:GUESTDIR:ro or :rw (volume=nvme0n1:... on NVMe), ...
std::vector<std::string> volume_kernel_words(const std::vector<VolumeOption>& volumes, DiskDevice device);

// The image's root disk: attached read-only after the volumes (so it is vd<a + volumes>, or
// nvme<volumes>n1), and the kernel word that names it.
std::vector<std::string> qemu_root_disk_args(const std::string& file, DiskDevice device, std::size_t volume_count);
std::string root_disk_kernel_word(DiskDevice device, std::size_t volume_count);
