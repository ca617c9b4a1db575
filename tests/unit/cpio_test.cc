// Tests for the cpio newc unpacker: valid archives built by a small writer, every kind of
// malformed archive, and fuzz-like sweeps (every truncation, byte flips) run under ASan.
#include "kernel/fs/cpio.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "kernel/fs/path_walk.h"
#include "tests/unit/fakes/cpio_builder.h"
#include "tests/unit/fakes/fs_test_support.h"

namespace nimbus::fs {
namespace {

using namespace testing;
using namespace linux_abi;

// An archive in a heap block of exactly its size, so ASan catches any overread.
struct Archive {
  explicit Archive(const std::string& text) : size(text.size()), bytes(new std::byte[text.size() ? text.size() : 1]) {
    memcpy(bytes.get(), text.data(), text.size());
  }
  std::span<const std::byte> span() const { return {bytes.get(), size}; }
  size_t size;
  std::unique_ptr<std::byte[]> bytes;
};

class CpioTest : public RamFsTest {
 protected:
  Result<RefPtr<Vnode>> resolve(std::string_view path, PathWalk::Follow follow = PathWalk::Follow::no) {
    PathWalk walk(mounts, root);
    return walk.resolve(root, path, follow);
  }
  RefPtr<Vnode> node(std::string_view path) {
    auto found = resolve(path);
    EXPECT_TRUE(found) << path;
    return found ? *found : nullptr;
  }
  CpioError unpack_error(const std::string& text, Errno expected = Errno::einval) {
    Archive archive(text);
    CpioError error;
    auto result = unpack_cpio(fs, archive.span(), &error);
    EXPECT_FALSE(result);
    if (!result) {
      EXPECT_EQ(result.error(), expected);
    }
    EXPECT_NE(error.reason, nullptr);
    return error;
  }

