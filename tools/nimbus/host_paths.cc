// Where the CLI finds things on the host: its own directory (kernel, probe), QEMU, programs on
// PATH.
#include "host_paths.h"

#include <unistd.h>

#include <sys/stat.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "text.h"

namespace {

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::optional<std::string> find_on_path(std::string_view name) {
  const char* path_env = std::getenv("PATH");
  std::string_view dirs = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    std::size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    std::string candidate = cat(dir.empty() ? "." : dir, "/", name);
    if (is_executable_file(candidate)) return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

std::filesystem::path executable_dir() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::filesystem::current_path();
  return exe.parent_path();
}

CliResult<std::string> resolve_qemu(const std::optional<std::string>& requested) {
  std::string name = requested.value_or(kDefaultQemu);
  if (name.find('/') != std::string::npos) {
    if (is_executable_file(name)) return name;
    return cli_error(exit_status::kQemuNotFound,
                     cat("--qemu ", name, ": not found or not executable (", kDefaultQemu,
                         " comes with the Debian package qemu-system-x86)"));
  }
  if (auto found = find_on_path(name)) return *found;
  if (name == kDefaultQemu)
    return cli_error(exit_status::kQemuNotFound,
                     cat(name, " not found; install the Debian package qemu-system-x86"));
  return cli_error(exit_status::kQemuNotFound, cat("--qemu ", name, ": not found on PATH"));
}

std::string kernel_path(const std::optional<std::string>& requested) {
  if (requested) return *requested;
  return (executable_dir() / "nimbus-kernel.elf").string();
}

CliResult<> check_kernel_readable(const std::string& path, bool was_requested) {
  if (::access(path.c_str(), R_OK) == 0) return {};
  std::string reason = std::strerror(errno);
  if (was_requested) return cli_error(exit_status::kCliFailure, cat("kernel ", path, ": ", reason));
  return cli_error(exit_status::kCliFailure,
                   cat("kernel ", path, ": ", reason,
                       " (build the nimbus-kernel target, or pass --kernel PATH)"));
}
