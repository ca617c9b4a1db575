// RootfsTree: the guest's root file system being assembled (directories, files, symlinks by guest
// path), written out as the image's cpio archive.
#include "rootfs_tree.h"

#include <deque>
#include <filesystem>

#include "cpio_writer.h"
#include "text.h"

namespace {

// Linux's limit on symlinks followed in one path walk (MAXSYMLINKS).
constexpr int kMaxSymlinks = 40;

std::deque<std::string> components(std::string_view path) {
  std::deque<std::string> parts;
  for (const auto& part : std::filesystem::path(path))
    if (!part.empty() && part != "/") parts.push_back(part.string());
  return parts;
}

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string guest_name(std::string_view archive_path) {
  return cat("/", archive_path);
}

}  // namespace

CliResult<std::string> RootfsTree::place(std::string_view guest, bool follow_last_symlink) {
  std::deque<std::string> pending = components(guest);
  if (pending.empty()) return std::string();
  std::string current;  // archive path of a directory reached without symlinks; "" is the root
  int symlinks = 0;
  while (!pending.empty()) {
    std::string name = std::move(pending.front());
    pending.pop_front();
    if (name == ".") continue;
    if (name == "..") {
      current = parent_of(current);
      continue;
    }
    std::string path = join(current, name);
    auto it = m_entries.find(path);
    bool last = pending.empty();
    if (it == m_entries.end()) {
      if (last) return path;
      TRY_CLI(put(path, RootfsEntry{}));
      current = path;
    } else if (it->second.type == RootfsEntry::Type::Directory) {
      if (last) return path;
      current = path;
    } else if (it->second.type == RootfsEntry::Type::Symlink && (!last || follow_last_symlink)) {
      if (++symlinks > kMaxSymlinks)
        return cli_error(exit_status::kBadInput,
                         cat("guest path ", guest, ": too many levels of symbolic links"));
      std::deque<std::string> target = components(it->second.data);
      if (it->second.data.starts_with('/')) current.clear();
      pending.insert(pending.begin(), target.begin(), target.end());
    } else if (last) {
      return path;
    } else {
      return cli_error(exit_status::kBadInput, cat("guest path ", guest, ": ", guest_name(path),
                                                   " is a file, not a directory"));
    }
  }
  return current;  // the path ended in "." or ".." or a symlink to a directory
}

CliResult<> RootfsTree::put(const std::string& path, RootfsEntry entry) {
  auto [it, inserted] = m_entries.try_emplace(path, entry);
  if (inserted) return {};
  RootfsEntry& existing = it->second;
  bool existing_dir = existing.type == RootfsEntry::Type::Directory;
  bool new_dir = entry.type == RootfsEntry::Type::Directory;
  if (existing_dir && new_dir) return {};  // directories merge; the first one's mode stays
  if (existing_dir != new_dir) {
    const RootfsEntry& other = new_dir ? existing : entry;
    return cli_error(exit_status::kBadInput,
                     cat("guest path ", guest_name(path), " would be both a directory and ",
                         other.type == RootfsEntry::Type::File ? "a file" : "a symlink"));
  }
  existing = std::move(entry);
  return {};
}

CliResult<> RootfsTree::add_directory(std::string_view guest, std::uint32_t permissions) {
  std::string path = TRY_CLI(place(guest, true));
  if (path.empty()) return {};  // the root itself
  RootfsEntry entry;
  entry.permissions = permissions;
  return put(path, std::move(entry));
}

CliResult<> RootfsTree::add_symlink(std::string_view guest, std::string_view target,
                                    std::int64_t mtime) {
  std::string path = TRY_CLI(place(guest, false));
  if (path.empty()) return cli_error(exit_status::kBadInput, "the guest root cannot be a symlink");
  RootfsEntry entry;
  entry.type = RootfsEntry::Type::Symlink;
  entry.permissions = 0777;
  entry.mtime = mtime;
  entry.size = target.size();
  entry.data = target;
  return put(path, std::move(entry));
}

