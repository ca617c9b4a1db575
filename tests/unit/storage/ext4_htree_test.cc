// Big htree directories on read-write ext4: tens of thousands of names split leaves, split
// index nodes and add an index level, and a linear directory that outgrows its first block
// becomes indexed; afterwards debugfs sees the index, e2fsck -fn is clean and every name is
// found (also after a remount and after removing half of them).
#include <gtest/gtest.h>

#include <regex>

#include "tests/unit/storage/ext4_rw_fixture.h"

namespace nimbus::testing {
namespace {

class Ext4HtreeTest : public Ext4ReadWriteFixture {
 protected:
  void SetUp() override {
    Ext4ReadWriteFixture::SetUp();
    write_file(m_tree / "target", "the one inode every name links to\n");
    // An htree directory to start from (e2fsck -D indexes it).
    for (int i = 0; i < 300; i++) write_file(m_tree / "indexed" / ("seed-" + std::to_string(i)), "");
    make_and_mount("64M");
  }
  static std::string name_of(int i) {
    // Long names fill leaves quickly, so few entries make many blocks.
    return "entry-" + std::to_string(i) + "-with-a-long-name-to-fill-the-leaves-" + std::to_string(i * 7919 % 1000);
  }
  // debugfs's "Indirect levels" of a directory's htree root (-1 when not indexed).
  int indirect_levels(const std::string& path) {
    std::string dump = debugfs("htree " + path);
    std::smatch match;
    if (!std::regex_search(dump, match, std::regex("Indirect levels: (\\d+)"))) return -1;
    return std::stoi(match[1]);
  }
  void fill_and_check(const std::string& directory, int count, int expected_levels_at_least) {
    auto target = at("target");
    auto dir = at(directory);
    for (int i = 0; i < count; i++) {
      auto linked = dir->link(name_of(i), *target);
      ASSERT_TRUE(linked) << i << " " << static_cast<int>(linked.error());
    }
    target = nullptr;
    dir = nullptr;
    EXPECT_GE(indirect_levels("/" + directory), expected_levels_at_least);
    expect_clean();
    remount();
    dir = at(directory);
    for (int i = 0; i < count; i++) ASSERT_TRUE(dir->lookup(name_of(i))) << name_of(i);
    EXPECT_EQ(dir->lookup("not-there").error(), Errno::enoent);
    // Half of them go; the rest are still found and the directory is still sound.
    for (int i = 0; i < count; i += 2) ASSERT_TRUE(dir->unlink(name_of(i))) << i;
    for (int i = 0; i < count; i++) EXPECT_EQ(static_cast<bool>(dir->lookup(name_of(i))), i % 2 == 1) << i;
    dir = nullptr;
    expect_clean();
  }
};

TEST_P(Ext4HtreeTest, TensOfThousandsOfNamesSplitIndexNodesAndAddALevel) {
  fill_and_check("indexed", 30000, 1);
}

TEST_P(Ext4HtreeTest, ALinearDirectoryBecomesIndexedAsItGrows) {
  create("", "fresh", fs::VnodeType::directory);
  EXPECT_EQ(indirect_levels("/fresh"), -1);
  fill_and_check("fresh", 30000, 1);
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, Ext4HtreeTest, ::testing::Values("-b 4096", "-b 1024"),
                         [](const auto& info) { return std::string(info.index == 0 ? "Block4K" : "Block1K"); });

}  // namespace
}  // namespace nimbus::testing
