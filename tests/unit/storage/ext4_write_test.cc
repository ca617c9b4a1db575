// ext4, read-write, over images Debian's mke2fs made: every change reads back (also after a
// remount) and e2fsck -fn finds nothing wrong with the image afterwards.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "kernel/fs/buffer_pinning.h"
#include "kernel/fs/ext4/ext4_fs.h"
#include "kernel/fs/linux_abi.h"
#include "tests/unit/fakes/fake_block_device.h"
#include "tests/unit/storage/ext4_image.h"
#include "tests/unit/storage/memory_page_cache.h"

namespace nimbus::testing {
namespace {

namespace stdfs = std::filesystem;
using fs::ext4::Ext4Fs;

int64_t g_now = 1'700'000'000'123'456'789;
int64_t test_clock() { return g_now; }

std::string random_text(size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  return bytes;
}

std::span<const std::byte> as_bytes(const std::string& text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

class Ext4WriteTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    m_tree = make_temp_dir();
    ASSERT_FALSE(m_tree.empty());
    write_file(m_tree / "existing.txt", "old contents\n");
    write_file(m_tree / "dir/inner.txt", "inner\n");
    for (int i = 0; i < 400; i++) write_file(m_tree / "hashed" / ("name-" + std::to_string(i)), "x");
    // "pages:" first: file data goes through a page cache (as in the kernel), not the block cache.
    std::string options = GetParam();
    if (options.starts_with("pages:")) {
      m_pages = std::make_unique<MemoryPageCache>();
      options = options.substr(6);
    }
    std::vector<std::byte> image = make_ext4_image(m_tree, "32M", options.c_str());
    ASSERT_FALSE(image.empty()) << "mke2fs or e2fsck failed (e2fsprogs installed?)";
    m_device = std::make_unique<FakeBlockDevice>(std::move(image), false);
    mount();
  }
  void TearDown() override {
    m_fs.reset();
    stdfs::remove_all(m_tree);
  }

  void mount() {
    const char* problem = nullptr;
    // A new mount starts with an empty page cache: everything is read from the disk.
    if (m_pages) *m_pages = MemoryPageCache();
    auto mounted = Ext4Fs::try_mount(*m_device, test_clock, &problem, Ext4Fs::Access::read_write, m_pages.get());
    ASSERT_TRUE(mounted) << (problem ? problem : "?");
    m_fs.reset(*mounted);
  }
  // Unmounts (which syncs) and mounts again: what was written must be on the "disk".
  void remount() {
    m_fs.reset();
    mount();
  }

