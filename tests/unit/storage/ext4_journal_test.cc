// The jbd2 journal of our ext4: replay at mount of transactions that Debian's debugfs wrote
// (compared block by block with debugfs's own replay), revoke records, torn and corrupt
// transactions, our own ordered-mode commit replayed after a simulated crash (by us and by
// e2fsprogs, which must agree), and journals this implementation refuses.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "kernel/fs/ext4/ext4_fs.h"
#include "kernel/fs/ext4/journal.h"
#include "tests/unit/fakes/fake_block_device.h"
#include "tests/unit/storage/ext4_image.h"

namespace nimbus::testing {
namespace {

namespace stdfs = std::filesystem;
using fs::ext4::Ext4Fs;

int64_t g_now = 1'700'000'000'000'000'000;
int64_t test_clock() { return g_now; }

constexpr size_t kBlock = 1024;  // the images below: 32 MiB, so mke2fs picks 1 KiB blocks

// Runs a shell command: its exit status and output.
int run(const std::string& command, std::string* output = nullptr) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  char buffer[512];
  std::string text;
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) text.append(buffer, n);
  int status = pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void save(const stdfs::path& path, const std::vector<std::byte>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::span<const std::byte> as_bytes(const std::string& text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

class Ext4JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = make_temp_dir();
    ASSERT_FALSE(m_dir.empty());
    write_file(m_dir / "tree/hello.txt", "hello\n");
    m_image = m_dir / "fs.img";
    std::vector<std::byte> bytes = make_ext4_image(m_dir / "tree", "32M");
    ASSERT_FALSE(bytes.empty()) << "mke2fs failed (e2fsprogs installed?)";
    save(m_image, bytes);
    // Three blocks of random bytes for debugfs to log.
    std::mt19937 random(42);
    m_payload.resize(3 * kBlock);
    for (char& c : m_payload) c = static_cast<char>(random());
    write_file(m_dir / "payload", m_payload);
  }
  void TearDown() override { stdfs::remove_all(m_dir); }

  // Has debugfs open the image's journal (checksums v3) and run `requests` (one a line).
  void debugfs_journal(const std::string& requests) {
    std::ofstream(m_dir / "requests") << "jo -c\n" << requests << "jc\n";
    std::string output;
    ASSERT_EQ(run("debugfs -w -f '" + (m_dir / "requests").string() + "' '" + m_image.string() + "'", &output), 0)
        << output;
  }
  // The disk block of journal block `log_block` (debugfs bmap of inode 8).
  uint64_t journal_block(uint32_t log_block) {
    std::string output;
    EXPECT_EQ(run("debugfs -R 'bmap <8> " + std::to_string(log_block) + "' '" + m_image.string() + "'", &output), 0);
    // The last line holds the number (debugfs prints its banner first).
    size_t start = output.find_last_not_of("\n");
    start = start == std::string::npos ? 0 : output.rfind('\n', start);
    return std::strtoull(output.c_str() + (start == std::string::npos ? 0 : start + 1), nullptr, 10);
  }
  // e2fsprogs' replay of the image (debugfs journal_run) into another file.
  std::vector<std::byte> reference_replay(const std::vector<std::byte>& image) {
    stdfs::path copy = m_dir / "reference.img";
    save(copy, image);
    std::string output;
    EXPECT_EQ(run("debugfs -w -R jr '" + copy.string() + "'", &output), 0) << output;
    return read_bytes(copy);
  }
  // Mounts `bytes` as a device (replaying its journal): the file system, or the error.
  Result<Ext4Fs*> mount(FakeBlockDevice& device, const char** problem,
                        Ext4Fs::Access access = Ext4Fs::Access::read_only) {
    return Ext4Fs::try_mount(device, test_clock, problem, access);
  }
  int fsck(const std::vector<std::byte>& image, std::string* output) {
    stdfs::path copy = m_dir / "check.img";
    save(copy, image);
    return run("e2fsck -fn '" + copy.string() + "'", output);
  }
  std::vector<std::byte> block_of(const std::vector<std::byte>& image, uint64_t number) {
    return {image.begin() + number * kBlock, image.begin() + (number + 1) * kBlock};
  }
  std::vector<std::byte> payload_block(size_t index) {
    auto* p = reinterpret_cast<const std::byte*>(m_payload.data()) + index * kBlock;
    return {p, p + kBlock};
  }
  // The blocks where two images differ, but for the superblock's (block 1: its write time
  // and flags differ between implementations) and the journal superblock's.
  std::vector<uint64_t> differing_blocks(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
    std::vector<uint64_t> blocks;
    uint64_t journal_super = journal_block(0);
    for (uint64_t n = 0; n < a.size() / kBlock; n++) {
      if (n == 1 || n == journal_super) continue;
      if (memcmp(a.data() + n * kBlock, b.data() + n * kBlock, kBlock)) blocks.push_back(n);
    }
    return blocks;
  }

  stdfs::path m_dir, m_image;
  std::string m_payload;
};

TEST_F(Ext4JournalTest, ReplaysDebugfsTransactionsWithRevokeLikeE2fsprogs) {
  // T1 logs 20000 and 20001; T2 revokes 20000; T3 logs 20002.
  debugfs_journal(
      "jw -b 20000,20001 " + (m_dir / "payload").string() + "\njw -r 20000 /dev/null\njw -b 20002 " +
      (m_dir / "payload").string() + "\n");
  std::vector<std::byte> before = read_bytes(m_image);
  std::vector<std::byte> expected = reference_replay(before);
  FakeBlockDevice device(before, false);
  const char* problem = nullptr;
  auto mounted = mount(device, &problem);
  ASSERT_TRUE(mounted) << problem;
  EXPECT_EQ((*mounted)->volume().replayed_transactions(), 3u);
  delete *mounted;
  std::vector<std::byte>& after = device.bytes();
  EXPECT_EQ(block_of(after, 20000), block_of(before, 20000)) << "a revoked block was replayed";
  EXPECT_EQ(block_of(after, 20001), payload_block(1));
  EXPECT_EQ(block_of(after, 20002), payload_block(0));
  EXPECT_EQ(differing_blocks(after, expected), std::vector<uint64_t>{});
  std::string output;
  EXPECT_EQ(fsck(after, &output), 0) << output;
  EXPECT_EQ(output.find("recovery"), std::string::npos) << output;
}

TEST_F(Ext4JournalTest, ATornCommitEndsTheLog) {
  debugfs_journal("jw -b 20000,20001 " + (m_dir / "payload").string() + "\njw -b 20002 " +
                  (m_dir / "payload").string() + "\n");
  // Log: 1 descriptor, 2-3 copies, 4 commit (T1); 5 descriptor, 6 copy, 7 commit (T2).
  std::vector<std::byte> image = read_bytes(m_image);
  uint64_t commit = journal_block(7);
  image[commit * kBlock + 100] ^= std::byte{0x5a};  // a torn write: the checksum fails
  FakeBlockDevice device(image, false);
  const char* problem = nullptr;
  auto mounted = mount(device, &problem);
  ASSERT_TRUE(mounted) << problem;
  EXPECT_EQ((*mounted)->volume().replayed_transactions(), 1u);
  delete *mounted;
  EXPECT_EQ(block_of(device.bytes(), 20000), payload_block(0));
  EXPECT_EQ(block_of(device.bytes(), 20002), block_of(image, 20002)) << "an uncommitted block was replayed";
  std::string output;
  EXPECT_EQ(fsck(device.bytes(), &output), 0) << output;
}

TEST_F(Ext4JournalTest, AnUncommittedTransactionIsNotReplayed) {
  debugfs_journal("jw -b 20000 -c " + (m_dir / "payload").string() + "\n");
  std::vector<std::byte> image = read_bytes(m_image);
  FakeBlockDevice device(image, false);
  const char* problem = nullptr;
  auto mounted = mount(device, &problem);
  ASSERT_TRUE(mounted) << problem;
  EXPECT_EQ((*mounted)->volume().replayed_transactions(), 0u);
  delete *mounted;
  EXPECT_EQ(block_of(device.bytes(), 20000), block_of(image, 20000));
}

TEST_F(Ext4JournalTest, ACorruptCopyInACommittedTransactionRefusesTheMount) {
  debugfs_journal("jw -b 20000,20001 " + (m_dir / "payload").string() + "\n");
  std::vector<std::byte> image = read_bytes(m_image);
  image[journal_block(3) * kBlock + 10] ^= std::byte{1};
  FakeBlockDevice device(image, false);
  const char* problem = nullptr;
  auto mounted = mount(device, &problem);
  ASSERT_FALSE(mounted);
  EXPECT_EQ(mounted.error(), Errno::ebadmsg);
  EXPECT_NE(std::string(problem).find("checksum"), std::string::npos) << problem;
}

TEST_F(Ext4JournalTest, RecoveryOnAReadOnlyDeviceIsAClearError) {
  debugfs_journal("jw -b 20000 " + (m_dir / "payload").string() + "\n");
  FakeBlockDevice device(read_bytes(m_image), true);
  const char* problem = nullptr;
  auto mounted = mount(device, &problem);
  ASSERT_FALSE(mounted);
  EXPECT_EQ(mounted.error(), Errno::erofs);
  EXPECT_NE(std::string(problem).find("recovery"), std::string::npos) << problem;
}

TEST_F(Ext4JournalTest, UnknownOrCorruptJournalsAreRefused) {
  std::vector<std::byte> image = read_bytes(m_image);
  uint64_t super = journal_block(0);
  struct Case {
    size_t offset;
    uint8_t value;
    Errno expected;
  };
  // 0x28: the incompat features (big-endian; byte 0x2b is the lowest); 0x0: the magic.
  for (Case c : {Case{0x2b, 0x20, Errno::eopnotsupp}, Case{0x2a, 0x80, Errno::eopnotsupp}, Case{0x0, 0x00, Errno::einval},
                 Case{0x10, 0xff, Errno::einval}}) {
    std::vector<std::byte> broken = image;
    broken[super * kBlock + c.offset] = std::byte{c.value};
    FakeBlockDevice device(broken, false);
    const char* problem = nullptr;
    auto mounted = mount(device, &problem);
    ASSERT_FALSE(mounted) << c.offset;
    EXPECT_EQ(mounted.error(), c.expected) << problem;
  }
}

TEST_F(Ext4JournalTest, OurCommitReplaysAfterACrashLikeE2fsprogsReplaysIt) {
  std::vector<std::byte> image = read_bytes(m_image);
  FakeBlockDevice device(image, false);
  const char* problem = nullptr;
  auto mounted = mount(device, &problem, Ext4Fs::Access::read_write);
  ASSERT_TRUE(mounted) << problem;
  std::unique_ptr<Ext4Fs> fs(*mounted);
  std::string text(5000, 'j');
  {
    fs::NewNode node;
    node.type = fs::VnodeType::regular;
    node.permissions = 0644;
    auto file = fs->root()->create("journaled.txt", node);
    ASSERT_TRUE(file);
    uint64_t offset = 0;
    ASSERT_TRUE((*file)->write_at(&offset, as_bytes(text), {}));
    auto dir = fs->root()->create("subdir", fs::NewNode{.type = fs::VnodeType::directory, .permissions = 0755});
    ASSERT_TRUE(dir);
  }
  fs->volume().journal()->set_stop_before_checkpoint(true);
  ASSERT_TRUE(fs->sync());
  EXPECT_EQ(fs->volume().journal()->commits(), 1u);
  // The power goes here: the transaction is committed, nothing is in place yet.
  std::vector<std::byte> crashed = device.bytes();
  fs->volume().set_writable(false);  // the crashed mount writes nothing more
  fs.reset();

  std::vector<std::byte> expected = reference_replay(crashed);
  FakeBlockDevice after_crash(crashed, false);
  mounted = mount(after_crash, &problem);
  ASSERT_TRUE(mounted) << problem;
  EXPECT_EQ((*mounted)->volume().replayed_transactions(), 1u);
  {
    auto file = walk((*mounted)->root(), "journaled.txt");
    ASSERT_TRUE(file);
    EXPECT_EQ(*read_all(**file), text);
    EXPECT_TRUE(walk((*mounted)->root(), "subdir"));
  }
  delete *mounted;
  EXPECT_EQ(differing_blocks(after_crash.bytes(), expected), std::vector<uint64_t>{});
  std::string output;
  EXPECT_EQ(fsck(after_crash.bytes(), &output), 0) << output;
  EXPECT_EQ(fsck(expected, &output), 0) << output;
}

TEST_F(Ext4JournalTest, ACleanUnmountLeavesNoRecoveryAndAnEmptyJournal) {
  FakeBlockDevice device(read_bytes(m_image), false);
  const char* problem = nullptr;
  auto mounted = mount(device, &problem, Ext4Fs::Access::read_write);
  ASSERT_TRUE(mounted) << problem;
  {
    std::unique_ptr<Ext4Fs> fs(*mounted);
    auto file = fs->root()->create("a", fs::NewNode{.type = fs::VnodeType::regular, .permissions = 0644});
    ASSERT_TRUE(file);
    ASSERT_TRUE(fs->sync());
    EXPECT_EQ(fs->volume().journal()->commits(), 1u);
  }
  save(m_image, device.bytes());
  std::string output;
  ASSERT_EQ(run("dumpe2fs -h '" + m_image.string() + "'", &output), 0);
  EXPECT_EQ(output.find("needs_recovery"), std::string::npos) << output;
  EXPECT_NE(output.find("Journal start:            0"), std::string::npos) << output;
  EXPECT_NE(output.find("journal_checksum_v3"), std::string::npos) << output;
  EXPECT_EQ(fsck(device.bytes(), &output), 0) << output;
}

}  // namespace
}  // namespace nimbus::testing
