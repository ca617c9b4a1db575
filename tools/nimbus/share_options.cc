// --share: parsing, the host check, and what QEMU and the kernel are told.
#include "share_options.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "text.h"

namespace {

std::string escape_commas(std::string_view text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == ',') out += ',';  // QEMU's option syntax doubles a comma inside a value
  }
  return out;
}

}  // namespace

CliResult<ShareOption> parse_share_option(std::string_view text) {
  auto usage = [&] {
    return usage_error(cat("--share needs HOSTDIR:GUESTDIR[:ro] (a host directory and an absolute guest directory), not '",
                           text, "'"));
  };
  size_t last = text.rfind(':');
  if (last == std::string_view::npos) return usage();
  std::string_view mode = text.substr(last + 1);
  std::string_view rest = text.substr(0, last);
  if (mode != "ro" && mode != "rw") {
    mode = "";
    rest = text;
  }
  size_t split = rest.rfind(':');
  if (split == std::string_view::npos || split == 0) return usage();
  std::string_view host = rest.substr(0, split), guest = rest.substr(split + 1);
  if (guest.empty() || guest[0] != '/' || guest.find_first_of(" \t\n\"") != std::string_view::npos) return usage();
  return ShareOption{std::string(host), std::string(guest), mode == "ro"};
}

CliResult<void> check_share_directory(const ShareOption& share) {
  struct stat info;
  if (stat(share.host_dir.c_str(), &info) != 0)
    return cli_error(exit_status::kBadInput, cat("--share ", share.host_dir, ": ", strerror(errno)));
  if (!S_ISDIR(info.st_mode))
    return cli_error(exit_status::kBadInput, cat("--share ", share.host_dir, ": not a directory"));
  if (access(share.host_dir.c_str(), share.read_only ? R_OK | X_OK : R_OK | W_OK | X_OK) != 0)
    return cli_error(exit_status::kBadInput, cat("--share ", share.host_dir, ": ", strerror(errno),
                                                 share.read_only ? "" : " (share it with :ro to read it only)"));
  return {};
}

std::vector<std::string> qemu_share_args(const std::vector<ShareOption>& shares, bool pci) {
  std::vector<std::string> args;
  for (size_t i = 0; i < shares.size(); i++) {
    std::string id = cat("nimbus-share", i);
    // security_model=none: QEMU acts on the files as the user running it, with no mapping of
    // guest owners, as a development share should.
    args.insert(args.end(), {"-fsdev", cat("local,id=", id, ",path=", escape_commas(shares[i].host_dir),
                                           ",security_model=none", shares[i].read_only ? ",readonly=on" : ""),
                             "-device",
                             pci ? cat("virtio-9p-pci-non-transitional,romfile=,fsdev=", id, ",mount_tag=", id)
                                 : cat("virtio-9p-device,fsdev=", id, ",mount_tag=", id)});
  }
  return args;
}

std::vector<std::string> share_kernel_words(const std::vector<ShareOption>& shares) {
  std::vector<std::string> words;
  for (size_t i = 0; i < shares.size(); i++)
    words.push_back(cat("share=nimbus-share", i, ":", shares[i].guest_dir, shares[i].read_only ? ":ro" : ":rw"));
  return words;
}
