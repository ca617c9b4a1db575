// Extended attributes on read-write ext4: in the inode and in the external block (with its
// hashes and checksum), read back by debugfs (ea_get) and e2fsck -fn clean; attributes that
// debugfs wrote read back through ours; flags, limits and freeing with the inode.
#include <gtest/gtest.h>

#include <algorithm>

#include "kernel/fs/linux_abi.h"
#include "tests/unit/storage/ext4_rw_fixture.h"

namespace nimbus::testing {
namespace {

using namespace fs::linux_abi;

class Ext4XattrTest : public Ext4ReadWriteFixture {
 protected:
  void SetUp() override {
    Ext4ReadWriteFixture::SetUp();
    write_file(m_tree / "file", "contents\n");
    std::filesystem::create_directories(m_tree / "dir");
    make_and_mount();
  }
  uint32_t block_size() { return static_cast<uint32_t>(m_fs->statfs().block_size); }

  static Result<> set(fs::Vnode& node, const std::string& name, const std::string& value, uint32_t flags = 0) {
    return node.set_xattr(name, byte_span(value), flags);
  }
  static Result<std::string> get(fs::Vnode& node, const std::string& name) {
    size_t size = TRY(node.get_xattr(name, {}));
    std::string value(size, '\0');
    size_t got = TRY(node.get_xattr(name, {reinterpret_cast<std::byte*>(value.data()), value.size()}));
    value.resize(got);
    return value;
  }
  static std::vector<std::string> names(fs::Vnode& node) {
    size_t size = *node.list_xattrs({});
    std::string list(size, '\0');
    EXPECT_EQ(*node.list_xattrs({list.data(), list.size()}), size);
    std::vector<std::string> out;
    for (size_t at = 0; at < list.size();) {
      size_t end = list.find('\0', at);
      out.push_back(list.substr(at, end - at));
      at = end + 1;
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // debugfs's view of one value (ea_get -V prints the raw bytes).
  std::string debugfs_value(const std::string& path, const std::string& name) {
    std::string output = debugfs("ea_get -V " + path + " " + name);
    // The first line is debugfs's banner on stderr.
    size_t newline = output.find('\n');
    std::string value = newline == std::string::npos ? output : output.substr(newline + 1);
    if (!value.empty() && value.back() == '\n') value.pop_back();  // ea_get ends the value with one
    return value;
  }
};

TEST_P(Ext4XattrTest, InInodeAndBlockAttributesReadBackInDebugfs) {
  std::string big = random_bytes(block_size() / 2, 3);
  for (char& c : big) c = static_cast<char>('a' + static_cast<uint8_t>(c) % 26);
  uint64_t free_before = m_fs->statfs().blocks_free;
  {
    auto file = at("file");
    ASSERT_TRUE(set(*file, "user.small", "v1"));
    ASSERT_TRUE(set(*file, "trusted.t", "trusted value"));
    ASSERT_TRUE(set(*file, "security.selinux", "system_u:object_r:tmp_t"));
    ASSERT_TRUE(set(*file, "user.big", big));  // too big for the inode: the block
    ASSERT_TRUE(set(*file, "user.empty", ""));
    EXPECT_EQ(m_fs->statfs().blocks_free, free_before - 1);
    EXPECT_EQ(file->stat().blocks, 2u * block_size() / 512);
    ASSERT_TRUE(set(*at("dir"), "user.on_a_directory", "yes"));
  }
  remount();
  auto file = at("file");
  EXPECT_EQ(*get(*file, "user.small"), "v1");
  EXPECT_EQ(*get(*file, "trusted.t"), "trusted value");
  EXPECT_EQ(*get(*file, "security.selinux"), "system_u:object_r:tmp_t");
  EXPECT_EQ(*get(*file, "user.big"), big);
  EXPECT_EQ(*get(*file, "user.empty"), "");
  EXPECT_EQ(*get(*at("dir"), "user.on_a_directory"), "yes");
  EXPECT_EQ(names(*file), (std::vector<std::string>{"security.selinux", "trusted.t", "user.big", "user.empty",
                                                    "user.small"}));
  EXPECT_EQ(*read_all(*file), "contents\n");
  file = nullptr;
  EXPECT_EQ(debugfs_value("/file", "user.small"), "v1");
  EXPECT_EQ(debugfs_value("/file", "user.big"), big);
  EXPECT_EQ(debugfs_value("/file", "trusted.t"), "trusted value");
  EXPECT_EQ(debugfs_value("/dir", "user.on_a_directory"), "yes");
  expect_clean();
}

TEST_P(Ext4XattrTest, AttributesDebugfsWroteReadBack) {
  std::string big(block_size() / 2, 'q');
  std::filesystem::path value_file = m_tree.string() + ".value";
  std::ofstream(value_file) << big;
  debugfs_write("ea_set /file user.from_debugfs hello\nea_set -f " + value_file.string() +
                " /file user.large\nea_set /dir trusted.x 1\n");
  std::filesystem::remove(value_file);
  auto file = at("file");
  EXPECT_EQ(*get(*file, "user.from_debugfs"), "hello");
  EXPECT_EQ(*get(*file, "user.large"), big);
  EXPECT_EQ(*get(*at("dir"), "trusted.x"), "1");
  // Changing one keeps the others.
  ASSERT_TRUE(set(*file, "user.from_debugfs", "changed", xattr_replace));
  ASSERT_TRUE(file->remove_xattr("user.large"));
  file = nullptr;
  remount();
  EXPECT_EQ(*get(*at("file"), "user.from_debugfs"), "changed");
  EXPECT_EQ(get(*at("file"), "user.large").error(), Errno::enodata);
  EXPECT_EQ(debugfs_value("/file", "user.from_debugfs"), "changed");
  expect_clean();
}

TEST_P(Ext4XattrTest, FlagsErrorsAndLimits) {
  auto file = at("file");
  EXPECT_EQ(get(*file, "user.none").error(), Errno::enodata);
  EXPECT_EQ(file->remove_xattr("user.none").error(), Errno::enodata);
  EXPECT_EQ(set(*file, "user.x", "1", xattr_replace).error(), Errno::enodata);
  ASSERT_TRUE(set(*file, "user.x", "1", xattr_create));
  EXPECT_EQ(set(*file, "user.x", "2", xattr_create).error(), Errno::eexist);
  ASSERT_TRUE(set(*file, "user.x", "22", xattr_replace));
  EXPECT_EQ(*get(*file, "user.x"), "22");
  // A buffer too small is ERANGE; size 0 asks for the size.
  std::byte one[1];
  EXPECT_EQ(file->get_xattr("user.x", one).error(), Errno::erange);
  EXPECT_EQ(*file->get_xattr("user.x", {}), 2u);
  char tiny[3];
  EXPECT_EQ(file->list_xattrs(tiny).error(), Errno::erange);
  // Namespaces: unknown and ACLs are not supported; a bare prefix is invalid.
  EXPECT_EQ(set(*file, "system.posix_acl_access", "x").error(), Errno::eopnotsupp);
  EXPECT_EQ(set(*file, "other.x", "x").error(), Errno::eopnotsupp);
  EXPECT_EQ(set(*file, "user.", "x").error(), Errno::einval);
  // A value bigger than a block fits nowhere.
  EXPECT_EQ(set(*file, "user.huge", std::string(block_size(), 'h')).error(), Errno::enospc);
  // Filling the block: ENOSPC once full, and what is there stays readable.
  int stored = 0;
  for (; stored < 1000; stored++) {
    auto made = set(*file, "user.fill" + std::to_string(stored), std::string(100, 'f'));
    if (!made) {
      EXPECT_EQ(made.error(), Errno::enospc);
      break;
    }
  }
  EXPECT_GT(stored, 3);
  EXPECT_LT(stored, 1000);
  file = nullptr;
  remount();
  for (int i = 0; i < stored; i++) ASSERT_EQ(*get(*at("file"), "user.fill" + std::to_string(i)), std::string(100, 'f'));
  expect_clean();
}

TEST_P(Ext4XattrTest, TheBlockIsFreedWhenEmptyAndWithTheInode) {
  uint64_t free_before = m_fs->statfs().blocks_free;
  auto file = at("file");
  std::string value(block_size() / 2, 'v');
  ASSERT_TRUE(set(*file, "user.a", value));
  ASSERT_TRUE(set(*file, "user.b", value.substr(0, 100)));
  EXPECT_EQ(m_fs->statfs().blocks_free, free_before - 1);
  ASSERT_TRUE(file->remove_xattr("user.a"));
  ASSERT_TRUE(file->remove_xattr("user.b"));
  EXPECT_EQ(m_fs->statfs().blocks_free, free_before);
  EXPECT_EQ(file->stat().blocks, block_size() / 512);
  expect_clean();
  ASSERT_TRUE(set(*file, "user.a", value));
  file = nullptr;
  ASSERT_TRUE(m_fs->root()->unlink("file"));
  ASSERT_TRUE(m_fs->sync());  // the last user gone: inode, data and attribute block freed
  EXPECT_EQ(m_fs->statfs().blocks_free, free_before + 1);
  expect_clean();
}

TEST_P(Ext4XattrTest, ReadOnlyMountReadsButCannotChange) {
  ASSERT_TRUE(set(*at("file"), "user.kept", "yes"));
  m_fs.reset();
  m_device->mutable_info().read_only = true;
  const char* problem = nullptr;
  auto mounted = fs::ext4::Ext4Fs::try_mount(*m_device, rw_test_clock, &problem);
  ASSERT_TRUE(mounted);
  m_fs.reset(*mounted);
  EXPECT_EQ(*get(*at("file"), "user.kept"), "yes");
  EXPECT_EQ(set(*at("file"), "user.new", "x").error(), Errno::erofs);
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, Ext4XattrTest, ::testing::Values("-b 4096 -I 256", "-b 1024 -I 256", "-b 4096 -I 128"),
                         [](const auto& info) {
                           return std::string(info.index == 0 ? "Block4K" : info.index == 1 ? "Block1K" : "SmallInodes");
                         });

}  // namespace
}  // namespace nimbus::testing
