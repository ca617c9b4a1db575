// ext4 over damaged images: each damage is a clear mount error or EIO on the file it hits,
// never a crash (run these under AddressSanitizer: the sanitize preset).
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "kernel/fs/ext4/ext4_format.h"
#include "kernel/fs/ext4/ext4_fs.h"
#include "kernel/fs/ext4/superblock.h"
#include "kernel/lib/crc32c.h"
#include "tests/unit/fakes/fake_block_device.h"
#include "tests/unit/storage/ext4_image.h"

namespace nimbus::testing {
namespace {

namespace stdfs = std::filesystem;
namespace e4 = fs::ext4;
using fs::ext4::Ext4Fs;

struct Mounted {
  Result<Ext4Fs*> result = error(Errno::einval);
  const char* problem = nullptr;
  std::unique_ptr<Ext4Fs> fs;
};

Mounted mount(FakeBlockDevice& device) {
  Mounted m;
  m.result = Ext4Fs::try_mount(device, nullptr, &m.problem);
  if (m.result) m.fs.reset(*m.result);
  return m;
}

// Everything reachable, read; returns how many operations failed. Bounded, so a directory
// that names its ancestor cannot loop.
size_t walk_everything(fs::Vnode& directory, int depth) {
  size_t failures = 0;
  CollectingSink sink;
  uint64_t position = 0;
  for (int calls = 0; calls < 64; calls++) {
    size_t before = sink.names.size();
    if (!directory.readdir(&position, sink)) {
      failures++;
      break;
    }
    if (sink.names.size() == before || sink.names.size() > 5000) break;
  }
  for (const std::string& name : sink.names) {
    if (name == "." || name == ".." || name.empty() || name.find('/') != std::string::npos) continue;
    auto child = directory.lookup(name);
    if (!child) {
      failures++;
      continue;
    }
    fs::Vnode& node = **child;
    (void)node.stat();
    if (node.is_regular()) {
      failures += !read_all(node);
      (void)node.next_data(0);
      (void)node.next_hole(0);
    } else if (node.is_symlink()) {
      failures += !node.link_target();
    } else if (node.is_directory() && depth < 6) {
      failures += walk_everything(node, depth + 1);
    }
  }
  return failures;
}

void fix_superblock_checksum(std::vector<std::byte>& image) {
  std::byte* sb = image.data() + e4::sb::kOffset;
  uint32_t crc = crc32c(~0u, sb, e4::sb::checksum);
  memcpy(sb + e4::sb::checksum, &crc, 4);
}

class Ext4Corruption : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stdfs::path tree = make_temp_dir();
    write_file(tree / "small.txt", "small\n");
    write_file(tree / "big.bin", std::string(300000, 'b'));
    for (int i = 0; i < 300; i++) write_file(tree / "dir" / ("name-" + std::to_string(i)), "x");
    stdfs::create_symlink(std::string(80, 's'), tree / "slow_link");
    std::ofstream fragmented(tree / "fragmented", std::ios::binary);
    for (int i = 0; i < 200; i++) {
      fragmented.seekp(std::streamoff{i} * 8192);
      fragmented << "chunk " << i;
    }
    fragmented.close();
    s_image = make_ext4_image(tree, "16M");
    stdfs::remove_all(tree);
  }

  // Where things are in the pristine image, found through the parsers under test.
  struct Layout {
    e4::Superblock super;
    e4::GroupDescriptor group0;
    uint64_t descriptor_block;
  };
  static Layout layout() {
    Layout l;
    const char* problem = nullptr;
    l.super = *e4::parse_superblock({s_image.data() + e4::sb::kOffset, e4::sb::kSize}, s_image.size(), &problem);
    l.descriptor_block = e4::descriptor_table_block(l.super);
    l.group0 = *e4::parse_group_descriptor(l.super, 0,
                                           {s_image.data() + l.descriptor_block * l.super.block_size, l.super.desc_size},
                                           &problem);
    return l;
  }
  static uint64_t inode_offset(const Layout& l, uint32_t ino) {
    return l.group0.inode_table * l.super.block_size + uint64_t{ino - 1} * l.super.inode_size;
  }
  static uint32_t ino_of(const std::string& path) {
    FakeBlockDevice device(s_image);
    Mounted m = mount(device);
    auto vnode = walk(m.fs->root(), path);
    return vnode ? static_cast<uint32_t>((*vnode)->ino()) : 0;
  }

