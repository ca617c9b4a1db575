// HostMirror: copies host paths into a RootfsTree at the same guest paths, symlinks included, and
// whole directories for --add.
#include "host_mirror.h"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>

#include "text.h"

namespace {

constexpr int kMaxSymlinks = 40;  // Linux's MAXSYMLINKS

std::deque<std::string> components(const std::string& path) {
  std::deque<std::string> parts;
  for (const auto& part : std::filesystem::path(path))
    if (!part.empty() && part != "/") parts.push_back(part.string());
  return parts;
}

CliResult<std::string> read_link(const std::string& path) {
  std::string target(256, '\0');
  while (true) {
    ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
    if (n < 0) return cli_error(exit_status::kBadInput, cat(path, ": ", std::strerror(errno)));
    if (static_cast<std::size_t>(n) < target.size()) {
      target.resize(static_cast<std::size_t>(n));
      return target;
    }
    target.resize(target.size() * 2);
  }
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? std::string() : path.substr(0, slash);
}

bool may_be_elf(const std::string& name, mode_t mode) {
  return (mode & 0111) != 0 || name.ends_with(".so") || name.find(".so.") != std::string::npos;
}

bool is_within(const std::string& path, const std::string& root) {
  return path == root || (path.starts_with(root) && (root == "/" || path[root.size()] == '/'));
}

const char* kind_of(mode_t mode) {
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  return "special file";
}

}  // namespace

CliResult<std::string> HostMirror::mirror(const std::string& path) {
  std::deque<std::string> pending = components(path);
  std::string resolved;  // host path walked so far, free of symlinks; "" is the root
  int symlinks = 0;
  while (!pending.empty()) {
    std::string name = std::move(pending.front());
    pending.pop_front();
    if (name == ".") continue;
    if (name == "..") {
      resolved = parent_of(resolved);
      continue;
    }
    std::string candidate = resolved + "/" + name;
    struct stat st {};
    if (::lstat(candidate.c_str(), &st) != 0)
      return cli_error(exit_status::kBadInput, cat(candidate, ": ", std::strerror(errno)));
    if (S_ISLNK(st.st_mode)) {
      if (++symlinks > kMaxSymlinks)
        return cli_error(exit_status::kBadInput, cat(path, ": too many levels of symbolic links"));
      std::string target = TRY_CLI(read_link(candidate));
      TRY_CLI(m_tree.add_symlink(candidate, target, st.st_mtime));
      std::deque<std::string> more = components(target);
      if (target.starts_with('/')) resolved.clear();
      pending.insert(pending.begin(), more.begin(), more.end());
    } else if (S_ISDIR(st.st_mode)) {
      TRY_CLI(m_tree.add_directory(candidate, st.st_mode & 07777));
      resolved = candidate;
    } else if (S_ISREG(st.st_mode) && pending.empty()) {
      TRY_CLI(m_tree.add_host_file(candidate, candidate, st));
      resolved = candidate;
    } else if (S_ISREG(st.st_mode)) {
      return cli_error(exit_status::kBadInput, cat(path, ": ", candidate, " is not a directory"));
    } else {
      return cli_error(exit_status::kBadInput,
                       cat(candidate, ": a ", kind_of(st.st_mode), ", which an image cannot hold"));
    }
  }
  return resolved.empty() ? std::string("/") : resolved;
}

CliResult<> HostMirror::copy_tree(const std::string& host, const std::string& guest,
                                  std::vector<std::string>& elf_candidates,
                                  const std::vector<std::string>& leave_out) {
  return copy_entry(host, guest, host, elf_candidates, leave_out);
}

CliResult<> HostMirror::copy_entry(const std::string& host, const std::string& guest,
                                   const std::string& root,
                                   std::vector<std::string>& elf_candidates,
                                   const std::vector<std::string>& leave_out) {
  for (const std::string& pattern : leave_out) {
    if (::fnmatch(pattern.c_str(), host.c_str(), FNM_PATHNAME) == 0) {
      m_reporter.note(cat("leaving out ", host));
      return {};
    }
  }
  struct stat st {};
  if (::lstat(host.c_str(), &st) != 0)
    return cli_error(exit_status::kBadInput, cat(host, ": ", std::strerror(errno)));

  if (S_ISREG(st.st_mode)) {
    if (::access(host.c_str(), R_OK) != 0) {
      m_reporter.warn(cat("skipping ", host, ": ", std::strerror(errno)));
      return {};
    }
    TRY_CLI(m_tree.add_host_file(guest, host, st));
    if (may_be_elf(std::filesystem::path(host).filename().string(), st.st_mode))
      elf_candidates.push_back(host);
    return {};
  }
  if (S_ISLNK(st.st_mode)) {
    std::string target = TRY_CLI(read_link(host));
    TRY_CLI(m_tree.add_symlink(guest, target, st.st_mtime));
    // An absolute target means the same path in the guest; bring the file if it is outside the
    // tree being copied. Directories stay out: a link to "/" would pack the whole host.
    if (target.starts_with('/') && !is_within(target, root)) {
      struct stat target_st {};
      if (::stat(target.c_str(), &target_st) == 0 && S_ISREG(target_st.st_mode)) {
        auto mirrored = mirror(target);
        if (!mirrored) m_reporter.note(cat("not packing ", target, ": ", mirrored.error().message));
      } else if (!m_tree.contains(target)) {
        m_reporter.note(
            cat(host, " -> ", target, " points outside the packed files; it will dangle"));
      }
    }
    return {};
  }
  if (!S_ISDIR(st.st_mode)) {
    m_reporter.note(cat("skipping ", host, ": a ", kind_of(st.st_mode)));
    return {};
  }

  TRY_CLI(m_tree.add_directory(guest, st.st_mode & 07777));
  DIR* dir = ::opendir(host.c_str());
  if (!dir) return cli_error(exit_status::kBadInput, cat(host, ": ", std::strerror(errno)));
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int read_error = errno;
  ::closedir(dir);
  if (read_error != 0)
    return cli_error(exit_status::kBadInput, cat(host, ": ", std::strerror(read_error)));
  std::sort(names.begin(), names.end());  // a stable order, for reproducible notes and errors
  std::string host_dir = host == "/" ? std::string() : host;
  std::string guest_dir = guest == "/" ? std::string() : guest;
  for (const std::string& name : names)
    TRY_CLI(copy_entry(cat(host_dir, "/", name), cat(guest_dir, "/", name), root, elf_candidates,
                       leave_out));
  return {};
}
