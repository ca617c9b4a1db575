// The image's root file system as an ext4 disk: the tree staged in a host directory and handed
// to e2fsprogs' mke2fs -d, which needs no root and no loop device.
#include "ext4_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "child_process.h"
#include "sha256.h"
#include "text.h"

namespace {

constexpr std::uint64_t kBlock = 4096;
constexpr std::uint64_t kInodeSize = 256;
// Room for the file system's own metadata (superblock copies, bitmaps, extent blocks) and a
// little slack; mke2fs is retried larger if it still runs out.
constexpr std::uint64_t kSlackBlocks = 1024;
constexpr int kAttempts = 4;

std::unexpected<CliError> failed(const std::string& what) {
  return cli_error(exit_status::kCliFailure, what);
}

void set_times(const std::string& path, std::int64_t mtime) {
  struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
  ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

// A packed host file at `path`: a copy (copy_file_range, which clones where the file system
// can). Not a hard link: linking changes the host file's ctime, which the build cache's key
// holds, so every run would miss the cache.
CliResult<> stage_host_file(const RootfsEntry& entry, const std::string& path) {
  std::error_code ec;
  std::filesystem::copy_file(entry.host_path, path, ec);
  if (ec) return failed(cat("cannot stage ", entry.host_path, " for the disk image: ", ec.message()));
  ::chmod(path.c_str(), entry.permissions);
  set_times(path, entry.mtime);
  return {};
}

CliResult<> stage_tree(const RootfsTree& tree, const std::string& staging, ProgressLine* progress) {
  if (::mkdir(staging.c_str(), 0755) != 0)
    return failed(cat("cannot create ", staging, ": ", std::strerror(errno)));
  std::vector<std::pair<std::string, std::int64_t>> directories;
  for (const auto& [relative, entry] : tree.entries()) {
    std::string path = cat(staging, '/', relative);
    switch (entry.type) {
      case RootfsEntry::Type::Directory:
        if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
          return failed(cat("cannot create ", path, ": ", std::strerror(errno)));
        ::chmod(path.c_str(), entry.permissions);
        directories.emplace_back(path, entry.mtime);
        break;
      case RootfsEntry::Type::Symlink:
        if (::symlink(entry.data.c_str(), path.c_str()) != 0)
          return failed(cat("cannot create ", path, ": ", std::strerror(errno)));
        set_times(path, entry.mtime);
        break;
      case RootfsEntry::Type::File:
        if (progress) progress->file_done(entry.size + entry.data.size());
        if (!entry.host_path.empty()) {
          TRY_CLI(stage_host_file(entry, path));
        } else {
          std::ofstream out(path, std::ios::binary | std::ios::trunc);
          out.write(entry.data.data(), static_cast<std::streamsize>(entry.data.size()));
          out.close();
          if (!out) return failed(cat("cannot write ", path, ": ", std::strerror(errno)));
          ::chmod(path.c_str(), entry.permissions);
          set_times(path, entry.mtime);
        }
        break;
    }
  }
  // What the kernel mounts over must exist on the read-only disk.
  for (const char* point : kDiskMountPoints) {
    std::string path = cat(staging, point);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) continue;
    if (::mkdir(path.c_str(), 0755) != 0) return failed(cat("cannot create ", path, ": ", std::strerror(errno)));
    if (std::string_view(point) == "/tmp") ::chmod(path.c_str(), 01777);
    directories.emplace_back(path, 0);
  }
  // Last, deepest first: adding entries changes a directory's time.
  for (auto it = directories.rbegin(); it != directories.rend(); ++it) set_times(it->first, it->second);
  set_times(staging, 0);
  return {};
}

std::uint64_t estimate_blocks(const RootfsTree& tree) {
  std::uint64_t blocks = kSlackBlocks;
  for (const auto& [relative, entry] : tree.entries()) {
    std::uint64_t bytes = entry.type == RootfsEntry::Type::Directory ? kBlock : entry.size + entry.data.size();
    blocks += (bytes + kBlock - 1) / kBlock + 1;  // its data, and a share of its directory's
    blocks += (kInodeSize + kBlock - 1) / kBlock;
  }
  return blocks + blocks / 10;
}

// A UUID from the tree's digest, so that the same tree gives the same disk.
std::string uuid_of(const RootfsTree& tree) {
  Sha256 hash;
  tree.hash_into(hash);
  std::string hex = Sha256::hex(hash.finish());
  return cat(hex.substr(0, 8), '-', hex.substr(8, 4), "-4", hex.substr(13, 3), "-8", hex.substr(17, 3), '-',
             hex.substr(20, 12));
}

}  // namespace