  // e2fsck -fn over the device's bytes: its exit status (0: clean) and output.
  int fsck(std::string* output) {
    EXPECT_TRUE(m_fs->sync());
    stdfs::path image = m_tree.string() + ".check.img";
    std::ofstream(image, std::ios::binary)
        .write(reinterpret_cast<const char*>(m_device->bytes().data()), m_device->bytes().size());
    std::string command = "e2fsck -fn '" + image.string() + "' 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[512];
    while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output->append(buffer, n);
    int status = pclose(pipe);
    stdfs::remove(image);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  void expect_clean() {
    std::string output;
    EXPECT_EQ(fsck(&output), 0) << output;
  }

  RefPtr<fs::Vnode> at(const std::string& path) {
    auto vnode = walk(m_fs->root(), path);
    EXPECT_TRUE(vnode) << path;
    return vnode ? *vnode : RefPtr<fs::Vnode>();
  }
  RefPtr<fs::Vnode> create(const std::string& directory, const std::string& name,
                           fs::VnodeType type = fs::VnodeType::regular) {
    fs::NewNode node;
    node.type = type;
    node.permissions = type == fs::VnodeType::directory ? 0755 : 0644;
    auto made = at(directory)->create(name, node);
    EXPECT_TRUE(made) << name << " " << (made ? 0 : static_cast<int>(made.error()));
    return made ? *made : RefPtr<fs::Vnode>();
  }
  static void write(fs::Vnode& file, uint64_t offset, const std::string& text) {
    auto written = file.write_at(&offset, as_bytes(text), {});
    ASSERT_TRUE(written);
    EXPECT_EQ(*written, text.size());
  }

  stdfs::path m_tree;
  std::unique_ptr<FakeBlockDevice> m_device;
  std::unique_ptr<MemoryPageCache> m_pages;  // outlives m_fs, whose unmount writes pages back
  std::unique_ptr<Ext4Fs> m_fs;
};

TEST_P(Ext4WriteTest, NewFilesReadBackAfterARemountAndFsckIsClean) {
  EXPECT_FALSE(m_fs->read_only());
  std::string big = random_text((3 << 20) + 777, 7);
  {
    auto small = create("", "small.txt");
    write(*small, 0, "hello, writable ext4\n");
    auto file = create("dir", "big.bin");
    // In uneven pieces, so writes straddle blocks.
    for (size_t offset = 0; offset < big.size(); offset += 10007)
      write(*file, offset, big.substr(offset, 10007));
  }
  remount();
  EXPECT_EQ(*read_all(*at("small.txt")), "hello, writable ext4\n");
  EXPECT_EQ(*read_all(*at("dir/big.bin")), big);
  EXPECT_EQ(*read_all(*at("existing.txt")), "old contents\n");
  fs::Stat s = at("dir/big.bin")->stat();
  EXPECT_EQ(s.size, big.size());
  EXPECT_GE(s.blocks * 512, big.size());
  EXPECT_EQ(s.mtime_ns, g_now);  // nanoseconds kept
  expect_clean();
}

TEST_P(Ext4WriteTest, SparseWritesAndManyExtentsGrowTheTree) {
  std::map<uint64_t, std::string> pieces;
  {
    auto file = create("", "fragmented");
    // Every other block: one extent each, far more than i_block holds (a deeper tree).
    for (int i = 0; i < 1500; i++) {
      uint64_t offset = uint64_t(i) * 2 * 4096 + 5;
      std::string text = "piece " + std::to_string(i);
      write(*file, offset, text);
      pieces[offset] = text;
    }
  }
  remount();
  std::string all = *read_all(*at("fragmented"));
  for (auto& [offset, text] : pieces) ASSERT_EQ(all.substr(offset, text.size()), text) << offset;
  EXPECT_EQ(all[1], '\0');
  expect_clean();
  // Filling the holes merges extents back.
  {
    auto file = at("fragmented");
    std::string fill(all.size(), 'f');
    write(*file, 0, fill);
  }
  remount();
  EXPECT_EQ(*read_all(*at("fragmented")), std::string(all.size(), 'f'));
  expect_clean();
}

TEST_P(Ext4WriteTest, TruncateShrinksGrowsAndFreesBlocks) {
  uint64_t free_before = m_fs->statfs().blocks_free;
  {
    auto file = create("", "t");
    write(*file, 0, random_text(1 << 20, 3));
    EXPECT_LT(m_fs->statfs().blocks_free, free_before - 200);
    ASSERT_TRUE(file->truncate(5000));
    ASSERT_TRUE(file->truncate(9000));  // the bytes after 5000 read as zeros
  }
  remount();
  std::string text = *read_all(*at("t"));
  ASSERT_EQ(text.size(), 9000u);
  EXPECT_EQ(text.substr(0, 5000), random_text(1 << 20, 3).substr(0, 5000));
  EXPECT_EQ(text.substr(5000), std::string(4000, '\0'));
  expect_clean();
  ASSERT_TRUE(m_fs->root()->unlink("t"));
  ASSERT_TRUE(m_fs->sync());  // the unlinked inode is freed once its last user has gone
  EXPECT_EQ(m_fs->statfs().blocks_free, free_before);
  expect_clean();
}

TEST_P(Ext4WriteTest, DirectoriesLinksAndSymlinks) {
  create("", "a", fs::VnodeType::directory);
  create("a", "b", fs::VnodeType::directory);
  auto file = create("a/b", "f");
  write(*file, 0, "data");
  ASSERT_TRUE(at("")->link("hard", *file));
  EXPECT_EQ(file->stat().nlink, 2u);
  ASSERT_TRUE(at("a")->symlink("fast", "b/f", 0, 0));
  std::string slow = std::string(200, 's') + "/target";
  ASSERT_TRUE(at("a")->symlink("slow", slow, 0, 0));
  EXPECT_EQ(at("")->create("a", fs::NewNode{}).error(), Errno::eexist);
  EXPECT_EQ(at("a")->stat().nlink, 3u);
  file = nullptr;
  remount();
  EXPECT_EQ(*read_all(*at("hard")), "data");
  EXPECT_EQ(*at("a/fast")->link_target(), "b/f");
  EXPECT_EQ(*at("a/slow")->link_target(), slow);
  EXPECT_EQ(at("a/b/..")->ino(), at("a")->ino());
  expect_clean();

  EXPECT_EQ(at("")->rmdir("a").error(), Errno::enotempty);
  ASSERT_TRUE(at("a/b")->unlink("f"));
  EXPECT_EQ(at("hard")->stat().nlink, 1u);
  ASSERT_TRUE(at("a")->rmdir("b"));
  EXPECT_EQ(at("a")->stat().nlink, 2u);
  ASSERT_TRUE(at("a")->unlink("fast"));
  ASSERT_TRUE(at("a")->unlink("slow"));
  ASSERT_TRUE(at("")->rmdir("a"));
  ASSERT_TRUE(at("")->unlink("hard"));
  remount();
  EXPECT_FALSE(walk(m_fs->root(), "a"));
  expect_clean();
}

TEST_P(Ext4WriteTest, RenameFilesDirectoriesNoReplaceAndExchange) {
  create("", "x", fs::VnodeType::directory);
  create("", "y", fs::VnodeType::directory);
  write(*create("x", "one"), 0, "1");
  write(*create("y", "two"), 0, "2");
  create("x", "sub", fs::VnodeType::directory);
  // A file to another directory, replacing nothing.
  ASSERT_TRUE(at("x")->rename("one", *at("y"), "uno", 0));
  // NOREPLACE refuses an existing name; a plain rename replaces it.
  EXPECT_EQ(at("y")->rename("uno", *at("y"), "two", 1).error(), Errno::eexist);
  ASSERT_TRUE(at("y")->rename("uno", *at("y"), "two", 0));
  EXPECT_EQ(*read_all(*at("y/two")), "1");
  // A directory moves: its ".." and both parents' link counts follow.
  ASSERT_TRUE(at("x")->rename("sub", *at("y"), "sub", 0));
  EXPECT_EQ(at("y/sub/..")->ino(), at("y")->ino());
  EXPECT_EQ(at("x")->stat().nlink, 2u);
  EXPECT_EQ(at("y")->stat().nlink, 3u);
  // Not into itself.
  EXPECT_EQ(at("")->rename("y", *at("y/sub"), "loop", 0).error(), Errno::einval);
  // EXCHANGE swaps a file and a directory.
  write(*create("x", "file"), 0, "f");
  ASSERT_TRUE(at("x")->rename("file", *at("y"), "sub", 2));
  EXPECT_EQ(*read_all(*at("y/sub")), "f");
  EXPECT_TRUE(at("x/file")->is_directory());
  EXPECT_EQ(at("x/file/..")->ino(), at("x")->ino());
  remount();
  EXPECT_EQ(*read_all(*at("y/sub")), "f");
  EXPECT_EQ(at("x")->stat().nlink, 3u);
  EXPECT_EQ(at("y")->stat().nlink, 2u);
  expect_clean();
}

TEST_P(Ext4WriteTest, ManyNamesSplitTheHtreeAndFillLinearDirectories) {
  // "hashed" came indexed from e2fsck -D; "flat" is a new (linear) directory.
  create("", "flat", fs::VnodeType::directory);
  for (int i = 0; i < 1500; i++) {
    std::string name = "a-rather-long-file-name-to-fill-blocks-" + std::to_string(i);
    create("hashed", name);
    create("flat", name);
  }
  for (int i = 0; i < 1500; i += 3) {
    std::string name = "a-rather-long-file-name-to-fill-blocks-" + std::to_string(i);
    ASSERT_TRUE(at("hashed")->unlink(name));
    ASSERT_TRUE(at("flat")->unlink(name));
  }
  remount();
  for (const char* directory : {"hashed", "flat"}) {
    CollectingSink sink;
    uint64_t position = 0;
    ASSERT_TRUE(at(directory)->readdir(&position, sink));
    std::set<std::string> names(sink.names.begin(), sink.names.end());
    EXPECT_EQ(names.size(), sink.names.size());
    for (int i = 0; i < 1500; i++) {
      std::string name = "a-rather-long-file-name-to-fill-blocks-" + std::to_string(i);
      EXPECT_EQ(names.count(name), i % 3 ? 1u : 0u) << directory << "/" << name;
      if (i % 3) {
        EXPECT_TRUE(walk(m_fs->root(), std::string(directory) + "/" + name)) << name;
      }
    }
  }
  for (int i = 0; i < 400; i++) EXPECT_TRUE(walk(m_fs->root(), "hashed/name-" + std::to_string(i)));
  expect_clean();
}

TEST_P(Ext4WriteTest, AnUnlinkedOpenFileLivesUntilItsLastUser) {
  uint64_t inodes = m_fs->statfs().files_free;
  auto file = create("", "tmp");
  write(*file, 0, random_text(100000, 9));
  ASSERT_TRUE(at("")->unlink("tmp"));
  EXPECT_EQ(file->stat().nlink, 0u);
  EXPECT_EQ(read_all(*file)->size(), 100000u);  // still readable
  file = nullptr;
  ASSERT_TRUE(m_fs->sync());
  EXPECT_EQ(m_fs->statfs().files_free, inodes);
  expect_clean();
}

TEST_P(Ext4WriteTest, AttributesAndTimestamps) {
  auto file = create("", "attrs");
  fs::SetAttributes change;
  change.mask = fs::SetAttributes::mode | fs::SetAttributes::uid | fs::SetAttributes::mtime;
  change.mode_bits = 0600;
  change.uid_value = 100000;  // needs the high 16 bits
  change.mtime_ns = -5'000'000'001;  // before 1970
  ASSERT_TRUE(file->set_attributes(change));
  file = nullptr;
  remount();
  fs::Stat s = at("attrs")->stat();
  EXPECT_EQ(s.mode & 07777, 0600u);
  EXPECT_EQ(s.uid, 100000u);
  EXPECT_EQ(s.mtime_ns, -5'000'000'001);
  EXPECT_EQ(s.btime_ns, g_now);
  expect_clean();
}

TEST_P(Ext4WriteTest, FullDiskIsEnospcAndStaysConsistent) {
  auto file = create("", "filler");
  std::string chunk(1 << 20, 'z');
  uint64_t offset = 0;
  Result<size_t> written = 0;
  for (int i = 0; i < 64; i++) {
    written = file->write_at(&offset, as_bytes(chunk), {});
    if (!written) break;
    offset += *written;
    if (*written < chunk.size()) {
      // A short write: the next one finds the disk full.
      written = file->write_at(&offset, as_bytes(chunk), {});
      break;
    }
  }
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error(), Errno::enospc);
  EXPECT_EQ(file->stat().size, offset);
  file = nullptr;
  expect_clean();
  ASSERT_TRUE(at("")->unlink("filler"));
  expect_clean();
}

TEST(Ext4WriteMount, ARefusedWriteIsReadOnlyOrAClearError) {
  stdfs::path tree = make_temp_dir();
  write_file(tree / "f", "x");
  std::vector<std::byte> image = make_ext4_image(tree, "8M");
  stdfs::remove_all(tree);
  ASSERT_FALSE(image.empty());
  FakeBlockDevice read_only_device(image, true);
  const char* problem = nullptr;
  auto refused = Ext4Fs::try_mount(read_only_device, nullptr, &problem, Ext4Fs::Access::read_write);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), Errno::erofs);
  auto mounted = Ext4Fs::try_mount(read_only_device, nullptr, &problem);
  ASSERT_TRUE(mounted);
  std::unique_ptr<Ext4Fs> fs(*mounted);
  EXPECT_TRUE(fs->read_only());
  EXPECT_EQ(fs->root()->create("new", fs::NewNode{}).error(), Errno::erofs);
}