  static std::vector<std::byte> s_image;
};
std::vector<std::byte> Ext4Corruption::s_image;

TEST_F(Ext4Corruption, PristineImageMountsAndReadsCleanly) {
  ASSERT_FALSE(s_image.empty());
  FakeBlockDevice device(s_image);
  Mounted m = mount(device);
  ASSERT_TRUE(m.result) << m.problem;
  EXPECT_EQ(walk_everything(*m.fs->root(), 0), 0u);
  EXPECT_EQ(m.fs->volume().problems(), 0u);
}

TEST_F(Ext4Corruption, SuperblockDamageRefusesTheMount) {
  {
    FakeBlockDevice device(s_image);
    device.bytes()[e4::sb::kOffset + e4::sb::magic] = std::byte{0};
    Mounted m = mount(device);
    EXPECT_EQ(m.result.error(), Errno::einval);
    EXPECT_STREQ(m.problem, "no ext2/3/4 superblock (bad magic)");
  }
  {
    FakeBlockDevice device(s_image);
    device.bytes()[e4::sb::kOffset + e4::sb::free_inodes_count] ^= std::byte{1};
    Mounted m = mount(device);
    EXPECT_EQ(m.result.error(), Errno::ebadmsg);
  }
  {
    FakeBlockDevice device(s_image);
    device.bytes()[e4::sb::kOffset + e4::sb::feature_incompat + 3] |= std::byte{0x40};  // unknown bit 30
    fix_superblock_checksum(device.bytes());
    Mounted m = mount(device);
    EXPECT_EQ(m.result.error(), Errno::eopnotsupp);
    EXPECT_STREQ(m.problem, "it has an unknown incompatible feature");
  }
  {
    FakeBlockDevice device(s_image);
    device.bytes()[e4::sb::kOffset + e4::sb::feature_incompat] |= std::byte{e4::feature::kIncompatRecover};
    fix_superblock_checksum(device.bytes());
    Mounted m = mount(device);
    EXPECT_EQ(m.result.error(), Errno::erofs);  // replay needs a writable device
    EXPECT_STREQ(m.problem, "the journal needs recovery but the device is read-only");
  }
  {
    // The same on a writable device: an empty log replays nothing and RECOVER is cleared.
    FakeBlockDevice device(s_image, false);
    device.bytes()[e4::sb::kOffset + e4::sb::feature_incompat] |= std::byte{e4::feature::kIncompatRecover};
    fix_superblock_checksum(device.bytes());
    Mounted m = mount(device);
    ASSERT_TRUE(m.result) << m.problem;
    EXPECT_EQ(m.fs->volume().replayed_transactions(), 0u);
    EXPECT_EQ(std::to_integer<uint8_t>(device.bytes()[e4::sb::kOffset + e4::sb::feature_incompat]) &
                  e4::feature::kIncompatRecover,
              0);
  }
  {
    FakeBlockDevice device(s_image);
    uint32_t huge = 0x7fffffff;
    memcpy(device.bytes().data() + e4::sb::kOffset + e4::sb::blocks_count_lo, &huge, 4);
    fix_superblock_checksum(device.bytes());
    Mounted m = mount(device);
    EXPECT_EQ(m.result.error(), Errno::einval);
    EXPECT_STREQ(m.problem, "the file system is larger than the device");
  }
  {
    std::vector<std::byte> tiny(s_image.begin(), s_image.begin() + 4096);
    FakeBlockDevice device(tiny);
    EXPECT_EQ(mount(device).result.error(), Errno::einval);
  }
}

TEST_F(Ext4Corruption, GroupDescriptorDamageRefusesTheMount) {
  Layout l = layout();
  FakeBlockDevice device(s_image);
  device.bytes()[l.descriptor_block * l.super.block_size + e4::gd::inode_table_lo] ^= std::byte{0x10};
  Mounted m = mount(device);
  EXPECT_EQ(m.result.error(), Errno::ebadmsg);
  EXPECT_STREQ(m.problem, "a group descriptor checksum does not match");
}

