// fallocate on read-write ext4: preallocation as unwritten extents (debugfs must see them as
// such), hole punching, zero ranges, ENOSPC; every change read back after a remount, and
// e2fsck -fn clean after each test.
#include <gtest/gtest.h>

#include "kernel/fs/linux_abi.h"
#include "tests/unit/storage/ext4_rw_fixture.h"

namespace nimbus::testing {
namespace {

using namespace fs::linux_abi;

class Ext4FallocateTest : public Ext4ReadWriteFixture {
 protected:
  void SetUp() override {
    Ext4ReadWriteFixture::SetUp();
    write_file(m_tree / "existing.txt", "old contents\n");
    make_and_mount();
  }
  uint32_t block_size() { return static_cast<uint32_t>(m_fs->statfs().block_size); }
};

TEST_P(Ext4FallocateTest, PreallocationIsUnwrittenReadsZerosAndConvertsOnWrite) {
  uint64_t free_before = m_fs->statfs().blocks_free;
  {
    auto file = create("", "pre");
    ASSERT_TRUE(file->allocate(0, 0, 1 << 20));
    EXPECT_EQ(file->stat().size, 1u << 20);
    EXPECT_EQ(file->stat().blocks, (1u << 20) / 512);
    EXPECT_EQ(m_fs->statfs().blocks_free, free_before - (1u << 20) / block_size());
    write(*file, 5000, "written into preallocated space");
  }
  std::string extents = debugfs("ex /pre");
  EXPECT_NE(extents.find("Uninit"), std::string::npos) << extents;
  remount();
  std::string text = *read_all(*at("pre"));
  ASSERT_EQ(text.size(), 1u << 20);
  std::string expected(1 << 20, '\0');
  expected.replace(5000, 31, "written into preallocated space");
  EXPECT_EQ(text, expected);
  // debugfs reads the same bytes (unwritten parts as zeros).
  std::filesystem::path image = image_file();
  std::filesystem::path dumped = m_tree.string() + ".dumped";
  std::string output;
  ASSERT_EQ(run_command("debugfs -R 'dump /pre " + dumped.string() + "' '" + image.string() + "'", &output), 0);
  std::filesystem::remove(image);
  std::vector<std::byte> bytes = read_bytes(dumped);
  std::filesystem::remove(dumped);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()), expected);
  expect_clean();
}

TEST_P(Ext4FallocateTest, KeepSizeAllocatesPastTheEndWithoutGrowing) {
  {
    auto file = create("", "keep");
    write(*file, 0, "abc");
    ASSERT_TRUE(file->allocate(falloc_keep_size, 0, 256 << 10));
    EXPECT_EQ(file->stat().size, 3u);
    EXPECT_EQ(file->stat().blocks, (256u << 10) / 512);
    // Extending later writes through the preallocated blocks.
    write(*file, 100000, "later");
    EXPECT_EQ(file->stat().blocks, (256u << 10) / 512);
  }
  remount();
  std::string text = *read_all(*at("keep"));
  ASSERT_EQ(text.size(), 100005u);
  EXPECT_EQ(text.substr(0, 3), "abc");
  EXPECT_EQ(text.substr(3, 99997), std::string(99997, '\0'));
  EXPECT_EQ(text.substr(100000), "later");
  expect_clean();
  // Truncating below frees the blocks past the end too.
  ASSERT_TRUE(at("keep")->truncate(1));
  EXPECT_EQ(at("keep")->stat().blocks, block_size() / 512);
  expect_clean();
}

TEST_P(Ext4FallocateTest, PunchHoleFreesWholeBlocksAndZeroesPartialOnes) {
  std::string data = random_bytes(300000, 5);
  uint64_t free_before;
  {
    auto file = create("", "punched");
    write(*file, 0, data);
    free_before = m_fs->statfs().blocks_free;
    ASSERT_TRUE(file->allocate(falloc_punch_hole | falloc_keep_size, 10000, 100000));
    EXPECT_EQ(file->stat().size, data.size());
  }
  uint32_t bs = block_size();
  uint64_t freed = (10000 + 100000) / bs - (10000 + bs - 1) / bs;
  EXPECT_EQ(m_fs->statfs().blocks_free, free_before + freed);
  remount();
  std::string expected = data;
  expected.replace(10000, 100000, std::string(100000, '\0'));
  EXPECT_EQ(*read_all(*at("punched")), expected);
  // A hole past the end does nothing; inside one block it zeroes only those bytes.
  ASSERT_TRUE(at("punched")->allocate(falloc_punch_hole | falloc_keep_size, 400000, 5000));
  ASSERT_TRUE(at("punched")->allocate(falloc_punch_hole | falloc_keep_size, 200001, 10));
  expected.replace(200001, 10, std::string(10, '\0'));
  remount();
  EXPECT_EQ(*read_all(*at("punched")), expected);
  EXPECT_EQ(*at("punched")->next_hole(0), 10000 + (bs - 10000 % bs) % bs);
  expect_clean();
}

