// --share: parsing, the host check, and what QEMU and the kernel are told.
#include "share_options.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "guest_mount_option.h"
#include "text.h"

CliResult<ShareOption> parse_share_option(std::string_view text) {
  auto usage = [&] {
    return usage_error(cat("--share needs HOSTDIR:GUESTDIR[:ro] (a host directory and an absolute guest directory), not '",
                           text, "'"));
  };
  auto option = split_guest_mount_option(text);
  if (!option) return usage();
  return ShareOption{std::move(option->host), std::move(option->guest_dir), option->read_only};
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
    args.insert(args.end(), {"-fsdev", cat("local,id=", id, ",path=", escape_qemu_commas(shares[i].host_dir),
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
