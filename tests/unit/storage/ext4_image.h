// Test support: a temporary directory tree made into an ext4 image by e2fsprogs' mke2fs -d,
// and walking a mounted Ext4Fs by path.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kernel/fs/vnode.h"

namespace nimbus::testing {

inline std::filesystem::path make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "nimbus-ext4-XXXXXX").string();
  if (!mkdtemp(pattern.data())) return {};
  return pattern;
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(text.size());
  if (!text.empty()) memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

// Runs mke2fs -t ext4 (Debian's default features) over `tree`; `options` adds flags such as
// "-b 1024". mke2fs -d writes every directory linear; e2fsck -D then indexes the big ones
// (htree), as the kernel would have. Returns the image's bytes (empty when either failed).
inline std::vector<std::byte> make_ext4_image(const std::filesystem::path& tree, const std::string& size,
                                             const std::string& options = "") {
  std::filesystem::path image = tree.string() + ".img";
  std::string command = "mke2fs -q -F -t ext4 " + options + " -d '" + tree.string() + "' '" + image.string() + "' " +
                        size + " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) return {};
  // e2fsck exits 1 when it changed the file system (here: built the indexes).
  std::string index = "e2fsck -fyD '" + image.string() + "' >/dev/null 2>&1";
  int status = std::system(index.c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) return {};
  std::vector<std::byte> bytes = read_bytes(image);
  std::filesystem::remove(image);
  return bytes;
}

// The vnode at `path` (relative to the root, components separated by '/'), following no
// symlinks.
inline Result<RefPtr<fs::Vnode>> walk(RefPtr<fs::Vnode> root, const std::string& path) {
  RefPtr<fs::Vnode> node = root;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) node = TRY(node->lookup(std::string_view(path).substr(start, slash - start)));
    start = slash + 1;
  }
  return node;
}

class CollectingSink final : public fs::DirentSink {
 public:
  bool emit(const fs::DirentInfo& entry) override {
    if (limit && m_batch == limit) {
      m_batch = 0;  // full for this call; the next call starts with this entry
      return false;
    }
    m_batch++;
    names.emplace_back(entry.name);
    inos.push_back(entry.ino);
    types.push_back(entry.type);
    return true;
  }
  std::vector<std::string> names;
  std::vector<uint64_t> inos;
  std::vector<fs::VnodeType> types;
  size_t limit = 0;  // refuse the entry after every `limit` (0: never)

 private:
  size_t m_batch = 0;
};

inline Result<std::string> read_all(fs::Vnode& file) {
  std::string out;
  std::vector<std::byte> buffer(7919);  // a prime: reads straddle block boundaries
  uint64_t offset = 0;
  for (;;) {
    size_t n = TRY(file.read_at(offset, buffer, {}));
    if (n == 0) return out;
    out.append(reinterpret_cast<const char*>(buffer.data()), n);
    offset += n;
  }
}

}  // namespace nimbus::testing
