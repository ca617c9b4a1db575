// VolumeOption: `nimbus run --volume FILE:GUESTDIR[:ro]`, an ext4 image (made, sparse, when
// missing) attached as a virtio-blk disk and mounted at GUESTDIR, read-write unless :ro; its
// parser, host preparation, QEMU arguments and the kernel's volume= words.
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

// FILE:GUESTDIR[:ro|:rw] (the image path may hold colons; the last fields are the guest's).
CliResult<VolumeOption> parse_volume_option(std::string_view text);
// The image exists and is a readable (writable, unless :ro) regular file or block device; a
// missing writable one is made: a sparse file of `size_mib` formatted by mke2fs -t ext4.
// A clear error before QEMU starts otherwise.
CliResult<void> prepare_volume_file(const VolumeOption& volume, uint64_t size_mib, bool verbose);
// -drive/-device pairs (read-only for :ro), in order: the kernel names them vda, vdb, ...
std::vector<std::string> qemu_volume_args(const std::vector<VolumeOption>& volumes, bool pci);
// volume=vda:GUESTDIR:ro or :rw, ...
std::vector<std::string> volume_kernel_words(const std::vector<VolumeOption>& volumes);

// The image's root disk: attached read-only after the volumes (so it is vd<a + volumes>), and
// the kernel word that names it.
std::vector<std::string> qemu_root_disk_args(const std::string& file, bool pci);
std::string root_disk_kernel_word(std::size_t volume_count);