TEST_P(Ext4FallocateTest, ZeroRangeZeroesAndExtendsUnlessKeepSize) {
  std::string data = random_bytes(100000, 9);
  uint64_t free_before;
  {
    auto file = create("", "zeroed");
    write(*file, 0, data);
    free_before = m_fs->statfs().blocks_free;
    ASSERT_TRUE(file->allocate(falloc_zero_range, 3000, 50000));
    ASSERT_TRUE(file->allocate(falloc_zero_range | falloc_keep_size, 99990, 20000));
    EXPECT_EQ(file->stat().size, 100000u);
    ASSERT_TRUE(file->allocate(falloc_zero_range, 90000, 30000));
    EXPECT_EQ(file->stat().size, 120000u);
  }
  // The blocks stay allocated (made unwritten), and the range past the end is allocated.
  EXPECT_LT(m_fs->statfs().blocks_free, free_before);
  std::string extents = debugfs("ex /zeroed");
  EXPECT_NE(extents.find("Uninit"), std::string::npos) << extents;
  remount();
  std::string expected = data;
  expected.replace(3000, 50000, std::string(50000, '\0'));
  expected.replace(90000, 10000, std::string(10000, '\0'));
  expected += std::string(20000, '\0');
  EXPECT_EQ(*read_all(*at("zeroed")), expected);
  // Writing into the zeroed range converts just what is written.
  write(*at("zeroed"), 20000, "xyz");
  expected.replace(20000, 3, "xyz");
  remount();
  EXPECT_EQ(*read_all(*at("zeroed")), expected);
  expect_clean();
}

TEST_P(Ext4FallocateTest, ErrorsAndLimits) {
  auto file = create("", "f");
  uint32_t bs = block_size();
  uint64_t free_before = m_fs->statfs().blocks_free;
  // More than the disk holds: ENOSPC, and nothing is kept.
  EXPECT_EQ(file->allocate(0, 0, uint64_t{1} << 30).error(), Errno::enospc);
  EXPECT_EQ(m_fs->statfs().blocks_free, free_before);
  EXPECT_EQ(file->stat().size, 0u);
  EXPECT_EQ(file->stat().blocks, 0u);
  // Past the largest file: EFBIG.
  EXPECT_EQ(file->allocate(0, (uint64_t{1} << 32) * bs, 1).error(), Errno::efbig);
  // Moving blocks is not implemented.
  EXPECT_EQ(file->allocate(falloc_collapse_range, 0, bs).error(), Errno::eopnotsupp);
  EXPECT_EQ(file->allocate(falloc_insert_range, 0, bs).error(), Errno::eopnotsupp);
  EXPECT_EQ(at("")->allocate(0, 0, bs).error(), Errno::eisdir);
  // Many small preallocations with gaps: a deeper extent tree of unwritten extents.
  for (int i = 0; i < 600; i++) ASSERT_TRUE(file->allocate(falloc_keep_size, uint64_t(i) * 3 * bs, bs));
  write(*file, 0, "start");
  file = nullptr;
  remount();
  // The 600 blocks and the extent tree's own blocks.
  EXPECT_GE(at("f")->stat().blocks, 600u * bs / 512);
  EXPECT_LE(at("f")->stat().blocks, 620u * bs / 512);
  EXPECT_EQ(*read_all(*at("f")), "start");
  expect_clean();
}

TEST_P(Ext4FallocateTest, ReadOnlyMountIsErofs) {
  m_fs.reset();
  m_device->mutable_info().read_only = true;
  const char* problem = nullptr;
  auto mounted = fs::ext4::Ext4Fs::try_mount(*m_device, rw_test_clock, &problem);
  ASSERT_TRUE(mounted);
  m_fs.reset(*mounted);
  EXPECT_EQ(at("existing.txt")->allocate(0, 0, 4096).error(), Errno::erofs);
  m_fs.reset();
  m_device->mutable_info().read_only = false;
  mount();
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, Ext4FallocateTest, ::testing::Values("-b 4096", "-b 1024"),
                         [](const auto& info) { return std::string(info.param[3] == '4' ? "Block4K" : "Block1K"); });

}  // namespace
}  // namespace nimbus::testing
