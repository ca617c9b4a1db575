// PackedFiles: an image's files by content, and the manifest that places them.
//
// Manifest: one record per tree entry in archive order, each field ended by a NUL (no path or
// link target holds one): type (d, f or l), permissions in octal, modification time, and then
// the SHA-256 of a file's contents or a symlink's target (empty for a directory), and the path.
#include "packed_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "sha256.h"
#include "text.h"

namespace {

constexpr std::size_t kCopyBuffer = 256 * 1024;

std::unexpected<CliError> failure(const std::string& what, int error) {
  return cli_error(exit_status::kCliFailure, cat(what, ": ", std::strerror(error)));
}

class Descriptor {
 public:
  explicit Descriptor(int fd) : m_fd(fd) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const { return m_fd; }

 private:
  int m_fd;
};

CliResult<std::string> hash_host_file(const std::string& path) {
  Descriptor in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return failure(path, errno);
  Sha256 hash;
  std::vector<char> buffer(kCopyBuffer);
  for (;;) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failure(path, errno);
    if (n == 0) break;
    hash.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
  }
  return Sha256::hex(hash.finish());
}

CliResult<> write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failure(path, errno);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// Copies `source` (a host file, or `contents` when source is empty) to `target`; returns the
// SHA-256 of what it wrote, so a file that changed since it was hashed is noticed.
CliResult<std::string> copy_into(const std::string& source, const std::string& contents,
                                 const std::string& target) {
  Descriptor out(::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444));
  if (out.get() < 0) return failure(target, errno);
  Sha256 hash;
  if (source.empty()) {
    TRY_CLI(write_all(out.get(), contents, target));
    hash.update(contents);
    return Sha256::hex(hash.finish());
  }
  Descriptor in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return failure(source, errno);
  std::vector<char> buffer(kCopyBuffer);
  for (;;) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failure(source, errno);
    if (n == 0) return Sha256::hex(hash.finish());
    std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
    hash.update(chunk);
    TRY_CLI(write_all(out.get(), chunk, target));
  }
}

// Puts the contents named `hex` at files_dir/hex: linked from the store when it holds them,
// else copied and then shared. A file the same image already placed is left as it is.
CliResult<> place_contents(const RootfsEntry& entry, const std::string& hex,
                           const ContentStore& store, const std::filesystem::path& files_dir) {
  std::string placed = (files_dir / hex).string();
  if (::access(placed.c_str(), F_OK) == 0) return {};
  std::string stored = (store.dir() / hex).string();
  if (::link(stored.c_str(), placed.c_str()) == 0) return {};
  if (errno != ENOENT) return failure(placed, errno);
  std::string staged = placed + ".copy";
  CliResult<std::string> copied = copy_into(entry.host_path, entry.data, staged);
  if (copied && *copied != hex)
    copied = cli_error(exit_status::kCliFailure,
                       cat(entry.host_path, " changed while the image was being built"));
  if (copied && ::rename(staged.c_str(), placed.c_str()) != 0) copied = failure(placed, errno);
  if (!copied) {
    ::unlink(staged.c_str());
    return std::unexpected(copied.error());
  }
  return store.share(placed, hex);
}

std::string octal(std::uint32_t value) {
  char text[16];
  auto [end, ec] = std::to_chars(text, text + sizeof text, value, 8);
  return std::string(text, end);
}

template <typename Integer>
bool parse_number(std::string_view text, Integer& value, int base) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

}  // namespace

CliResult<StoredTree> store_tree(const RootfsTree& tree, const ContentStore& store,
                                 const std::filesystem::path& files_dir) {
  std::error_code ec;
  std::filesystem::create_directories(files_dir, ec);
  if (ec) return failure(files_dir.string(), ec.value());
  StoredTree stored;
  for (const auto& [path, entry] : tree.entries()) {
    std::string guest = cat('/', path);
    std::string reference;
    switch (entry.type) {
      case RootfsEntry::Type::Directory:
        TRY_CLI(stored.tree.add_directory(guest, entry.permissions));
        stored.manifest += 'd';
        break;
      case RootfsEntry::Type::Symlink:
        TRY_CLI(stored.tree.add_symlink(guest, entry.data, entry.mtime));
        stored.manifest += 'l';
        reference = entry.data;
        break;
      case RootfsEntry::Type::File: {
        if (entry.host_path.empty()) {
          Sha256 hash;
          hash.update(entry.data);
          reference = Sha256::hex(hash.finish());
        } else {
          reference = TRY_CLI(hash_host_file(entry.host_path));
        }
        TRY_CLI(place_contents(entry, reference, store, files_dir));
        std::string placed = (files_dir / reference).string();
        struct stat st {};
        if (::stat(placed.c_str(), &st) != 0) return failure(placed, errno);
        if (static_cast<std::uint64_t>(st.st_size) != entry.size)
          return cli_error(exit_status::kCliFailure,
                           cat(entry.host_path, " changed size while the image was being built"));
        st.st_mode = (st.st_mode & ~07777u) | entry.permissions;
        st.st_mtime = entry.mtime;
        TRY_CLI(stored.tree.add_host_file(guest, placed, st));
        stored.manifest += 'f';
        break;
      }
    }
    stored.manifest += cat('\0', octal(entry.permissions), '\0', entry.mtime, '\0', reference,
                           '\0', path, '\0');
  }
  return stored;
}

CliResult<RootfsTree> read_manifest(const std::string& manifest,
                                    const std::filesystem::path& files_dir) {
  auto damaged = [&](std::string_view why) {
    return cli_error(exit_status::kBadImage,
                     cat("cached image manifest in ", files_dir.parent_path().string(), ": ", why));
  };
  std::vector<std::string_view> fields;
  std::string_view rest = manifest;
  while (!rest.empty()) {
    std::size_t end = rest.find('\0');
    if (end == std::string_view::npos) return damaged("a record does not end");
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end + 1);
  }
  if (fields.size() % 5 != 0) return damaged("a record is incomplete");
  RootfsTree tree;
  for (std::size_t i = 0; i < fields.size(); i += 5) {
    std::string_view type = fields[i];
    std::uint32_t permissions = 0;
    std::int64_t mtime = 0;
    if (!parse_number(fields[i + 1], permissions, 8) || permissions > 07777 ||
        !parse_number(fields[i + 2], mtime, 10))
      return damaged("a mode or time is not a number");
    std::string_view reference = fields[i + 3];
    std::string guest = cat('/', fields[i + 4]);
    if (type == "d") {
      TRY_CLI(tree.add_directory(guest, permissions));
    } else if (type == "l") {
      TRY_CLI(tree.add_symlink(guest, reference, mtime));
    } else if (type == "f") {
      if (reference.size() != 64 || reference.find_first_not_of("0123456789abcdef") != std::string_view::npos)
        return damaged("a file's name is not a SHA-256");
      std::string placed = (files_dir / std::string(reference)).string();
      struct stat st {};
      if (::stat(placed.c_str(), &st) != 0)
        return cli_error(exit_status::kBadImage, cat(placed, ": ", std::strerror(errno)));
      st.st_mode = (st.st_mode & ~07777u) | permissions;
      st.st_mtime = mtime;
      TRY_CLI(tree.add_host_file(guest, placed, st));
    } else {
      return damaged("an entry of unknown type");
    }
  }
  return tree;
}
