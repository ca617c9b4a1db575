// ext4, read-only, over images mke2fs -d made from a host directory: every file, directory
// and symlink of the tree reads back as the host has it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "kernel/fs/ext4/directory.h"
#include "kernel/fs/ext4/ext4_fs.h"
#include "kernel/fs/page_cache.h"
#include "tests/unit/storage/memory_page_cache.h"
#include "tests/unit/fakes/fake_block_device.h"
#include "tests/unit/storage/ext4_image.h"

namespace nimbus::testing {
namespace {

namespace stdfs = std::filesystem;
using fs::ext4::Ext4Fs;

constexpr int kManyFiles = 6000;  // with 1 KiB blocks: a two-level htree

std::string random_bytes(size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  return bytes;
}

// The tree every test reads: files of awkward sizes, nested directories, a directory big
// enough for an htree index, fast and slow symlinks, a hard link and sparse files.
void build_tree(const stdfs::path& root) {
  write_file(root / "small.txt", "hello, ext4\n");
  write_file(root / "empty", "");
  write_file(root / "exact4096", std::string(4096, 'x'));
  write_file(root / "big.bin", random_bytes((1 << 20) + 123, 1));
  write_file(root / "sub/deeper/file.txt", "nested\n");
  stdfs::create_directories(root / "emptydir");
  for (int i = 0; i < kManyFiles; i++) write_file(root / "many" / ("entry-" + std::to_string(i)), std::to_string(i) + "\n");
  stdfs::create_symlink("small.txt", root / "fast_link");
  stdfs::create_symlink(std::string(100, 'l') + "/target-of-a-slow-symlink", root / "slow_link");
  stdfs::create_hard_link(root / "small.txt", root / "hard_link");
  {
    std::ofstream sparse(root / "sparse", std::ios::binary);
    sparse.seekp(10 << 20);
    sparse << "end of a sparse file";
  }
  {
    // Data blocks separated by holes: one extent each, enough for a deep extent tree.
    std::ofstream fragmented(root / "fragmented", std::ios::binary);
    for (int i = 0; i < 2000; i++) {
      fragmented.seekp(std::streamoff{i} * 8192);
      fragmented << "chunk " << i;
    }
  }
  chmod((root / "small.txt").c_str(), 0640);
}

class Ext4Test : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    s_tree = make_temp_dir();
    ASSERT_FALSE(s_tree.empty());
    build_tree(s_tree);
  }
  static void TearDownTestSuite() { stdfs::remove_all(s_tree); }

  void SetUp() override {
    // One image per block size for the whole suite (mke2fs and e2fsck take a while).
    std::vector<std::byte>& image = s_images[GetParam()];
    if (image.empty()) image = make_ext4_image(s_tree, "64M", GetParam());
    ASSERT_FALSE(image.empty()) << "mke2fs or e2fsck failed (e2fsprogs installed?)";
    m_device = std::make_unique<FakeBlockDevice>(image);
    const char* problem = nullptr;
    auto mounted = Ext4Fs::try_mount(*m_device, nullptr, &problem);
    ASSERT_TRUE(mounted) << (problem ? problem : "?");
    m_fs.reset(*mounted);
  }

  RefPtr<fs::Vnode> open(const std::string& path) {
    auto vnode = walk(m_fs->root(), path);
    EXPECT_TRUE(vnode) << path;
    return vnode ? *vnode : RefPtr<fs::Vnode>();
  }

  static stdfs::path s_tree;
  static std::map<std::string, std::vector<std::byte>> s_images;
  std::unique_ptr<FakeBlockDevice> m_device;
  std::unique_ptr<Ext4Fs> m_fs;
};
stdfs::path Ext4Test::s_tree;
std::map<std::string, std::vector<std::byte>> Ext4Test::s_images;

