// find_argument_files(): the program arguments that name host files or directories, which
// `nimbus build`/`run` pack at the same path so that `nimbus run python3 app.py` sees app.py.
#include "argument_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <climits>

#include "text.h"

namespace {

// Files the guest kernel writes when the image has none (docs/architecture.md): the guest's
// own, not the host's.
constexpr std::array<std::string_view, 5> kGuestMade = {"/etc/hosts", "/etc/hostname",
                                                        "/etc/resolv.conf", "/etc/passwd",
                                                        "/etc/group"};

bool is_under(const std::string& path, std::string_view dir) {
  return path == dir || (path.starts_with(dir) && path[dir.size()] == '/');
}

// Whether a directory's contents, recursively, stay within `limit` bytes (symlinks not followed).
bool fits(const std::string& dir, std::uint64_t limit) {
  std::error_code ec;
  std::uint64_t total = 0;
  auto options = std::filesystem::directory_options::skip_permission_denied;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, options, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec) && !it->is_symlink(size_ec)) {
      total += it->file_size(size_ec);
      if (total > limit) return false;
    }
  }
  return true;
}

std::string_view candidate_of(std::string_view arg) {
  if (!arg.starts_with('-')) return arg;
  std::size_t eq = arg.find('=');
  return eq == std::string_view::npos ? std::string_view() : arg.substr(eq + 1);
}

}  // namespace

ArgumentFiles find_argument_files(const std::vector<std::string>& args,
                                  const std::filesystem::path& cwd) {
  ArgumentFiles result;
  for (const std::string& arg : args) {
    std::string_view candidate = candidate_of(arg);
    if (candidate.empty() || candidate.size() >= PATH_MAX ||
        candidate.find('\n') != std::string_view::npos)
      continue;
    std::filesystem::path path(candidate);
    bool relative = path.is_relative();
    std::string absolute = (relative ? cwd / path : path).lexically_normal().string();
    while (absolute.size() > 1 && absolute.ends_with('/')) absolute.pop_back();
    struct stat st {};
    if (::stat(absolute.c_str(), &st) != 0) continue;
    if (is_under(absolute, "/proc") || is_under(absolute, "/sys") || is_under(absolute, "/dev") ||
        std::find(kGuestMade.begin(), kGuestMade.end(), absolute) != kGuestMade.end())
      continue;
    if (S_ISDIR(st.st_mode)) {
      // "/" and "/usr" are never what a program's argument means to carry along.
      if (std::count(absolute.begin(), absolute.end(), '/') < 2) {
        result.notes.push_back(cat("not packing the directory ", absolute, " (argument '", arg,
                                   "'): a top-level directory; --add what the program needs"));
        continue;
      }
      if (!fits(absolute, kMaxArgumentDirectoryBytes)) {
        result.skipped.push_back(cat("not packing the directory ", absolute, " (argument '", arg,
                                     "'): larger than ", kMaxArgumentDirectoryBytes >> 20,
                                     " MiB; --add it to pack it anyway"));
        continue;
      }
    } else if (!S_ISREG(st.st_mode)) {
      continue;
    }
    bool known = std::any_of(result.files.begin(), result.files.end(),
                             [&](const ArgumentFile& file) { return file.path == absolute; });
    if (!known) result.files.push_back({absolute, relative});
    else if (relative)
      for (ArgumentFile& file : result.files)
        if (file.path == absolute) file.relative = true;
  }
  return result;
}