// mke2fs picks 1 KiB blocks for small file systems unless told: both sizes, explicitly.
// Through the page cache: writes stay in dirty pages until a sync writes them back (the block
// cache never sees file data), partial pages keep their old bytes, a small dirty limit writes
// back early, a shared-writable page is written at every write-back, truncate drops pages.
TEST_P(Ext4WriteTest, PageCacheWritesBackWhatTheDiskThenHolds) {
  if (!m_pages) GTEST_SKIP() << "without a page cache";
  std::string model = random_text(700000, 11);
  {
    auto file = create("", "paged.bin");
    for (size_t offset = 0; offset < model.size(); offset += 65536) write(*file, offset, model.substr(offset, 65536));
    EXPECT_GT(m_pages->dirty_count(), 100u);
    // Unaligned overwrites: the pages they touch only in part keep their other bytes.
    std::mt19937 random(3);
    for (int i = 0; i < 200; i++) {
      size_t offset = random() % (model.size() + 5000), length = 1 + random() % 9000;
      std::string piece = random_text(length, 100 + i);
      write(*file, offset, piece);
      if (offset + length > model.size()) model.resize(offset + length, '\0');
      model.replace(offset, length, piece);
    }
    EXPECT_EQ(m_fs->volume().cache().statistics().writes, 0u) << "no file data through the block cache";
    ASSERT_TRUE(m_fs->sync());
    EXPECT_EQ(m_pages->dirty_count(), 0u);
    m_pages->drop_clean();
    auto data = read_all(*file);
    ASSERT_TRUE(data);
    ASSERT_EQ(data->size(), model.size());
    EXPECT_EQ(memcmp(data->data(), model.data(), model.size()), 0);
    // Truncate into a page: its tail reads as zeros when the file grows again.
    ASSERT_TRUE(file->truncate(5000));
    ASSERT_TRUE(file->truncate(9000));
    model.resize(5000);
    model.resize(9000, '\0');
    // A small dirty limit: writers write pages back themselves.
    m_pages->dirty_limit = 8;
    size_t before = m_pages->handed_for_write_back;
    std::string more = random_text(200000, 12);
    write(*file, 9000, more);
    model += more;
    EXPECT_GT(m_pages->handed_for_write_back, before);
    EXPECT_LT(m_pages->dirty_count(), 9u);
    // A shared writable mapping's page: prepared (blocks mapped), changed behind the cache's
    // back, and written at the next write-back.
    auto sparse = create("", "mapped.bin");
    ASSERT_TRUE(sparse->truncate(3 * 4096));
    ASSERT_TRUE(sparse->prepare_shared_write(1));
    auto frame = sparse->take_cached_frame(1, true);
    ASSERT_TRUE(frame);
    memcpy(m_pages->page_data(*frame) + 100, "through a shared mapping", 24);
  }
  remount();
  auto data = read_all(*at("paged.bin"));
  ASSERT_TRUE(data);
  ASSERT_EQ(data->size(), model.size());
  EXPECT_EQ(memcmp(data->data(), model.data(), model.size()), 0);
  auto mapped = read_all(*at("mapped.bin"));
  ASSERT_TRUE(mapped);
  ASSERT_EQ(mapped->size(), 3u * 4096);
  EXPECT_EQ(memcmp(mapped->data() + 4096 + 100, "through a shared mapping", 24), 0);
  expect_clean();
}