TEST_P(Ext4Test, EveryFileMatchesTheHost) {
  size_t files = 0;
  for (const auto& entry : stdfs::recursive_directory_iterator(s_tree)) {
    std::string relative = entry.path().lexically_relative(s_tree).string();
    RefPtr<fs::Vnode> vnode = open(relative);
    ASSERT_TRUE(vnode);
    struct stat host;
    ASSERT_EQ(lstat(entry.path().c_str(), &host), 0);
    fs::Stat ours = vnode->stat();
    EXPECT_EQ(ours.mode, host.st_mode) << relative;
    EXPECT_EQ(ours.mtime_ns / 1'000'000'000, host.st_mtim.tv_sec) << relative;
    if (entry.is_symlink()) {
      auto target = vnode->link_target();
      ASSERT_TRUE(target) << relative;
      EXPECT_EQ(std::string(*target), stdfs::read_symlink(entry.path()).string());
      EXPECT_EQ(ours.size, target->size());
    } else if (entry.is_regular_file()) {
      EXPECT_EQ(ours.size, static_cast<uint64_t>(host.st_size)) << relative;
      auto data = read_all(*vnode);
      ASSERT_TRUE(data) << relative;
      std::vector<std::byte> expected = read_bytes(entry.path());
      ASSERT_EQ(data->size(), expected.size()) << relative;
      EXPECT_TRUE(expected.empty() || memcmp(data->data(), expected.data(), expected.size()) == 0) << relative;
      files++;
    } else {
      EXPECT_TRUE(vnode->is_directory());
    }
  }
  EXPECT_GT(files, static_cast<size_t>(kManyFiles));
}

TEST_P(Ext4Test, DirectoriesListExactlyTheirEntries) {
  for (const char* path : {"", "many", "sub", "emptydir"}) {
    std::set<std::string> expected{".", ".."};
    for (const auto& entry : stdfs::directory_iterator(s_tree / path)) expected.insert(entry.path().filename().string());
    if (std::string(path).empty()) expected.insert("lost+found");
    // Small batches: positions must resume exactly where the last call stopped.
    CollectingSink sink;
    sink.limit = 7;
    uint64_t position = 0;
    RefPtr<fs::Vnode> directory = open(path);
    for (int calls = 0; calls < 10000; calls++) {
      size_t before = sink.names.size();
      ASSERT_TRUE(directory->readdir(&position, sink));
      if (sink.names.size() == before) break;
    }
    std::set<std::string> listed(sink.names.begin(), sink.names.end());
    EXPECT_EQ(listed.size(), sink.names.size()) << path << ": an entry was listed twice";
    EXPECT_EQ(listed, expected) << path;
  }
  EXPECT_TRUE(open("emptydir")->is_empty_directory());
  EXPECT_FALSE(open("sub")->is_empty_directory());
}

TEST_P(Ext4Test, LookupInABigDirectoryUsesTheHtreeIndex) {
  RefPtr<fs::Vnode> many = open("many");
  auto before = fs::ext4::lookup_statistics();
  uint64_t reads_before = m_device->reads();
  for (int i = 0; i < kManyFiles; i += 97) {
    auto file = many->lookup("entry-" + std::to_string(i));
    ASSERT_TRUE(file) << i;
    EXPECT_EQ(*read_all(**file), std::to_string(i) + "\n");
  }
  EXPECT_EQ(many->lookup("entry-6000").error(), Errno::enoent);
  EXPECT_EQ(many->lookup("nonexistent").error(), Errno::enoent);
  auto after = fs::ext4::lookup_statistics();
  EXPECT_EQ(after.hashed - before.hashed, static_cast<uint64_t>((kManyFiles + 96) / 97 + 2));
  EXPECT_EQ(after.linear, before.linear);
  // An index descent reads a few blocks, not the whole directory, per name.
  EXPECT_LT(m_device->reads() - reads_before, static_cast<uint64_t>(kManyFiles / 97 * 6 + 40));
}

TEST_P(Ext4Test, SparseFilesReadZerosAndSeekFindsTheData) {
  RefPtr<fs::Vnode> sparse = open("sparse");
  fs::Stat s = sparse->stat();
  EXPECT_EQ(s.size, (10u << 20) + 20);
  EXPECT_LT(s.blocks, 64u) << "the hole was allocated";
  EXPECT_EQ(*sparse->next_data(0), 10u << 20);
  EXPECT_EQ(*sparse->next_hole(0), 0u);
  EXPECT_EQ(*sparse->next_hole(10u << 20), s.size);
  EXPECT_EQ(sparse->next_data(s.size).error(), Errno::enxio);
  std::vector<std::byte> buffer(100, std::byte{1});
  EXPECT_EQ(*sparse->read_at(5 << 20, buffer, {}), 100u);
  EXPECT_TRUE(std::all_of(buffer.begin(), buffer.end(), [](std::byte b) { return b == std::byte{0}; }));
}

TEST_P(Ext4Test, HardLinksShareTheInodeAndRootDotDotIsTheRoot) {
  EXPECT_EQ(open("small.txt")->ino(), open("hard_link")->ino());
  EXPECT_EQ(open("small.txt")->stat().nlink, 2u);
  EXPECT_EQ(open("sub/deeper/..")->ino(), open("sub")->ino());
  EXPECT_EQ(open("..").get(), m_fs->root().get());
  EXPECT_EQ(open("sub/..").get(), m_fs->root().get());
  char name[256];
  auto length = open("sub")->child_name(*open("sub/deeper"), name);
  ASSERT_TRUE(length);
  EXPECT_EQ(std::string(name, *length), "deeper");
}

TEST_P(Ext4Test, EveryChangeIsReadOnly) {
  RefPtr<fs::Vnode> root = m_fs->root();
  EXPECT_TRUE(m_fs->read_only());
  EXPECT_EQ(root->create("new", fs::NewNode{}).error(), Errno::erofs);
  EXPECT_EQ(root->unlink("small.txt").error(), Errno::erofs);
  EXPECT_EQ(root->rmdir("emptydir").error(), Errno::erofs);
  EXPECT_EQ(open("small.txt")->truncate(0).error(), Errno::erofs);
  uint64_t offset = 0;
  std::byte byte{};
  EXPECT_EQ(open("small.txt")->write_at(&offset, {&byte, 1}, {}).error(), Errno::erofs);
  EXPECT_EQ(open("small.txt")->set_attributes(fs::SetAttributes{}).error(), Errno::erofs);
}

TEST_P(Ext4Test, StatfsReportsTheSuperblock) {
  fs::StatFs s = m_fs->statfs();
  EXPECT_EQ(s.type, 0xef53u);
  EXPECT_EQ(s.blocks * s.block_size, 64u << 20);
  EXPECT_GT(s.blocks_free, 0u);
  EXPECT_LT(s.blocks_free, s.blocks);
  EXPECT_GT(s.files, static_cast<uint64_t>(kManyFiles));
  EXPECT_EQ(s.flags & 1, 1u);  // ST_RDONLY
}

// Debian's defaults (4 KiB blocks), and 1 KiB blocks (first data block 1, deeper extent trees).
TEST_P(Ext4Test, PagesReadStraightFromTheDiskMatchTheHost) {
  // Pages filled with junk before each read: holes and tails must be zeroed by ext4.
  MemoryPageCache pages;
  const char* problem = nullptr;
  auto mounted = Ext4Fs::try_mount(*m_device, nullptr, &problem, Ext4Fs::Access::read_only, &pages);
  ASSERT_TRUE(mounted) << (problem ? problem : "?");
  std::unique_ptr<Ext4Fs> paged(*mounted);
  size_t files = 0;
  for (const auto& entry : stdfs::recursive_directory_iterator(s_tree)) {
    if (!entry.is_regular_file() || entry.is_symlink()) continue;
    std::string relative = entry.path().lexically_relative(s_tree).string();
    auto vnode = walk(paged->root(), relative);
    ASSERT_TRUE(vnode) << relative;
    auto data = read_all(**vnode);
    ASSERT_TRUE(data) << relative;
    std::vector<std::byte> expected = read_bytes(entry.path());
    ASSERT_EQ(data->size(), expected.size()) << relative;
    EXPECT_TRUE(expected.empty() || memcmp(data->data(), expected.data(), expected.size()) == 0) << relative;
    files++;
  }
  EXPECT_GT(files, static_cast<size_t>(kManyFiles));
  EXPECT_GT(pages.pages_read, 256u);  // the 1 MiB file alone
  EXPECT_TRUE(pages.tails_zeroed);
  // Reading a page wholly in a hole gives zeros without touching the disk's data.
  auto sparse = walk(paged->root(), "sparse");
  ASSERT_TRUE(sparse);
  std::vector<std::byte> hole(8192, std::byte{1});
  EXPECT_EQ(*(*sparse)->read_at(4 << 20, hole, {}), 8192u);
  EXPECT_TRUE(std::all_of(hole.begin(), hole.end(), [](std::byte b) { return b == std::byte{0}; }));
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, Ext4Test, ::testing::Values("", "-b 1024"),
                         [](const auto& info) { return std::string(info.index == 0 ? "Default" : "Block1024"); });

TEST(Ext4Mount, NanosecondTimestampsFromTheExtraFields) {
  stdfs::path tree = make_temp_dir();
  write_file(tree / "file", "x");
  std::vector<std::byte> image = make_ext4_image(tree, "8M");
  ASSERT_FALSE(image.empty());
  stdfs::path path = tree.string() + ".ts.img";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(image.data()), image.size());
  // debugfs rewrites the inode with its checksum: mtime 1600000000 s + 123456789 ns.
  std::string command = "debugfs -w -R 'sif /file mtime @1600000000' '" + path.string() +
                        "' >/dev/null 2>&1 && debugfs -w -R 'sif /file mtime_extra " + std::to_string(123456789u << 2) +
                        "' '" + path.string() + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  FakeBlockDevice device(read_bytes(path));
  stdfs::remove(path);
  stdfs::remove_all(tree);
  const char* problem = nullptr;
  auto mounted = Ext4Fs::try_mount(device, nullptr, &problem);
  ASSERT_TRUE(mounted) << problem;
  std::unique_ptr<Ext4Fs> fs(*mounted);
  auto file = walk(fs->root(), "file");
  ASSERT_TRUE(file);
  EXPECT_EQ((*file)->stat().mtime_ns, 1600000000LL * 1'000'000'000 + 123456789);
}

}  // namespace
}  // namespace nimbus::testing
