// Helpers for file layer tests: a settable clock, byte/string conversions, a collecting
// DirentSink and a ramfs fixture.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/fs/ramfs.h"
#include "kernel/fs/vnode.h"
#include "tests/unit/fakes/fake_page_allocator.h"

namespace nimbus::fs::testing {

// The clock every test file system reads: set it, or let each reading advance it.
inline int64_t g_fake_now = 1'000'000'000;
inline int64_t fake_clock() { return g_fake_now; }

inline std::span<const std::byte> bytes_of(std::string_view text) {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}
inline std::string string_of(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

inline std::string read_string(Vnode& file, uint64_t offset, size_t length) {
  std::string buffer(length, '\xee');
  auto read = file.read_at(offset, std::as_writable_bytes(std::span<char>(buffer)), {});
  EXPECT_TRUE(read);
  buffer.resize(read ? *read : 0);
  return buffer;
}

inline void write_string(Vnode& file, uint64_t offset, std::string_view text) {
  auto written = file.write_at(&offset, bytes_of(text), {});
  ASSERT_TRUE(written);
  ASSERT_EQ(*written, text.size());
}

struct CollectedEntry {
  std::string name;
  uint64_t ino;
  VnodeType type;
  uint64_t next_position;
};

// Takes up to `limit` entries.
class CollectingSink final : public DirentSink {
 public:
  explicit CollectingSink(size_t limit = SIZE_MAX) : m_limit(limit) {}
  bool emit(const DirentInfo& entry) override {
    if (entries.size() >= m_limit) return false;
    entries.push_back({std::string(entry.name), entry.ino, entry.type, entry.next_position});
    return true;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> result;
    for (const auto& entry : entries) result.push_back(entry.name);
    return result;
  }
  std::vector<CollectedEntry> entries;

 private:
  size_t m_limit;
};

inline std::vector<std::string> list_directory(Vnode& directory) {
  CollectingSink sink;
  uint64_t position = 0;
  EXPECT_TRUE(directory.readdir(&position, sink));
  return sink.names();
}

class RamFsTest : public ::testing::Test {
 protected:
  RamFsTest() : fs(pages, fake_clock) {}
  void SetUp() override {
    g_fake_now = 1'000'000'000;
    ASSERT_TRUE(fs.init());
    root = fs.root();
  }

  RefPtr<Vnode> make(Vnode& directory, std::string_view name, VnodeType type, uint32_t mode = 0644) {
    auto node = directory.create(name, NewNode{type, mode});
    EXPECT_TRUE(node) << name;
    return node ? *node : nullptr;
  }
  RefPtr<Vnode> make_file(std::string_view name, std::string_view contents = {}) {
    RefPtr<Vnode> file = make(*root, name, VnodeType::regular);
    if (!contents.empty()) write_string(*file, 0, contents);
    return file;
  }
  RefPtr<Vnode> make_directory(Vnode& parent, std::string_view name) {
    return make(parent, name, VnodeType::directory, 0755);
  }
  RefPtr<Vnode> lookup(Vnode& directory, std::string_view name) {
    auto node = directory.lookup(name);
    return node ? *node : nullptr;
  }

  FakePageAllocator pages;
  RamFs fs;
  RefPtr<Vnode> root;
};

}  // namespace nimbus::fs::testing