// fallocate's punching and zeroing change data in place; the page cache's copies (dirty ones
// too) must not survive them, nor be lost by them outside the range.
TEST_P(Ext4WriteTest, PunchAndZeroRangeAreSeenThroughThePageCache) {
  std::string model = random_text(64 * 1024, 21);
  {
    auto file = create("", "punched.bin");
    write(*file, 0, model);
    ASSERT_TRUE(m_fs->sync());
    auto cached = read_all(*file);  // every page cached and clean
    ASSERT_TRUE(cached);
    std::string dirty = random_text(6000, 22);  // dirty pages in and past the range
    write(*file, 10000, dirty);
    model.replace(10000, dirty.size(), dirty);
    ASSERT_TRUE(file->allocate(fs::linux_abi::falloc_punch_hole | fs::linux_abi::falloc_keep_size, 3000, 9000));
    model.replace(3000, 9000, std::string(9000, '\0'));
    ASSERT_TRUE(file->allocate(fs::linux_abi::falloc_zero_range, 40000, 5000));
    model.replace(40000, 5000, std::string(5000, '\0'));
    auto data = read_all(*file);
    ASSERT_TRUE(data);
    ASSERT_EQ(data->size(), model.size());
    EXPECT_EQ(memcmp(data->data(), model.data(), model.size()), 0);
  }
  remount();
  auto data = read_all(*at("punched.bin"));
  ASSERT_TRUE(data);
  ASSERT_EQ(data->size(), model.size());
  EXPECT_EQ(memcmp(data->data(), model.data(), model.size()), 0);
  expect_clean();
}

