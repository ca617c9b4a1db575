// VolumeOption: `nimbus run --volume FILE:GUESTDIR[:ro]`, an existing ext4 image attached as
// a virtio-blk disk and mounted at GUESTDIR; its parser, host check, QEMU arguments and the
// kernel's volume= words.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cli_error.h"

struct VolumeOption {
  std::string file;       // the ext4 image on the host
  std::string guest_dir;  // absolute, in the guest
  bool operator==(const VolumeOption&) const = default;
};

// FILE:GUESTDIR:ro (the image path may hold colons; the last fields are the guest's). Without
// :ro, or with :rw, a usage error: ext4 writes are not implemented yet.
CliResult<VolumeOption> parse_volume_option(std::string_view text);
// The image exists and is a readable regular file (else a clear error before QEMU starts).
CliResult<void> check_volume_file(const VolumeOption& volume);
// -drive/-device pairs, read-only, in order: the kernel names them vda, vdb, ...
std::vector<std::string> qemu_volume_args(const std::vector<VolumeOption>& volumes, bool pci);
// volume=vda:GUESTDIR:ro, ...
std::vector<std::string> volume_kernel_words(const std::vector<VolumeOption>& volumes);

// The image's root disk: attached read-only after the volumes (so it is vd<a + volumes>), and
// the kernel word that names it.
std::vector<std::string> qemu_root_disk_args(const std::string& file, bool pci);
std::string root_disk_kernel_word(std::size_t volume_count);
