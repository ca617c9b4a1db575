#include "guest_mount_option.h"

std::optional<GuestMountOption> split_guest_mount_option(std::string_view text) {
  size_t last = text.rfind(':');
  if (last == std::string_view::npos) return std::nullopt;
  std::string_view mode = text.substr(last + 1);
  std::string_view rest = text.substr(0, last);
  if (mode != "ro" && mode != "rw") {
    mode = "";
    rest = text;
  }
  size_t split = rest.rfind(':');
  if (split == std::string_view::npos || split == 0) return std::nullopt;
  std::string_view host = rest.substr(0, split), guest = rest.substr(split + 1);
  if (guest.empty() || guest[0] != '/' || guest.find_first_of(" \t\n\"") != std::string_view::npos)
    return std::nullopt;
  return GuestMountOption{std::string(host), std::string(guest), mode == "ro"};
}

std::string escape_qemu_commas(std::string_view text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}
