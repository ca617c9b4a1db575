// The HOST:GUESTDIR[:ro|:rw] syntax that --volume and --share share, and QEMU's escaping of
// a host path inside an option value.
#pragma once

#include <optional>
#include <string>
#include <string_view>

struct GuestMountOption {
  std::string host;       // a host path; it may hold colons
  std::string guest_dir;  // absolute, in the guest
  bool read_only = false;
};

// The last fields are the guest's: HOST:GUESTDIR, HOST:GUESTDIR:ro or HOST:GUESTDIR:rw
// (writable unless :ro). Nothing when the text does not have that shape or GUESTDIR is not an
// absolute path a kernel command-line word can carry.
std::optional<GuestMountOption> split_guest_mount_option(std::string_view text);

// QEMU's option syntax doubles a comma inside a value.
std::string escape_qemu_commas(std::string_view text);