// O_DIRECT: reads and writes go between the buffer and the disk, past the page cache, yet
// stay coherent with it both ways; misaligned requests are EINVAL as on Linux; sub-block
// writes keep (or zero) the rest of their blocks; the journal stays consistent.
struct AlignedBuffer {
  explicit AlignedBuffer(size_t size) : size(size), data(static_cast<std::byte*>(std::aligned_alloc(4096, size + 4096))) {}
  ~AlignedBuffer() { std::free(data); }
  std::span<std::byte> span(size_t offset = 0) { return {data + offset, size}; }
  std::string text() const { return {reinterpret_cast<const char*>(data), size}; }
  void fill(const std::string& text) { memcpy(data, text.data(), text.size()); }
  size_t size;
  std::byte* data;
};

size_t direct_write(fs::Vnode& file, uint64_t offset, const std::string& text, bool append = false) {
  AlignedBuffer buffer(text.size());
  buffer.fill(text);
  auto written = file.write_at(&offset, buffer.span(), fs::IoFlags{.append = append, .direct = true});
  EXPECT_TRUE(written) << (written ? 0 : static_cast<int>(written.error()));
  return written ? *written : 0;
}

std::string direct_read(fs::Vnode& file, uint64_t offset, size_t length) {
  AlignedBuffer buffer(length);
  auto read = file.read_at(offset, buffer.span(), fs::IoFlags{.direct = true});
  EXPECT_TRUE(read) << (read ? 0 : static_cast<int>(read.error()));
  return read ? buffer.text().substr(0, *read) : std::string();
}