TEST_F(Ext4Corruption, AnInodeChecksumErrorIsEioOnThatFileOnly) {
  Layout l = layout();
  uint32_t ino = ino_of("small.txt");
  ASSERT_NE(ino, 0u);
  FakeBlockDevice device(s_image);
  device.bytes()[inode_offset(l, ino) + e4::inode::size_lo] ^= std::byte{1};
  Mounted m = mount(device);
  ASSERT_TRUE(m.result);
  EXPECT_EQ(m.fs->root()->lookup("small.txt").error(), Errno::eio);
  EXPECT_STREQ(m.fs->volume().last_problem(), "an inode checksum does not match");
  auto big = m.fs->root()->lookup("big.bin");
  ASSERT_TRUE(big);
  EXPECT_EQ(read_all(**big)->size(), 300000u);
}

TEST_F(Ext4Corruption, AnExtentBlockChecksumErrorIsEioOnRead) {
  Layout l = layout();
  uint32_t ino = ino_of("fragmented");
  ASSERT_NE(ino, 0u);
  const std::byte* raw = s_image.data() + inode_offset(l, ino);
  ASSERT_GT(e4::le16(raw + e4::inode::block + e4::extent::depth), 0) << "expected an extent tree with depth";
  uint64_t child = e4::le32(raw + e4::inode::block + e4::extent::kHeaderSize + e4::extent::index_leaf_lo);
  FakeBlockDevice device(s_image);
  device.bytes()[child * l.super.block_size + e4::extent::kHeaderSize + 1] ^= std::byte{1};
  Mounted m = mount(device);
  ASSERT_TRUE(m.result);
  auto file = m.fs->root()->lookup("fragmented");
  ASSERT_TRUE(file);
  EXPECT_EQ(read_all(**file).error(), Errno::eio);
  EXPECT_STREQ(m.fs->volume().last_problem(), "an extent block checksum does not match");
}

// Random damage to each metadata region. With `fix_checksums` the superblock checksum is
// recomputed, so the checks behind it (sizes, counts, features) face the damage too.
TEST_F(Ext4Corruption, FuzzedMetadataNeverCrashes) {
  Layout l = layout();
  uint32_t block_size = l.super.block_size;
  uint32_t fragmented = ino_of("fragmented"), dir = ino_of("dir"), link = ino_of("slow_link");
  struct Region {
    uint64_t offset;
    uint64_t length;
    bool superblock;
  };
  std::vector<Region> regions = {
      {e4::sb::kOffset, 0x180, true},
      {l.descriptor_block * block_size, 64, false},
      {inode_offset(l, e4::inode::kRootIno), l.super.inode_size, false},
      {inode_offset(l, fragmented), l.super.inode_size, false},
      {inode_offset(l, dir), l.super.inode_size, false},
      {inode_offset(l, link), l.super.inode_size, false},
  };
  const std::byte* fragmented_raw = s_image.data() + inode_offset(l, fragmented);
  uint64_t extent_block = e4::le32(fragmented_raw + e4::inode::block + 12 + e4::extent::index_leaf_lo);
  regions.push_back({extent_block * block_size, 64, false});
  std::mt19937 random(12345);
  size_t mounted = 0, refused = 0;
  for (int round = 0; round < 420; round++) {
    const Region& region = regions[round % regions.size()];
    FakeBlockDevice device(s_image);
    int flips = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < flips; i++) {
      uint64_t at = region.offset + random() % region.length;
      device.bytes()[at] ^= static_cast<std::byte>(1u << (random() % 8));
    }
    if (region.superblock && round % 2) fix_superblock_checksum(device.bytes());
    Mounted m = mount(device);
    if (!m.result) {
      ASSERT_NE(m.problem, nullptr);
      refused++;
      continue;
    }
    mounted++;
    walk_everything(*m.fs->root(), 0);
  }
  // Both outcomes happen: the fuzzing reached past the mount checks.
  EXPECT_GT(mounted, 50u);
  EXPECT_GT(refused, 50u);
}

}  // namespace
}  // namespace nimbus::testing