  MountTable mounts;
};

TEST_F(CpioTest, UnpacksDirectoriesFilesAndSymlinks) {
  CpioBuilder builder;
  builder.directory(".", 0700, 5)
      .directory("bin", 0755, 1000)
      .file("bin/hello", "#!/bin/sh\necho hi\n", 0755, 2000)
      .directory("etc")
      .file("etc/empty", "", 0600)
      .symlink("sbin", "bin")
      .symlink("etc/abs", "/bin/hello")
      .trailer();
  Archive archive(builder.text());
  CpioError error;
  ASSERT_TRUE(unpack_cpio(fs, archive.span(), &error)) << error.reason;

  RefPtr<Vnode> hello = node("/bin/hello");
  Stat stat = hello->stat();
  EXPECT_EQ(stat.mode, s_ifreg | 0755);
  EXPECT_EQ(stat.size, 18u);
  EXPECT_EQ(stat.mtime_ns, 2000'000'000'000);
  EXPECT_EQ(read_string(*hello, 0, 100), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(node("/etc/empty")->stat().mode, s_ifreg | 0600);
  EXPECT_EQ(node("/etc/empty")->stat().size, 0u);
  EXPECT_EQ(node("/sbin")->link_target(), std::string_view("bin"));
  EXPECT_EQ(*resolve("/etc/abs", PathWalk::Follow::yes), hello);
  // Directory times are set last, so creating their entries does not disturb them.
  EXPECT_EQ(node("/bin")->stat().mtime_ns, 1000'000'000'000);
  EXPECT_EQ(root->stat().mode, s_ifdir | 0700);
  EXPECT_EQ(root->stat().mtime_ns, 5'000'000'000);
  // File bytes are borrowed from the archive, not copied.
  EXPECT_EQ(pages.outstanding(), 0u);
  EXPECT_EQ(list_directory(*root), (std::vector<std::string>{".", "..", "bin", "etc", "sbin"}));
}

TEST_F(CpioTest, WritingABorrowedFileCopiesOnlyThatPage) {
  std::string big(3 * kPageSize, 'B');
  Archive archive(CpioBuilder().file("big", big).trailer().text());
  ASSERT_TRUE(unpack_cpio(fs, archive.span()));
  RefPtr<Vnode> file = node("/big");
  write_string(*file, kPageSize, "x");
  EXPECT_EQ(pages.outstanding(), 2u);
  std::string expected = big;
  expected[kPageSize] = 'x';
  EXPECT_EQ(read_string(*file, 0, big.size()), expected);
  EXPECT_EQ(memcmp(archive.bytes.get() + 116, big.data(), big.size()), 0);  // archive untouched
}

TEST_F(CpioTest, CreatesMissingParentsAndNormalizesNames) {
  Archive archive(CpioBuilder()
                      .file("./usr/lib/python3/os.py", "import sys")
                      .file("/usr//share/./doc/x", "y")
                      .directory("usr/lib/")
                      .trailer()
                      .text());
  ASSERT_TRUE(unpack_cpio(fs, archive.span()));
  EXPECT_EQ(read_string(*node("/usr/lib/python3/os.py"), 0, 100), "import sys");
  EXPECT_EQ(read_string(*node("/usr/share/doc/x"), 0, 100), "y");
  EXPECT_EQ(node("/usr/lib/python3")->stat().mode, s_ifdir | 0755);
}

TEST_F(CpioTest, FollowsSymlinkedParentsLikeAMergedUsr) {
  Archive archive(CpioBuilder()
                      .directory("usr/lib")
                      .symlink("lib", "usr/lib")
                      .file("lib/libc.so.6", "ELF")
                      .trailer()
                      .text());
  ASSERT_TRUE(unpack_cpio(fs, archive.span()));
  EXPECT_EQ(read_string(*node("/usr/lib/libc.so.6"), 0, 10), "ELF");
}

TEST_F(CpioTest, LaterEntriesReplaceEarlierOnes) {
  Archive archive(CpioBuilder()
                      .file("a", "first")
                      .file("a", "second")
                      .symlink("b", "a")
                      .file("b", "now a file")
                      .directory("c")
                      .directory("c", 0700)
                      .directory("d")
                      .file("d", "file instead of an empty directory")
                      .trailer()
                      .text());
  ASSERT_TRUE(unpack_cpio(fs, archive.span()));
  EXPECT_EQ(read_string(*node("/a"), 0, 100), "second");
  EXPECT_EQ(read_string(*node("/b"), 0, 100), "now a file");
  EXPECT_EQ(node("/c")->stat().mode, s_ifdir | 0700);
  EXPECT_TRUE(node("/d")->is_regular());
}

TEST_F(CpioTest, HardLinksBecomeOneFile) {
  Archive archive(CpioBuilder()
                      .entry("x", s_ifreg | 0644, "", {.nlink = 2, .ino = 7})
                      .entry("y", s_ifreg | 0644, "shared", {.nlink = 2, .ino = 7})
                      .trailer()
                      .text());
  ASSERT_TRUE(unpack_cpio(fs, archive.span()));
  EXPECT_EQ(node("/x"), node("/y"));
  EXPECT_EQ(node("/x")->stat().nlink, 2u);
  EXPECT_EQ(read_string(*node("/x"), 0, 100), "shared");
}

TEST_F(CpioTest, DeviceNodesFifosOwnersAndTheCrcMagic) {
  Archive archive(CpioBuilder()
                      .entry("console", s_ifchr | 0600, "", {.rdev_major = 5, .rdev_minor = 1})
                      .entry("fifo", s_ififo | 0644, "", {.magic = "070702"})
                      .entry("owned", s_ifreg | 0640, "z", {.uid = 1000, .gid = 100})
                      .trailer()
                      .text());
  ASSERT_TRUE(unpack_cpio(fs, archive.span()));
  Stat console = node("/console")->stat();
  EXPECT_EQ(console.mode, s_ifchr | 0600);
  EXPECT_EQ(console.rdev_major, 5u);
  EXPECT_EQ(console.rdev_minor, 1u);
  EXPECT_EQ(node("/fifo")->type(), VnodeType::fifo);
  EXPECT_EQ(node("/owned")->stat().uid, 1000u);
  EXPECT_EQ(node("/owned")->stat().gid, 100u);
}

TEST_F(CpioTest, ConcatenatedArchivesAreAllUnpacked) {
  std::string first = CpioBuilder().file("one", "1").trailer().text();
  std::string second = CpioBuilder().file("two", "2").trailer().text();
  Archive archive(first + std::string(512, '\0') + second + std::string(100, '\0'));
  ASSERT_TRUE(unpack_cpio(fs, archive.span()));
  EXPECT_TRUE(node("/one"));
  EXPECT_TRUE(node("/two"));
}

TEST_F(CpioTest, RefusesMalformedArchives) {
  std::string valid = CpioBuilder().file("f", "data").trailer().text();
  auto with = [&](size_t at, const std::string& bytes) {
    std::string text = valid;
    text.replace(at, bytes.size(), bytes);
    return text;
  };
  EXPECT_STREQ(unpack_error("").reason, "truncated header");
  EXPECT_STREQ(unpack_error(with(0, "070707")).reason, "bad magic");
  EXPECT_STREQ(unpack_error(with(0, "170701")).reason, "bad magic");
  EXPECT_STREQ(unpack_error(with(6 + 8 * 6, "0000000g")).reason, "non-hex header field");
  EXPECT_STREQ(unpack_error(with(6 + 8 * 6, " 0000001")).reason, "non-hex header field");
  EXPECT_STREQ(unpack_error(with(6 + 8 * 11, "00000000")).reason, "empty name");
  EXPECT_STREQ(unpack_error(with(6 + 8 * 11, "FFFFFFFF")).reason, "name too long");
  EXPECT_STREQ(unpack_error(with(6 + 8 * 11, "00000001")).reason, "name without NUL");
  EXPECT_STREQ(unpack_error(with(6 + 8 * 6, "FFFFFFFF")).reason, "truncated data");
  EXPECT_STREQ(unpack_error(valid.substr(0, 112)).reason, "truncated data");
  EXPECT_STREQ(unpack_error(valid.substr(0, 111)).reason, "truncated name");
  EXPECT_STREQ(unpack_error(valid.substr(0, 50)).reason, "truncated header");
  EXPECT_STREQ(unpack_error(CpioBuilder().file("f", "data").text()).reason, "no TRAILER!!! entry");
  EXPECT_STREQ(unpack_error(valid + "junk").reason, "truncated header");
  EXPECT_STREQ(unpack_error(valid + std::string(200, 'j')).reason, "bad magic");

  EXPECT_STREQ(unpack_error(CpioBuilder().file("../etc/passwd", "x").trailer().text()).reason, "path with ..");
  EXPECT_STREQ(unpack_error(CpioBuilder().file("a/../../x", "x").trailer().text()).reason, "path with ..");
  EXPECT_STREQ(unpack_error(CpioBuilder().entry("f", 0, "x").trailer().text()).reason, "unknown file type");
  EXPECT_STREQ(unpack_error(CpioBuilder().file(".", "x").trailer().text()).reason, "root entry is not a directory");
  EXPECT_STREQ(unpack_error(CpioBuilder().file(std::string(256, 'n'), "x").trailer().text()).reason,
               "name component too long");
  EXPECT_STREQ(unpack_error(CpioBuilder().file("f", "x").file("f/g", "y").trailer().text()).reason,
               "parent is not a directory");
  EXPECT_STREQ(unpack_error(CpioBuilder().symlink("l", "").trailer().text()).reason, "empty symlink target");
  EXPECT_STREQ(unpack_error(CpioBuilder().symlink("l", std::string("a\0b", 3)).trailer().text()).reason,
               "NUL inside symlink target");
  EXPECT_STREQ(unpack_error(CpioBuilder().file(std::string("a\0b", 3), "x").trailer().text()).reason,
               "NUL inside name");
  EXPECT_STREQ(unpack_error(CpioBuilder().directory("d").file("d/x", "1").file("d", "2").trailer().text()).reason,
               "entry replaces a non-empty directory");
}

TEST_F(CpioTest, ErrorsSayWhere) {
  std::string text = CpioBuilder().file("ok", "1").file("../bad", "2").trailer().text();
  CpioError error = unpack_error(text);
  // The second header: 110 + "ok\0" padded to 116, one byte of data padded to 120.
  EXPECT_EQ(error.offset, 120u);
}

// Every prefix of a valid archive that cuts it before the end of the trailer's name is
// refused cleanly, and none reads a byte past its end.
TEST(CpioFuzz, EveryTruncationIsRefused) {
  std::string big(5000, 'q');
  std::string text = CpioBuilder()
                         .directory(".")
                         .directory("d")
                         .file("d/small", "abc")
                         .file("d/big", big)
                         .symlink("d/link", "small")
                         .entry("d/dev", s_ifchr | 0600, "", {.rdev_major = 1, .rdev_minor = 3})
                         .trailer()
                         .text();
  // The trailer: a 110-byte header and "TRAILER!!!\0", padded to 124 bytes; without its
  // padding the archive is still complete.
  size_t complete = text.size() - 124 + 121;
  for (size_t length = 0; length < text.size(); length++) {
    Archive archive(text.substr(0, length));
    FakePageAllocator pages;
    RamFs fs(pages, fake_clock);
    ASSERT_TRUE(fs.init());
    CpioError error;
    auto result = unpack_cpio(fs, archive.span(), &error);
    if (length >= complete) {
      EXPECT_TRUE(result) << length;
      continue;
    }
    ASSERT_FALSE(result) << length;
    EXPECT_EQ(result.error(), Errno::einval) << length;
    ASSERT_NE(error.reason, nullptr) << length;
    EXPECT_LE(error.offset, length) << length;
  }
}

// Flipping bytes anywhere must end in success or a clean error; ASan and UBSan watch.
TEST(CpioFuzz, ByteFlipsNeverCrash) {
  std::string text = CpioBuilder()
                         .directory("d", 0755, 77)
                         .file("d/f", "contents of f")
                         .symlink("d/l", "../d/f")
                         .entry("d/h1", s_ifreg | 0644, "", {.nlink = 2, .ino = 9})
                         .entry("d/h2", s_ifreg | 0644, "linked", {.nlink = 2, .ino = 9})
                         .trailer()
                         .text();
  const unsigned char replacements[] = {0x00, 0xff, '0', '7', 'F', 'g', '/', '.', 0x80};
  size_t failures = 0;
  for (size_t at = 0; at < text.size(); at++) {
    for (unsigned char value : replacements) {
      std::string mutated = text;
      if (static_cast<unsigned char>(mutated[at]) == value) continue;
      mutated[at] = static_cast<char>(value);
      Archive archive(mutated);
      FakePageAllocator pages;
      RamFs fs(pages, fake_clock);
      ASSERT_TRUE(fs.init());
      CpioError error;
      auto result = unpack_cpio(fs, archive.span(), &error);
      if (!result) {
        failures++;
        ASSERT_NE(error.reason, nullptr) << at;
      } else {
        // Whatever was unpacked can be walked and read.
        CollectingSink sink;
        uint64_t position = 0;
        EXPECT_TRUE(fs.root()->readdir(&position, sink));
      }
    }
  }
  EXPECT_GT(failures, 0u);
}

TEST(CpioFuzz, RandomGarbageIsRefused) {
  uint64_t state = 12345;
  for (int round = 0; round < 500; round++) {
    std::string text;
    size_t length = state % 700;
    for (size_t i = 0; i < length; i++) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      text += static_cast<char>(state >> 56);
    }
    // Half the rounds start like a header, to get past the magic.
    if (round % 2 && text.size() >= 6) text.replace(0, 6, "070701");
    Archive archive(text);
    FakePageAllocator pages;
    RamFs fs(pages, fake_clock);
    ASSERT_TRUE(fs.init());
    CpioError error;
    auto result = unpack_cpio(fs, archive.span(), &error);
    EXPECT_FALSE(result);
    if (!result) {
      EXPECT_NE(error.reason, nullptr);
    }
  }
}

}  // namespace
}  // namespace nimbus::fs