std::optional<std::string> find_mke2fs() {
  std::vector<std::string> candidates = {"/usr/sbin/mke2fs", "/sbin/mke2fs"};
  if (const char* path = std::getenv("PATH")) {
    for (std::string_view rest = path; !rest.empty();) {
      std::size_t colon = rest.find(':');
      std::string_view directory = rest.substr(0, colon);
      if (!directory.empty()) candidates.push_back(cat(directory, "/mke2fs"));
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  for (const std::string& candidate : candidates)
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  return std::nullopt;
}


CliResult<> write_ext4_image(const RootfsTree& tree, const std::string& staging, const std::string& out,
                             ProgressLine* progress) {
  std::optional<std::string> mke2fs = find_mke2fs();
  if (!mke2fs) return failed("the disk image needs mke2fs, which is not installed (apt-get install e2fsprogs)");
  std::error_code ignored;
  std::filesystem::remove_all(staging, ignored);
  auto staged = stage_tree(tree, staging, progress);
  if (!staged) {
    std::filesystem::remove_all(staging, ignored);
    return staged;
  }
  std::uint64_t blocks = estimate_blocks(tree);
  std::uint64_t inodes = tree.entries().size() + 64;
  std::string uuid = uuid_of(tree);
  CliResult<> result = failed("mke2fs did not run");
  for (int attempt = 0; attempt < kAttempts; ++attempt, blocks += blocks / 2) {
    ::unlink(out.c_str());
    ChildSpec spec;
    // No journal (the disk is read-only), 4 KiB blocks (a page each), no reserved blocks, no
    // online-resize reserve; the UUID, hash seed and creation time fixed for reproducibility.
    spec.argv = {*mke2fs, "-q", "-F", "-t", "ext4", "-b", cat(kBlock), "-I", cat(kInodeSize), "-N", cat(inodes),
                 "-m", "0", "-O", "^has_journal,^resize_inode", "-U", uuid, "-E",
                 cat("root_owner=0:0,hash_seed=", uuid, ",lazy_itable_init=0"), "-d", staging, out,
                 cat(blocks * (kBlock / 1024), "k")};
    spec.forward_stderr = false;
    spec.detach_stdio = true;
    ::setenv("E2FSPROGS_FAKE_TIME", "1", 1);
    auto outcome = run_child(spec);
    ::unsetenv("E2FSPROGS_FAKE_TIME");
    if (!outcome) {
      result = failed(cat("cannot run mke2fs (install e2fsprogs): ", outcome.error().message));
      break;
    }
    if (outcome->ending == ChildOutcome::Ending::Exited && outcome->code == 0) {
      result = {};
      break;
    }
    std::string why;
    for (const std::string& line : outcome->stderr_lines) why += (why.empty() ? "" : "; ") + line;
    result = failed(cat("mke2fs could not write the disk image ", out, ": ", why.empty() ? "no reason given" : why));
    // Out of room: try again larger. Anything else will not get better.
    if (why.find("space") == std::string::npos && why.find("Could not allocate") == std::string::npos) break;
  }
  std::filesystem::remove_all(staging, ignored);
  if (!result) ::unlink(out.c_str());
  return result;
}