TEST_P(Ext4WriteTest, DirectIoGoesPastThePageCacheAndStaysCoherentWithIt) {
  if (!m_pages) GTEST_SKIP() << "O_DIRECT needs the page cache (every kernel mount has it)";
  std::string model = random_text(256 * 1024, 31);
  {
    auto file = create("", "direct.bin");
    // Extending direct writes allocate blocks and leave nothing in the cache.
    for (size_t at = 0; at < model.size(); at += 64 * 1024) EXPECT_EQ(direct_write(*file, at, model.substr(at, 64 * 1024)), 64u * 1024);
    EXPECT_EQ(file->stat().size, model.size());
    EXPECT_EQ(m_pages->dirty_count(), 0u);
    EXPECT_EQ(m_pages->pages_read, 0u);
    EXPECT_EQ(m_fs->volume().cache().statistics().writes, 0u) << "no file data through the block cache";
    EXPECT_EQ(direct_read(*file, 0, model.size()), model);
    // What a buffered read then sees comes from the disk.
    auto buffered = read_all(*file);
    ASSERT_TRUE(buffered);
    EXPECT_EQ(*buffered, model);

    // A buffered write, then a direct read: the dirty pages are written back first.
    std::string piece = random_text(10000, 32);
    write(*file, 5000, piece);
    model.replace(5000, piece.size(), piece);
    EXPECT_GT(m_pages->dirty_count(), 0u);
    EXPECT_EQ(direct_read(*file, 4096, 16384), model.substr(4096, 16384));
    EXPECT_EQ(m_pages->dirty_count(), 0u);

    // A direct write over cached pages: buffered reads and a shared mapping's page see it.
    auto frame = file->take_cached_frame(3, true);
    ASSERT_TRUE(frame);
    std::string over = random_text(8192, 33);
    EXPECT_EQ(direct_write(*file, 3 * 4096, over), over.size());
    model.replace(3 * 4096, over.size(), over);
    EXPECT_EQ(memcmp(m_pages->page_data(*frame), over.data(), 4096), 0);
    buffered = read_all(*file);
    ASSERT_TRUE(buffered);
    EXPECT_EQ(*buffered, model);
    EXPECT_EQ(m_pages->dirty_count(), 0u) << "written to the disk before returning";

    // A direct write to uncached pages, then a buffered read and a mapping's page.
    m_pages->drop_clean();
    std::string fresh = random_text(4096, 34);
    EXPECT_EQ(direct_write(*file, 40 * 4096, fresh), fresh.size());
    model.replace(40 * 4096, fresh.size(), fresh);
    auto mapped = file->take_cached_frame(40, false);
    ASSERT_TRUE(mapped);
    EXPECT_EQ(memcmp(m_pages->page_data(*mapped), fresh.data(), 4096), 0);
    buffered = read_all(*file);
    ASSERT_TRUE(buffered);
    EXPECT_EQ(*buffered, model);
  }
  remount();
  auto data = read_all(*at("direct.bin"));
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, model);
  expect_clean();
}