CliResult<> RootfsTree::add_host_file(std::string_view guest, const std::string& host_path,
                                      const struct stat& st) {
  std::string path = TRY_CLI(place(guest, false));
  if (path.empty()) return cli_error(exit_status::kBadInput, "the guest root cannot be a file");
  if (static_cast<std::uint64_t>(st.st_size) > CpioWriter::kMaxFileSize)
    return cli_error(exit_status::kBadInput,
                     cat(host_path, ": too large for the image's cpio archive (4 GiB at most)"));
  RootfsEntry entry;
  entry.type = RootfsEntry::Type::File;
  entry.permissions = st.st_mode & 07777;
  entry.mtime = st.st_mtime;
  entry.host_path = host_path;
  entry.size = static_cast<std::uint64_t>(st.st_size);
  entry.host_stamp = cat(st.st_dev, ':', st.st_ino, ':', st.st_size, ':', st.st_mtim.tv_sec, '.',
                         st.st_mtim.tv_nsec, ':', st.st_ctim.tv_sec, '.', st.st_ctim.tv_nsec);
  return put(path, std::move(entry));
}

CliResult<> RootfsTree::add_generated_file(std::string_view guest, std::string contents,
                                           std::uint32_t permissions) {
  std::string path = TRY_CLI(place(guest, false));
  if (path.empty()) return cli_error(exit_status::kBadInput, "the guest root cannot be a file");
  RootfsEntry entry;
  entry.type = RootfsEntry::Type::File;
  entry.permissions = permissions;
  entry.size = contents.size();
  entry.data = std::move(contents);
  return put(path, std::move(entry));
}

bool RootfsTree::contains(std::string_view guest) const {
  std::string path;
  for (const std::string& part : components(guest)) path = join(path, part);
  return m_entries.contains(path);
}

RootfsTree RootfsTree::ram_part(std::string_view workdir) const {
  while (workdir.starts_with('/')) workdir.remove_prefix(1);
  while (workdir.ends_with('/')) workdir.remove_suffix(1);
  auto at_or_below = [](std::string_view path, std::string_view top) {
    return !top.empty() && path.starts_with(top) && (path.size() == top.size() || path[top.size()] == '/');
  };
  RootfsTree part;
  for (const auto& [path, entry] : m_entries) {
    bool leads_to_workdir = at_or_below(workdir, path);
    if (at_or_below(path, "etc") || at_or_below(path, "tmp") || at_or_below(path, workdir) || leads_to_workdir)
      part.m_entries.emplace(path, entry);
  }
  return part;
}

std::uint64_t RootfsTree::file_bytes() const {
  std::uint64_t total = 0;
  for (const auto& [path, entry] : m_entries)
    if (entry.type == RootfsEntry::Type::File) total += entry.size;
  return total;
}

void RootfsTree::hash_into(Sha256& hash) const {
  for (const auto& [path, entry] : m_entries) {
    // Each field ends in a NUL, which no path or target holds, so the stream parses one way only.
    hash.update(cat(path, '\0', static_cast<int>(entry.type), '\0', entry.permissions, '\0',
                    entry.mtime, '\0', entry.size, '\0', entry.host_path, '\0', entry.host_stamp,
                    '\0', entry.data.size(), '\0'));
    hash.update(entry.data);
  }
}

std::uint64_t RootfsTree::file_count() const {
  std::uint64_t count = 0;
  for (const auto& [path, entry] : m_entries) count += entry.type == RootfsEntry::Type::File;
  return count;
}

CliResult<> RootfsTree::write_cpio(std::ostream& out, ProgressLine* progress) const {
  CpioWriter writer(out);
  for (const auto& [path, entry] : m_entries) {
    switch (entry.type) {
      case RootfsEntry::Type::Directory:
        writer.add_directory(path, entry.permissions, entry.mtime);
        break;
      case RootfsEntry::Type::Symlink:
        writer.add_symlink(path, entry.data, entry.mtime);
        break;
      case RootfsEntry::Type::File:
        if (entry.host_path.empty())
          writer.add_file(path, entry.permissions, entry.mtime, entry.data);
        else
          TRY_CLI(writer.add_host_file(path, entry.permissions, entry.mtime, entry.host_path,
                                       entry.size));
        if (progress) progress->file_done(entry.size);
        break;
    }
  }
  writer.finish();
  return {};
}
