// Tests for RamFs: file data (sparse, copy-on-write over borrowed bytes, truncate), link
// counts, directories, rename rules and readdir cookies.
#include "kernel/fs/ramfs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "tests/unit/fakes/fs_test_support.h"

namespace nimbus::fs {
namespace {

using namespace testing;
using linux_abi::rename_exchange;
using linux_abi::rename_noreplace;

TEST_F(RamFsTest, RootIsAnEmptyDirectory) {
  Stat stat = root->stat();
  EXPECT_EQ(stat.mode, linux_abi::s_ifdir | 0755);
  EXPECT_EQ(stat.nlink, 2u);
  EXPECT_EQ(stat.dev_minor, fs.device_minor());
  EXPECT_EQ(list_directory(*root), (std::vector<std::string>{".", ".."}));
  EXPECT_EQ(lookup(*root, ".."), root);
  EXPECT_EQ(root->lookup("missing").error(), Errno::enoent);
}

TEST_F(RamFsTest, WritesAndReadsBackAcrossPages) {
  RefPtr<Vnode> file = make_file("f");
  std::string data;
  for (int i = 0; i < 10000; i++) data += static_cast<char>('a' + i % 26);
  write_string(*file, 100, data);
  EXPECT_EQ(file->stat().size, 10100u);
  EXPECT_EQ(read_string(*file, 100, 10000), data);
  EXPECT_EQ(read_string(*file, 0, 100), std::string(100, '\0'));
  EXPECT_EQ(read_string(*file, 10090, 100), data.substr(9990));
  EXPECT_EQ(read_string(*file, 10100, 10), "");
  EXPECT_EQ(read_string(*file, 1 << 30, 10), "");
}

TEST_F(RamFsTest, AppendWritesAtTheEndAndReportsWhere) {
  RefPtr<Vnode> file = make_file("f", "hello");
  uint64_t offset = 0;
  ASSERT_TRUE(file->write_at(&offset, bytes_of(" world"), IoFlags{.append = true}));
  EXPECT_EQ(offset, 5u);
  EXPECT_EQ(read_string(*file, 0, 100), "hello world");
}

TEST_F(RamFsTest, StatReportsTypeTimesAndBlocks) {
  g_fake_now = 5'000;
  RefPtr<Vnode> file = make_file("f");
  Stat before = file->stat();
  EXPECT_EQ(before.mode, linux_abi::s_ifreg | 0644);
  EXPECT_EQ(before.nlink, 1u);
  EXPECT_EQ(before.mtime_ns, 5'000);
  EXPECT_EQ(before.btime_ns, 5'000);
  EXPECT_EQ(before.blocks, 0u);
  g_fake_now = 9'000;
  write_string(*file, 0, "x");
  Stat after = file->stat();
  EXPECT_EQ(after.mtime_ns, 9'000);
  EXPECT_EQ(after.ctime_ns, 9'000);
  EXPECT_EQ(after.btime_ns, 5'000);
  EXPECT_EQ(after.blocks, 8u);
  EXPECT_NE(after.ino, root->stat().ino);
  // The parent's times moved when the file was created.
  EXPECT_EQ(root->stat().mtime_ns, 5'000);
}

TEST_F(RamFsTest, SparseFilesStoreOnlyWrittenPages) {
  RefPtr<Vnode> file = make_file("sparse");
  write_string(*file, 1ull << 40, "end");
  Stat stat = file->stat();
  EXPECT_EQ(stat.size, (1ull << 40) + 3);
  EXPECT_EQ(stat.blocks, 8u);
  EXPECT_EQ(read_string(*file, (1ull << 40) - 2, 5), std::string("\0\0end", 5));
  EXPECT_EQ(read_string(*file, 12345, 4), std::string(4, '\0'));
  EXPECT_EQ(file->next_data(0), 1ull << 40);
  EXPECT_EQ(file->next_hole(0), 0u);
  EXPECT_EQ(file->next_hole(1ull << 40), (1ull << 40) + 3);
  EXPECT_EQ(file->next_data((1ull << 40) + 3).error(), Errno::enxio);
  // The tree's nodes and one page; nothing for the hole.
  EXPECT_LT(pages.outstanding(), 8u);
}

TEST_F(RamFsTest, TruncateShrinksGrowsAndZeroesTheCutTail) {
  RefPtr<Vnode> file = make_file("f", std::string(10000, 'x'));
  ASSERT_TRUE(file->truncate(5000));
  EXPECT_EQ(file->stat().size, 5000u);
  ASSERT_TRUE(file->truncate(9000));
  EXPECT_EQ(read_string(*file, 4998, 4), std::string("xx\0\0", 4));
  EXPECT_EQ(read_string(*file, 8000, 2000), std::string(1000, '\0'));
  ASSERT_TRUE(file->truncate(0));
  EXPECT_EQ(pages.outstanding(), 0u);
  EXPECT_EQ(file->stat().blocks, 0u);
  EXPECT_EQ(file->truncate(RamFs::kMaxFileSize + 1).error(), Errno::efbig);
  EXPECT_EQ(root->truncate(0).error(), Errno::eisdir);
}

TEST_F(RamFsTest, WritesPastTheLargestFileFail) {
  RefPtr<Vnode> file = make_file("f");
  uint64_t offset = RamFs::kMaxFileSize;
  EXPECT_EQ(file->write_at(&offset, bytes_of("x"), {}).error(), Errno::efbig);
  offset = RamFs::kMaxFileSize - 2;
  EXPECT_EQ(file->write_at(&offset, bytes_of("xyz"), {}), 2u);
}

TEST_F(RamFsTest, OutOfPagesIsAFullFileSystem) {
  RefPtr<Vnode> file = make_file("f");
  pages.set_limit(pages.outstanding() + 2);  // a tree node and one data page
  std::string data(3 * kPageSize, 'z');
  uint64_t offset = 0;
  EXPECT_EQ(file->write_at(&offset, bytes_of(data), {}), kPageSize);
  offset = kPageSize;
  EXPECT_EQ(file->write_at(&offset, bytes_of(data), {}).error(), Errno::enospc);
  EXPECT_EQ(file->stat().size, kPageSize);
}

TEST_F(RamFsTest, BorrowedBytesAreReadUntilAPageIsWritten) {
  std::string backing(3 * kPageSize + 100, '\0');
  for (size_t i = 0; i < backing.size(); i++) backing[i] = static_cast<char>('A' + i % 23);
  const std::string original = backing;
  RefPtr<Vnode> file = make_file("borrowed");
  ASSERT_TRUE(fs.set_backing(*file, bytes_of(backing)));
  EXPECT_EQ(file->stat().size, backing.size());
  EXPECT_EQ(file->stat().blocks, 4u * 8);
  EXPECT_EQ(read_string(*file, 0, backing.size() + 10), original);
  EXPECT_EQ(pages.outstanding(), 0u);

  // A write copies just the page it touches; the borrowed bytes stay as they were.
  write_string(*file, kPageSize + 10, "written");
  EXPECT_EQ(backing, original);
  EXPECT_EQ(pages.outstanding(), 2u);  // one tree node, one page
  std::string expected = original;
  expected.replace(kPageSize + 10, 7, "written");
  EXPECT_EQ(read_string(*file, 0, expected.size()), expected);
  EXPECT_EQ(file->stat().blocks, 4u * 8);

  // The last, partial page: copied with zeros after the borrowed end.
  write_string(*file, backing.size() + 50, "tail");
  expected += std::string(50, '\0') + "tail";
  EXPECT_EQ(read_string(*file, 0, expected.size() + 1), expected);
}

TEST_F(RamFsTest, TruncatingBorrowedBytesHidesThemForGood) {
  std::string backing(2 * kPageSize, 'b');
  RefPtr<Vnode> file = make_file("f");
  ASSERT_TRUE(fs.set_backing(*file, bytes_of(backing)));
  ASSERT_TRUE(file->truncate(100));
  ASSERT_TRUE(file->truncate(2 * kPageSize));
  EXPECT_EQ(read_string(*file, 0, 2 * kPageSize), std::string(100, 'b') + std::string(2 * kPageSize - 100, '\0'));
  EXPECT_EQ(file->next_hole(0), kPageSize);
  EXPECT_EQ(fs.set_backing(*root, {}).error(), Errno::einval);
}

// What a shared memory mapping would do with a file's page: remember it, write through it.
class PageRecorder final : public SharedPageUser {
 public:
  Result<> use(std::byte* page) override {
    pages.push_back(page);
    return {};
  }
  std::vector<std::byte*> pages;
};

struct UnmapCall {
  const Vnode* file;
  uint64_t first;
};
std::vector<UnmapCall> g_unmap_calls;

TEST_F(RamFsTest, SharedPagesAreTheFilesOwnAndAreUnmappedBeforeTruncateDropsThem) {
  g_unmap_calls.clear();
  set_shared_page_unmapper([](const Vnode& file, uint64_t first) { g_unmap_calls.push_back({&file, first}); });
  std::string backing(2 * kPageSize + 10, 'b');
  RefPtr<Vnode> file = make_file("f");
  ASSERT_TRUE(fs.set_backing(*file, bytes_of(backing)));
  ASSERT_TRUE(file->can_share_pages());
  EXPECT_FALSE(root->can_share_pages());

  // Truncating a file never shared asks nothing of the mappings.
  ASSERT_TRUE(file->truncate(2 * kPageSize + 5));
  EXPECT_TRUE(g_unmap_calls.empty());

  // A borrowed page is copied first, then handed out; stores through it are the file's data.
  PageRecorder recorder;
  ASSERT_TRUE(file->with_shared_page(2, recorder));
  ASSERT_TRUE(file->with_shared_page(2, recorder));
  ASSERT_EQ(recorder.pages.size(), 2u);
  EXPECT_EQ(recorder.pages[0], recorder.pages[1]);
  EXPECT_EQ(static_cast<char>(recorder.pages[0][4]), 'b');
  recorder.pages[0][0] = std::byte{'S'};
  EXPECT_EQ(read_string(*file, 2 * kPageSize, 10), "Sbbbb");
  EXPECT_EQ(backing, std::string(2 * kPageSize + 10, 'b'));
  write_string(*file, 2 * kPageSize + 1, "W");
  EXPECT_EQ(static_cast<char>(recorder.pages[0][1]), 'W');
  EXPECT_EQ(file->with_shared_page(3, recorder).error(), Errno::enxio);
  EXPECT_EQ(root->with_shared_page(0, recorder).error(), Errno::enodev);

  // Shrinking unmaps the pages it drops (from the first whole one) before freeing them.
  ASSERT_TRUE(file->truncate(kPageSize + 1));
  ASSERT_EQ(g_unmap_calls.size(), 1u);
  EXPECT_EQ(g_unmap_calls[0].file, file.get());
  EXPECT_EQ(g_unmap_calls[0].first, 2u);
  EXPECT_EQ(file->with_shared_page(2, recorder).error(), Errno::enxio);
  ASSERT_TRUE(file->truncate(4 * kPageSize));  // growing drops nothing
  EXPECT_EQ(g_unmap_calls.size(), 1u);
  set_shared_page_unmapper(nullptr);
}

TEST_F(RamFsTest, UnlinkedFilesKeepTheirDataWhileReferenced) {
  RefPtr<Vnode> file = make_file("f", "still here");
  ASSERT_TRUE(root->unlink("f"));
  EXPECT_EQ(root->lookup("f").error(), Errno::enoent);
  EXPECT_EQ(file->stat().nlink, 0u);
  EXPECT_EQ(read_string(*file, 0, 100), "still here");
  write_string(*file, 0, "STILL");
  EXPECT_EQ(read_string(*file, 0, 100), "STILL here");
  EXPECT_EQ(pages.outstanding(), 2u);
  file = nullptr;
  EXPECT_EQ(pages.outstanding(), 0u);
  EXPECT_EQ(fs.data_pages(), 0u);
}

TEST_F(RamFsTest, CreateRejectsTakenNamesAndRemovedDirectories) {
  make_file("f");
  EXPECT_EQ(root->create("f", NewNode{}).error(), Errno::eexist);
  EXPECT_EQ(root->create("f", NewNode{VnodeType::directory, 0755}).error(), Errno::eexist);
  RefPtr<Vnode> directory = make_directory(*root, "d");
  ASSERT_TRUE(root->rmdir("d"));
  EXPECT_EQ(directory->create("x", NewNode{}).error(), Errno::enoent);
  EXPECT_EQ(directory->lookup("x").error(), Errno::enoent);
  EXPECT_EQ(lookup(*directory, ".."), root);  // still where it was, as Linux's d_parent
  CollectingSink sink;
  uint64_t position = 0;
  EXPECT_EQ(directory->readdir(&position, sink).error(), Errno::enoent);
  EXPECT_EQ(directory->stat().nlink, 0u);
}

TEST_F(RamFsTest, DirectoryLinkCountsFollowSubdirectories) {
  RefPtr<Vnode> a = make_directory(*root, "a");
  EXPECT_EQ(root->stat().nlink, 3u);
  make_directory(*a, "b");
  make(*a, "file", VnodeType::regular);
  EXPECT_EQ(a->stat().nlink, 3u);
  EXPECT_EQ(lookup(*lookup(*a, "b"), ".."), a);
  EXPECT_EQ(root->rmdir("a").error(), Errno::enotempty);
  EXPECT_EQ(a->rmdir("file").error(), Errno::enotdir);
  EXPECT_EQ(a->unlink("b").error(), Errno::eisdir);
  ASSERT_TRUE(a->rmdir("b"));
  ASSERT_TRUE(a->unlink("file"));
  EXPECT_EQ(a->stat().nlink, 2u);
  ASSERT_TRUE(root->rmdir("a"));
  EXPECT_EQ(root->stat().nlink, 2u);
  EXPECT_EQ(root->rmdir("a").error(), Errno::enoent);
}

TEST_F(RamFsTest, HardLinksShareOneFile) {
  RefPtr<Vnode> file = make_file("f", "data");
  RefPtr<Vnode> directory = make_directory(*root, "d");
  ASSERT_TRUE(directory->link("g", *file));
  EXPECT_EQ(file->stat().nlink, 2u);
  EXPECT_EQ(lookup(*directory, "g"), file);
  EXPECT_EQ(root->link("f", *file).error(), Errno::eexist);
  EXPECT_EQ(root->link("dlink", *directory).error(), Errno::eperm);
  ASSERT_TRUE(root->unlink("f"));
  EXPECT_EQ(file->stat().nlink, 1u);
  ASSERT_TRUE(directory->unlink("g"));
  EXPECT_EQ(root->link("again", *file).error(), Errno::enoent);

  FakePageAllocator other_pages;
  RamFs other(other_pages, fake_clock);
  ASSERT_TRUE(other.init());
  EXPECT_EQ(other.root()->link("x", *directory).error(), Errno::exdev);
  EXPECT_EQ(other.root()->rename("x", *root, "y", 0).error(), Errno::exdev);
}

TEST_F(RamFsTest, SymlinksStoreTheirTarget) {
  auto link = root->symlink("l", "../some/where", 0, 0);
  ASSERT_TRUE(link);
  EXPECT_EQ((*link)->link_target(), std::string_view("../some/where"));
  Stat stat = (*link)->stat();
  EXPECT_EQ(stat.mode, linux_abi::s_iflnk | 0777);
  EXPECT_EQ(stat.size, 13u);
  EXPECT_EQ(root->symlink("l", "x", 0, 0).error(), Errno::eexist);
  EXPECT_EQ(root->symlink("e", "", 0, 0).error(), Errno::enoent);
  EXPECT_EQ(root->symlink("long", std::string(4096, 'x'), 0, 0).error(), Errno::enametoolong);
  EXPECT_EQ(root->link_target().error(), Errno::einval);
  EXPECT_EQ((*link)->read_at(0, {}, {}).error(), Errno::einval);
}

TEST_F(RamFsTest, SpecialNodesCarryTheirDeviceNumbers) {
  auto node = root->create("null", NewNode{VnodeType::character_device, 0666, 0, 0, 1, 3});
  ASSERT_TRUE(node);
  Stat stat = (*node)->stat();
  EXPECT_EQ(stat.mode, linux_abi::s_ifchr | 0666);
  EXPECT_EQ(stat.rdev_major, 1u);
  EXPECT_EQ(stat.rdev_minor, 3u);
  EXPECT_EQ(root->create("s", NewNode{VnodeType::symlink, 0777}).error(), Errno::einval);
}

TEST_F(RamFsTest, SetAttributesChangesOnlyWhatIsAsked) {
  RefPtr<Vnode> file = make_file("f");
  g_fake_now = 77;
  SetAttributes change;
  change.mask = SetAttributes::mode | SetAttributes::mtime;
  change.mode_bits = 04711 | linux_abi::s_ifdir;
  change.mtime_ns = -5;
  ASSERT_TRUE(file->set_attributes(change));
  Stat stat = file->stat();
  EXPECT_EQ(stat.mode, linux_abi::s_ifreg | 04711);
  EXPECT_EQ(stat.mtime_ns, -5);
  EXPECT_EQ(stat.ctime_ns, 77);
  EXPECT_EQ(stat.atime_ns, 1'000'000'000);
  EXPECT_EQ(stat.uid, 0u);
}

TEST_F(RamFsTest, RenameMovesReplacesAndKeepsLinkCounts) {
  RefPtr<Vnode> a = make_directory(*root, "a");
  RefPtr<Vnode> b = make_directory(*root, "b");
  RefPtr<Vnode> file = make_file("f", "one");
  RefPtr<Vnode> victim = make_file("g", "two");
  ASSERT_TRUE(root->rename("f", *a, "f2", 0));
  EXPECT_EQ(lookup(*a, "f2"), file);
  EXPECT_EQ(root->lookup("f").error(), Errno::enoent);
  ASSERT_TRUE(root->link("g2", *victim));
  ASSERT_TRUE(a->rename("f2", *root, "g", 0));
  EXPECT_EQ(lookup(*root, "g"), file);
  EXPECT_EQ(victim->stat().nlink, 1u);

  // Directories: ".." follows, link counts move.
  ASSERT_TRUE(root->rename("a", *b, "a", 0));
  EXPECT_EQ(lookup(*a, ".."), b);
  EXPECT_EQ(root->stat().nlink, 3u);
  EXPECT_EQ(b->stat().nlink, 3u);
  // Over an empty directory, which dies.
  RefPtr<Vnode> empty = make_directory(*root, "empty");
  ASSERT_TRUE(b->rename("a", *root, "empty", 0));
  EXPECT_EQ(lookup(*root, "empty"), a);
  EXPECT_EQ(empty->stat().nlink, 0u);
  EXPECT_EQ(empty->lookup("x").error(), Errno::enoent);
  EXPECT_EQ(root->stat().nlink, 4u);  // a, b
  EXPECT_EQ(b->stat().nlink, 2u);
}

TEST_F(RamFsTest, RenameRefusesWhatLinuxRefuses) {
  RefPtr<Vnode> a = make_directory(*root, "a");
  RefPtr<Vnode> sub = make_directory(*a, "sub");
  make(*sub, "x", VnodeType::regular);
  make_file("f");
  make_directory(*root, "full");
  make(*lookup(*root, "full"), "y", VnodeType::regular);

  EXPECT_EQ(root->rename("missing", *root, "z", 0).error(), Errno::enoent);
  EXPECT_EQ(root->rename("a", *sub, "a", 0).error(), Errno::einval);  // into itself
  EXPECT_EQ(root->rename("a", *a, "self", 0).error(), Errno::einval);
  EXPECT_EQ(root->rename("a", *root, "full", 0).error(), Errno::enotempty);
  EXPECT_EQ(root->rename("a", *root, "f", 0).error(), Errno::enotdir);
  EXPECT_EQ(root->rename("f", *root, "a", 0).error(), Errno::eisdir);
  EXPECT_EQ(root->rename("f", *root, "a", rename_noreplace).error(), Errno::eexist);
  EXPECT_EQ(root->rename("f", *root, "zz", rename_exchange).error(), Errno::enoent);
  EXPECT_EQ(root->rename("f", *root, "a", rename_noreplace | rename_exchange).error(), Errno::einval);
  EXPECT_EQ(root->rename("f", *root, "a", linux_abi::rename_whiteout).error(), Errno::einval);
  EXPECT_EQ(root->rename("f", *lookup(*root, "f"), "x", 0).error(), Errno::enotdir);
  // Renaming a name onto itself, or onto another name of the same file, does nothing.
  ASSERT_TRUE(root->rename("f", *root, "f", 0));
  ASSERT_TRUE(root->link("f2", *lookup(*root, "f")));
  ASSERT_TRUE(root->rename("f", *root, "f2", 0));
  EXPECT_TRUE(lookup(*root, "f"));
}

TEST_F(RamFsTest, RenameExchangeSwapsEvenAFileAndADirectory) {
  RefPtr<Vnode> a = make_directory(*root, "a");
  RefPtr<Vnode> d = make_directory(*a, "d");
  RefPtr<Vnode> file = make_file("f");
  ASSERT_TRUE(a->rename("d", *root, "f", rename_exchange));
  EXPECT_EQ(lookup(*root, "f"), d);
  EXPECT_EQ(lookup(*a, "d"), file);
  EXPECT_EQ(lookup(*d, ".."), root);
  EXPECT_EQ(a->stat().nlink, 2u);
  EXPECT_EQ(root->stat().nlink, 4u);
  // A directory cannot be swapped into its own subtree.
  EXPECT_EQ(root->rename("a", *a, "d", rename_exchange).error(), Errno::einval);
}

TEST_F(RamFsTest, ReaddirListsDotsThenEntriesInCreationOrder) {
  RefPtr<Vnode> directory = make_directory(*root, "d");
  for (std::string name : {"one", "two", "three"}) make(*directory, name, VnodeType::regular);
  make_directory(*directory, "sub");
  CollectingSink sink;
  uint64_t position = 0;
  ASSERT_TRUE(directory->readdir(&position, sink));
  ASSERT_EQ(sink.names(), (std::vector<std::string>{".", "..", "one", "two", "three", "sub"}));
  EXPECT_EQ(sink.entries[0].ino, directory->ino());
  EXPECT_EQ(sink.entries[1].ino, root->ino());
  EXPECT_EQ(sink.entries[2].ino, lookup(*directory, "one")->ino());
  EXPECT_EQ(sink.entries[5].type, VnodeType::directory);
  EXPECT_EQ(sink.entries[2].type, VnodeType::regular);
  EXPECT_EQ(position, sink.entries.back().next_position);
  // At the end, nothing more.
  CollectingSink rest;
  ASSERT_TRUE(directory->readdir(&position, rest));
  EXPECT_TRUE(rest.entries.empty());
}

TEST_F(RamFsTest, ReaddirResumesAcrossRemovalsAndAdditions) {
  RefPtr<Vnode> directory = make_directory(*root, "d");
  for (int i = 0; i < 100; i++) make(*directory, "e" + std::to_string(i), VnodeType::regular);
  std::vector<std::string> seen;
  uint64_t position = 0;
  int round = 0;
  while (true) {
    CollectingSink sink(7);
    ASSERT_TRUE(directory->readdir(&position, sink));
    if (sink.entries.empty()) break;
    for (auto& entry : sink.entries) seen.push_back(entry.name);
    // Meanwhile: remove an entry already seen and one not yet seen, add a new one.
    if (round < 10) {
      ASSERT_TRUE(directory->unlink("e" + std::to_string(round)));
      ASSERT_TRUE(directory->unlink("e" + std::to_string(99 - round)));
      make(*directory, "new" + std::to_string(round), VnodeType::regular);
    }
    round++;
  }
  std::map<std::string, int> counts;
  for (auto& name : seen) counts[name]++;
  for (auto& [name, count] : counts) EXPECT_EQ(count, 1) << name;
  // Not-yet-seen removed entries are skipped; every survivor and every addition is seen.
  for (int i = 10; i < 90; i++) EXPECT_EQ(counts.count("e" + std::to_string(i)), 1u) << i;
  for (int i = 90; i < 100; i++) EXPECT_EQ(counts.count("e" + std::to_string(i)), 0u) << i;
  for (int i = 0; i < 10; i++) EXPECT_EQ(counts.count("new" + std::to_string(i)), 1u) << i;
}

TEST_F(RamFsTest, ThousandsOfEntriesStayFindable) {
  RefPtr<Vnode> directory = make_directory(*root, "big");
  constexpr int kCount = 5000;
  for (int i = 0; i < kCount; i++) make(*directory, "module_" + std::to_string(i) + ".py", VnodeType::regular);
  for (int i = 0; i < kCount; i += 7) {
    EXPECT_TRUE(lookup(*directory, "module_" + std::to_string(i) + ".py")) << i;
  }
  for (int i = 0; i < kCount; i += 2) ASSERT_TRUE(directory->unlink("module_" + std::to_string(i) + ".py"));
  EXPECT_EQ(list_directory(*directory).size(), kCount / 2 + 2u);
  EXPECT_FALSE(lookup(*directory, "module_10.py"));
  EXPECT_TRUE(lookup(*directory, "module_11.py"));
  EXPECT_EQ(directory->stat().size, (kCount / 2 + 2u) * 20);
}

TEST_F(RamFsTest, ChildNameFindsTheEntry) {
  RefPtr<Vnode> directory = make_directory(*root, "somewhere");
  char buffer[64];
  auto length = root->child_name(*directory, buffer);
  ASSERT_TRUE(length);
  EXPECT_EQ(std::string_view(buffer, *length), "somewhere");
  EXPECT_EQ(root->child_name(*directory, std::span<char>(buffer, 3)).error(), Errno::erange);
  EXPECT_EQ(directory->child_name(*root, buffer).error(), Errno::enoent);
}

TEST_F(RamFsTest, StatFsCountsPagesAndNodes) {
  make_file("f", std::string(3 * kPageSize, 'q'));
  StatFs stat = fs.statfs();
  EXPECT_EQ(stat.type, linux_abi::tmpfs_magic);
  EXPECT_EQ(stat.blocks - stat.blocks_free, 3u);
  EXPECT_EQ(stat.files - stat.files_free, 2u);
}

}  // namespace
}  // namespace nimbus::fs