TEST_P(Ext4WriteTest, DirectIoRefusesMisalignmentAndKeepsTheRestOfPartlyWrittenBlocks) {
  if (!m_pages) GTEST_SKIP() << "O_DIRECT needs the page cache (every kernel mount has it)";
  std::string model = random_text(32768, 41);
  auto file = create("", "aligned.bin");
  write(*file, 0, model);
  ASSERT_TRUE(m_fs->sync());
  m_pages->drop_clean();
  AlignedBuffer buffer(8192);
  uint64_t offset = 100;
  // Offset, length and the buffer's address must be multiples of 512 (the device's logical
  // block and DMA alignment), as iomap's direct I/O requires.
  EXPECT_EQ(file->read_at(100, buffer.span(), fs::IoFlags{.direct = true}).error(), Errno::einval);
  EXPECT_EQ(file->read_at(0, buffer.span().first(1000), fs::IoFlags{.direct = true}).error(), Errno::einval);
  EXPECT_EQ(file->read_at(0, buffer.span(8).first(4096), fs::IoFlags{.direct = true}).error(), Errno::einval);
  EXPECT_EQ(file->write_at(&offset, buffer.span(), fs::IoFlags{.direct = true}).error(), Errno::einval);
  offset = 0;
  EXPECT_EQ(file->write_at(&offset, buffer.span(256).first(4096), fs::IoFlags{.direct = true}).error(), Errno::einval);
  // At or past the end of the file, and empty: 0 before any check.
  auto at_end = file->read_at(model.size() + 100, buffer.span(), fs::IoFlags{.direct = true});
  ASSERT_TRUE(at_end);
  EXPECT_EQ(*at_end, 0u);
  // A read that runs past the end stops there.
  EXPECT_EQ(direct_read(*file, 28672, 8192), model.substr(28672));
  // 512-byte writes: into the middle of a written block (the rest stays), and into a hole
  // past the end (the rest of the new block reads as zeros, and so does the gap).
  std::string small = random_text(512, 42);
  EXPECT_EQ(direct_write(*file, 4096 + 1024, small), 512u);
  model.replace(4096 + 1024, 512, small);
  EXPECT_EQ(direct_write(*file, 65536 + 1536, small), 512u);
  model.resize(65536 + 1536, '\0');
  model += small;
  EXPECT_EQ(direct_read(*file, 0, 69632), model);
  // O_APPEND: at the (512-aligned) end.
  std::string tail = random_text(1024, 43);
  EXPECT_EQ(direct_write(*file, 0, tail, /*append=*/true), 1024u);
  model += tail;
  auto data = read_all(*file);
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, model);
  // An unaligned end makes O_APPEND direct writes EINVAL.
  write(*file, model.size(), "x");
  model += "x";
  offset = 0;
  EXPECT_EQ(file->write_at(&offset, buffer.span().first(512), fs::IoFlags{.append = true, .direct = true}).error(),
            Errno::einval);
  file = RefPtr<fs::Vnode>();  // every vnode goes before the unmount
  remount();
  data = read_all(*at("aligned.bin"));
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, model);
  expect_clean();
}

// A BufferPinner over host memory, as the kernel's pins a program's pages: each buffer comes
// in pieces that end at every 4 KiB boundary (frames scattered in physical memory), so a block
// of a buffer that is not page-aligned spans two pieces. It counts what it holds, and refuses
// as told.
class PagePiecesPinner final : public fs::BufferPinner {
 public:
  Result<fs::PinnedMemory> pin(std::span<const std::byte> buffer, fs::DeviceAccess access,
                               std::span<fs::MemoryPiece> pieces) override {
    if (refusal) return error(*refusal);
    size_t used = 0;
    for (size_t done = 0; done < buffer.size();) {
      auto* at = const_cast<std::byte*>(buffer.data() + done);
      size_t to_boundary = 4096 - reinterpret_cast<uintptr_t>(at) % 4096;
      size_t length = buffer.size() - done < to_boundary ? buffer.size() - done : to_boundary;
      EXPECT_LT(used, pieces.size());
      if (used == pieces.size()) return error(Errno::einval);
      pieces[used++] = {at, length};
      done += length;
    }
    pins[access == fs::DeviceAccess::writes]++;
    held_bytes += buffer.size();
    return fs::PinnedMemory{used, this};
  }
  void unpin(std::span<const fs::MemoryPiece> pieces, void* holder) override {
    EXPECT_EQ(holder, this);
    for (const fs::MemoryPiece& piece : pieces) held_bytes -= piece.length;
  }

  std::optional<Errno> refusal;
  size_t pins[2] = {};  // for the device to read, to write
  size_t held_bytes = 0;
};

