// ShareOption: `nimbus run --share HOSTDIR:GUESTDIR[:ro]`, a host directory shared with the
// guest through virtio-9p (QEMU's own 9p server, -fsdev local: no daemon) and mounted at
// GUESTDIR; its parser, host check, QEMU arguments and the kernel's share= words.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cli_error.h"

struct ShareOption {
  std::string host_dir;
  std::string guest_dir;  // absolute, in the guest
  bool read_only = false;
  bool operator==(const ShareOption&) const = default;
};

// HOSTDIR:GUESTDIR[:ro|:rw] (the host path may hold colons; the last fields are the guest's).
CliResult<ShareOption> parse_share_option(std::string_view text);
// HOSTDIR exists and is a directory the user can read (and write, unless :ro): a clear error
// before QEMU starts otherwise.
CliResult<void> check_share_directory(const ShareOption& share);
// -fsdev/-device pairs, in order, with mount tags nimbus-share0, nimbus-share1, ...
// (virtio-9p-pci on q35, virtio-9p-device on microvm).
std::vector<std::string> qemu_share_args(const std::vector<ShareOption>& shares, bool pci);
// share=nimbus-share0:GUESTDIR:ro or :rw, ...
std::vector<std::string> share_kernel_words(const std::vector<ShareOption>& shares);