// Installs a pinner for one test.
struct InstalledPinner {
  explicit InstalledPinner(fs::BufferPinner& pinner) { fs::set_buffer_pinner(&pinner); }
  ~InstalledPinner() { fs::set_buffer_pinner(nullptr); }
};

// Direct I/O into and out of the program's pinned pages (the kernel's path): byte-exact from
// and into page-aligned and straddling buffers, through cached pages, at the end of the file;
// what cannot be pinned is copied; a bad buffer is EFAULT; every pin is let go.
TEST_P(Ext4WriteTest, DirectIoIntoPinnedPagesIsByteExact) {
  if (!m_pages) GTEST_SKIP() << "O_DIRECT needs the page cache (every kernel mount has it)";
  PagePiecesPinner pinner;
  InstalledPinner installed(pinner);
  std::string model = random_text(3 * 1024 * 1024 + 8192, 51);
  {
    auto file = create("", "pinned.bin");
    // Extending writes from page-aligned buffers, larger than one pinned chunk (2 MiB).
    EXPECT_EQ(direct_write(*file, 0, model.substr(0, 3 * 1024 * 1024)), 3u * 1024 * 1024);
    EXPECT_GT(pinner.pins[0], 1u);
    // From a buffer 1536 bytes into a page: every block spans two pieces.
    AlignedBuffer straddling(8192);
    memcpy(straddling.data + 1536, model.data() + 3 * 1024 * 1024, 8192);
    uint64_t offset = 3 * 1024 * 1024;
    auto written = file->write_at(&offset, straddling.span(1536), fs::IoFlags{.direct = true});
    ASSERT_TRUE(written);
    EXPECT_EQ(*written, 8192u);
    EXPECT_EQ(m_pages->pages_read, 0u);
    EXPECT_EQ(direct_read(*file, 0, model.size()), model);
    // Into a straddling buffer.
    AlignedBuffer into(65536);
    auto read = file->read_at(1 << 20, into.span(512), fs::IoFlags{.direct = true});
    ASSERT_TRUE(read);
    EXPECT_EQ(*read, 65536u);
    EXPECT_EQ(memcmp(into.data + 512, model.data() + (1 << 20), 65536), 0);
    EXPECT_GT(pinner.pins[1], 1u);

    // Over cached pages: written through them, which a mapping's page shows.
    auto frame = file->take_cached_frame(5, true);
    ASSERT_TRUE(frame);
    std::string over = random_text(3 * 4096, 52);
    EXPECT_EQ(direct_write(*file, 4 * 4096, over), over.size());
    model.replace(4 * 4096, over.size(), over);
    EXPECT_EQ(memcmp(m_pages->page_data(*frame), over.data() + 4096, 4096), 0);

    // The end of the file inside a block: the read stops there.
    write(*file, model.size(), "tail");
    model += "tail";
    EXPECT_EQ(direct_read(*file, model.size() - 4 - 8192, 16384), model.substr(model.size() - 4 - 8192));

    // Memory that cannot be pinned is copied through the bounce buffer.
    pinner.refusal = Errno::eopnotsupp;
    std::string copied = random_text(8192, 53);
    EXPECT_EQ(direct_write(*file, 8192, copied), copied.size());
    model.replace(8192, copied.size(), copied);
    EXPECT_EQ(direct_read(*file, 0, 65536), model.substr(0, 65536));
    // A buffer the program may not use is EFAULT, and nothing is written.
    pinner.refusal = Errno::efault;
    offset = 0;
    EXPECT_EQ(file->write_at(&offset, into.span().first(4096), fs::IoFlags{.direct = true}).error(), Errno::efault);
    EXPECT_EQ(file->read_at(0, into.span().first(4096), fs::IoFlags{.direct = true}).error(), Errno::efault);
    pinner.refusal.reset();
    EXPECT_EQ(pinner.held_bytes, 0u);
  }
  remount();
  auto data = read_all(*at("pinned.bin"));
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, model);
  expect_clean();
}

std::string variant_name(const ::testing::TestParamInfo<const char*>& info) {
  static const char* const kNames[] = {"Default", "Block1024", "PageCache", "PageCacheBlock1024"};
  return kNames[info.index];
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, Ext4WriteTest,
                         ::testing::Values("-b 4096", "-b 1024", "pages:-b 4096", "pages:-b 1024"), variant_name);

}  // namespace
}  // namespace nimbus::testing
