// Tests for File: offsets, O_APPEND, positioned and vectored I/O, lseek, getdents64's exact
// record layout and resumption, ftruncate, ioctls, and streams (FileOps).
#include "kernel/fs/file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/fakes/fs_test_support.h"

namespace nimbus::fs {
namespace {

using namespace testing;
using namespace linux_abi;

class FileTest : public RamFsTest {
 protected:
  RefPtr<File> open(RefPtr<Vnode> vnode, uint32_t flags) {
    auto file = File::try_create(std::move(vnode), flags);
    EXPECT_TRUE(file);
    return file ? *file : nullptr;
  }
  std::string read(File& file, size_t length) {
    std::string buffer(length, '\0');
    auto done = file.read(std::as_writable_bytes(std::span<char>(buffer)));
    EXPECT_TRUE(done);
    buffer.resize(done ? *done : 0);
    return buffer;
  }
  size_t write(File& file, std::string_view text) {
    auto done = file.write(bytes_of(text));
    EXPECT_TRUE(done);
    return done ? *done : 0;
  }
};

TEST_F(FileTest, ReadAndWriteShareOneOffset) {
  RefPtr<File> file = open(make_file("f"), o_rdwr);
  EXPECT_EQ(write(*file, "hello "), 6u);
  EXPECT_EQ(write(*file, "world"), 5u);
  EXPECT_EQ(file->position(), 11u);
  EXPECT_EQ(read(*file, 10), "");
  ASSERT_EQ(file->seek(0, seek_set), 0);
  EXPECT_EQ(read(*file, 5), "hello");
  EXPECT_EQ(read(*file, 100), " world");
  EXPECT_EQ(read(*file, 100), "");
}

TEST_F(FileTest, AccessModesAreEnforced) {
  RefPtr<Vnode> vnode = make_file("f", "abc");
  RefPtr<File> reader = open(vnode, o_rdonly);
  std::byte buffer[4];
  EXPECT_EQ(reader->write(bytes_of("x")).error(), Errno::ebadf);
  EXPECT_EQ(reader->truncate(0).error(), Errno::einval);
  RefPtr<File> writer = open(vnode, o_wronly);
  EXPECT_EQ(writer->read(buffer).error(), Errno::ebadf);
  EXPECT_EQ(writer->pread(buffer, 0).error(), Errno::ebadf);
  RefPtr<File> path = open(vnode, o_path);
  EXPECT_EQ(path->read(buffer).error(), Errno::ebadf);
  EXPECT_EQ(path->write(bytes_of("x")).error(), Errno::ebadf);
  EXPECT_EQ(path->seek(0, seek_set).error(), Errno::ebadf);
  EXPECT_EQ(path->ioctl(fionread, 0).error(), Errno::ebadf);
  EXPECT_EQ(path->truncate(0).error(), Errno::ebadf);
  EXPECT_TRUE(path->stat());
  EXPECT_EQ(path->flags() & o_largefile, 0u);
  RefPtr<File> directory = open(root, o_rdonly);
  EXPECT_EQ(directory->read(buffer).error(), Errno::eisdir);
}

TEST_F(FileTest, FlagsKeepWhatLinuxKeeps) {
  RefPtr<File> file = open(make_file("f"), o_wronly | o_creat | o_excl | o_trunc | o_append | o_cloexec);
  EXPECT_EQ(file->flags(), o_wronly | o_append | o_cloexec | o_largefile);
  ASSERT_TRUE(file->set_status_flags(o_nonblock | o_rdwr | o_sync));
  EXPECT_EQ(file->flags(), o_wronly | o_nonblock | o_cloexec | o_largefile);
  // A regular file cannot signal readiness: F_SETFL's O_ASYNC succeeds and is not kept
  // (Linux's ->fasync sets the flag, and regular files have none).
  EXPECT_FALSE(file->takes_async());
  ASSERT_TRUE(file->set_status_flags(file->flags() | o_async, 3));
  EXPECT_EQ(file->flags() & o_async, 0u);
}

TEST_F(FileTest, AppendAlwaysWritesAtTheEnd) {
  RefPtr<Vnode> vnode = make_file("log", "one\n");
  RefPtr<File> appender = open(vnode, o_wronly | o_append);
  RefPtr<File> other = open(vnode, o_wronly);
  write(*other, "ONE\n");  // at offset 0: overwrites
  write(*appender, "two\n");
  EXPECT_EQ(appender->position(), 8u);
  write(*other, "xx");  // other's offset is 4
  write(*appender, "three\n");
  EXPECT_EQ(read_string(*vnode, 0, 100), "ONE\nxxo\nthree\n");
  // pwrite on an O_APPEND file appends too (as Linux does).
  ASSERT_TRUE(appender->pwrite(bytes_of("!"), 0));
  EXPECT_EQ(read_string(*vnode, 0, 100), "ONE\nxxo\nthree\n!");
}

TEST_F(FileTest, PositionedIoLeavesTheOffsetAlone) {
  RefPtr<File> file = open(make_file("f", "0123456789"), o_rdwr);
  std::byte buffer[4];
  ASSERT_EQ(file->pread(buffer, 3), 4u);
  EXPECT_EQ(string_of(buffer), "3456");
  ASSERT_EQ(file->pwrite(bytes_of("ab"), 8), 2u);
  ASSERT_EQ(file->pwrite(bytes_of("Z"), 20), 1u);
  EXPECT_EQ(file->position(), 0u);
  EXPECT_EQ(read(*file, 100), std::string("01234567ab") + std::string(10, '\0') + "Z");
  EXPECT_EQ(file->pread(buffer, -1).error(), Errno::einval);
  EXPECT_EQ(file->pwrite(bytes_of("x"), -1).error(), Errno::einval);
}

TEST_F(FileTest, VectoredIoFillsEachBufferInTurn) {
  RefPtr<File> file = open(make_file("f"), o_rdwr);
  std::string a = "abc", b, c = "defgh";
  IoVec out[] = {{a.data(), a.size()}, {b.data(), 0}, {c.data(), c.size()}};
  ASSERT_EQ(file->writev(out), 8u);
  ASSERT_EQ(file->seek(1, seek_set), 1);
  char x[2], y[10];
  IoVec in[] = {{x, sizeof(x)}, {y, sizeof(y)}};
  ASSERT_EQ(file->readv(in), 7u);
  EXPECT_EQ(std::string(x, 2), "bc");
  EXPECT_EQ(std::string(y, 5), "defgh");
  ASSERT_EQ(file->preadv(in, 6), 2u);
  EXPECT_EQ(std::string(x, 2), "gh");
  ASSERT_EQ(file->pwritev(out, 100), 8u);
  EXPECT_EQ(file->stat()->size, 108u);
}

TEST_F(FileTest, SeekFromEachOrigin) {
  RefPtr<File> file = open(make_file("f", "0123456789"), o_rdonly);
  EXPECT_EQ(file->seek(4, seek_set), 4);
  EXPECT_EQ(file->seek(2, seek_cur), 6);
  EXPECT_EQ(file->seek(-3, seek_cur), 3);
  EXPECT_EQ(file->seek(-1, seek_end), 9);
  EXPECT_EQ(file->seek(100, seek_end), 110);  // past the end is fine
  EXPECT_EQ(file->seek(-11, seek_end).error(), Errno::einval);
  EXPECT_EQ(file->seek(-1, seek_set).error(), Errno::einval);
  EXPECT_EQ(file->seek(0, 5).error(), Errno::einval);
  EXPECT_EQ(file->seek(INT64_MAX, seek_set), INT64_MAX);
  EXPECT_EQ(file->seek(1, seek_cur).error(), Errno::einval);  // overflow
  EXPECT_EQ(file->position(), static_cast<uint64_t>(INT64_MAX));
}

TEST_F(FileTest, SeekDataAndHoleFindTheWrittenPages) {
  RefPtr<Vnode> vnode = make_file("sparse");
  write_string(*vnode, 3 * kPageSize + 5, "x");
  write_string(*vnode, 6 * kPageSize, "y");
  RefPtr<File> file = open(vnode, o_rdonly);
  EXPECT_EQ(file->seek(0, seek_data), static_cast<int64_t>(3 * kPageSize));
  EXPECT_EQ(file->position(), 3 * kPageSize);
  EXPECT_EQ(file->seek(3 * kPageSize + 7, seek_hole), static_cast<int64_t>(4 * kPageSize));
  EXPECT_EQ(file->seek(4 * kPageSize, seek_data), static_cast<int64_t>(6 * kPageSize));
  EXPECT_EQ(file->seek(6 * kPageSize, seek_hole), static_cast<int64_t>(6 * kPageSize + 1));
  EXPECT_EQ(file->seek(6 * kPageSize + 1, seek_data).error(), Errno::enxio);
  EXPECT_EQ(file->seek(-1, seek_data).error(), Errno::enxio);
  EXPECT_EQ(open(root, o_rdonly)->seek(0, seek_data).error(), Errno::einval);
}

// Parses linux_dirent64 records as an application would.
struct Record {
  uint64_t ino;
  int64_t off;
  uint16_t reclen;
  uint8_t type;
  std::string name;
};
std::vector<Record> parse(const std::byte* data, size_t length) {
  std::vector<Record> records;
  size_t at = 0;
  while (at < length) {
    Record record;
    memcpy(&record.ino, data + at, 8);
    memcpy(&record.off, data + at + 8, 8);
    memcpy(&record.reclen, data + at + 16, 2);
    memcpy(&record.type, data + at + 18, 1);
    record.name = reinterpret_cast<const char*>(data + at + 19);
    records.push_back(record);
    EXPECT_GT(record.reclen, 0);
    at += record.reclen;
  }
  EXPECT_EQ(at, length);
  return records;
}

TEST_F(FileTest, Getdents64WritesLinuxRecordsByteForByte) {
  RefPtr<Vnode> directory = make_directory(*root, "d");
  RefPtr<Vnode> file = make(*directory, "hello.txt", VnodeType::regular);
  RefPtr<File> handle = open(directory, o_rdonly | o_directory);
  std::vector<std::byte> buffer(256, std::byte{0xaa});
  auto written = handle->getdents64(buffer);
  ASSERT_TRUE(written);
  // ".": 19 + 2 -> 24; "..": 19 + 3 -> 24; "hello.txt": 19 + 10 = 29 -> 32.
  ASSERT_EQ(*written, 24u + 24u + 32u);
  const std::byte* third = buffer.data() + 48;
  uint64_t ino;
  memcpy(&ino, third, 8);
  EXPECT_EQ(ino, file->ino());
  int64_t off;
  memcpy(&off, third + 8, 8);
  EXPECT_EQ(static_cast<uint64_t>(off), handle->position());
  EXPECT_EQ(static_cast<uint8_t>(third[16]), 32);
  EXPECT_EQ(static_cast<uint8_t>(third[17]), 0);
  EXPECT_EQ(static_cast<uint8_t>(third[18]), dt_reg);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(third + 19), 9), "hello.txt");
  for (int i = 28; i < 32; i++) EXPECT_EQ(static_cast<uint8_t>(third[i]), 0) << i;  // NUL + padding
  EXPECT_EQ(static_cast<uint8_t>(buffer[80]), 0xaa);  // nothing past the last record
  auto records = parse(buffer.data(), *written);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].name, ".");
  EXPECT_EQ(records[0].type, dt_dir);
  EXPECT_EQ(records[0].ino, directory->ino());
  EXPECT_EQ(records[1].name, "..");
  EXPECT_EQ(records[1].ino, root->ino());
  EXPECT_EQ(handle->getdents64(buffer), 0u);  // the end
}

// getdents(2)'s struct linux_dirent: the name at 18, then its NUL, padding, and d_type in the
// record's last byte; each record 8-byte aligned.
TEST_F(FileTest, GetdentsWritesTheOlderRecordsByteForByte) {
  RefPtr<Vnode> directory = make_directory(*root, "d");
  RefPtr<Vnode> file = make(*directory, "hello.txt", VnodeType::regular);
  RefPtr<File> handle = open(directory, o_rdonly | o_directory);
  std::vector<std::byte> buffer(256, std::byte{0xaa});
  auto written = handle->getdents64(buffer, DirentLayout::linux_dirent);
  ASSERT_TRUE(written);
  // ".": 18 + 1 + 2 -> 24; "..": 18 + 2 + 2 -> 24; "hello.txt": 18 + 9 + 2 = 29 -> 32.
  ASSERT_EQ(*written, 24u + 24u + 32u);
  const std::byte* third = buffer.data() + 48;
  uint64_t ino;
  memcpy(&ino, third, 8);
  EXPECT_EQ(ino, file->ino());
  EXPECT_EQ(static_cast<uint8_t>(third[16]), 32);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(third + 18), 9), "hello.txt");
  for (int i = 27; i < 31; i++) EXPECT_EQ(static_cast<uint8_t>(third[i]), 0) << i;  // NUL + padding
  EXPECT_EQ(static_cast<uint8_t>(third[31]), dt_reg);
  EXPECT_EQ(static_cast<uint8_t>(buffer[23]), dt_dir);  // ".": d_type last
  EXPECT_EQ(static_cast<uint8_t>(buffer[80]), 0xaa);  // nothing past the last record
}

TEST_F(FileTest, Getdents64ResumesWithSmallBuffersAndAfterLseek) {
  RefPtr<Vnode> directory = make_directory(*root, "d");
  std::set<std::string> expected = {".", ".."};
  for (int i = 0; i < 300; i++) {
    std::string name = "entry-" + std::to_string(i) + std::string(i % 40, 'x');
    make(*directory, name, VnodeType::regular);
    expected.insert(name);
  }
  RefPtr<File> handle = open(directory, o_rdonly);
  std::vector<std::byte> buffer(100);
  std::vector<Record> all;
  while (true) {
    auto written = handle->getdents64(buffer);
    ASSERT_TRUE(written);
    if (*written == 0) break;
    for (auto& record : parse(buffer.data(), *written)) all.push_back(record);
  }
  std::set<std::string> seen;
  for (auto& record : all) EXPECT_TRUE(seen.insert(record.name).second) << record.name;
  EXPECT_EQ(seen, expected);

  // lseek to a record's d_off resumes right after that record.
  ASSERT_TRUE(handle->seek(all[150].off, seek_set));
  auto written = handle->getdents64(buffer);
  ASSERT_TRUE(written);
  EXPECT_EQ(parse(buffer.data(), *written)[0].name, all[151].name);
  // Rewinding starts over.
  ASSERT_EQ(handle->seek(0, seek_set), 0);
  written = handle->getdents64(buffer);
  EXPECT_EQ(parse(buffer.data(), *written)[0].name, ".");
  EXPECT_EQ(handle->seek(0, seek_end).error(), Errno::einval);
}

TEST_F(FileTest, Getdents64NeedsRoomForOneRecordAndADirectory) {
  RefPtr<Vnode> directory = make_directory(*root, "d");
  RefPtr<File> handle = open(directory, o_rdonly);
  std::byte tiny[23];
  EXPECT_EQ(handle->getdents64(tiny).error(), Errno::einval);
  EXPECT_EQ(handle->position(), 0u);
  std::byte exact[24];
  EXPECT_EQ(handle->getdents64(exact), 24u);
  EXPECT_EQ(open(make_file("f"), o_rdonly)->getdents64(exact).error(), Errno::enotdir);
  EXPECT_EQ(open(directory, o_path)->getdents64(exact).error(), Errno::ebadf);
  // A removed directory lists nothing: ENOENT, as Linux.
  ASSERT_TRUE(root->rmdir("d"));
  ASSERT_TRUE(handle->seek(0, seek_set));
  EXPECT_EQ(handle->getdents64(exact).error(), Errno::enoent);
}

TEST_F(FileTest, TruncateNeedsAWritableRegularFile) {
  RefPtr<File> file = open(make_file("f", "0123456789"), o_rdwr);
  ASSERT_TRUE(file->truncate(4));
  EXPECT_EQ(file->stat()->size, 4u);
  EXPECT_EQ(file->truncate(-1).error(), Errno::einval);
  EXPECT_EQ(open(root, o_rdonly)->truncate(0).error(), Errno::einval);
}

TEST_F(FileTest, IoctlsOnRegularFiles) {
  RefPtr<File> file = open(make_file("f", "0123456789"), o_rdonly);
  ASSERT_TRUE(file->seek(3, seek_set));
  int available = -1;
  ASSERT_TRUE(file->ioctl(fionread, reinterpret_cast<uintptr_t>(&available)));
  EXPECT_EQ(available, 7);
  int on = 1;
  ASSERT_TRUE(file->ioctl(fionbio, reinterpret_cast<uintptr_t>(&on)));
  EXPECT_TRUE(file->flags() & o_nonblock);
  on = 0;
  ASSERT_TRUE(file->ioctl(fionbio, reinterpret_cast<uintptr_t>(&on)));
  EXPECT_FALSE(file->flags() & o_nonblock);
  EXPECT_EQ(file->ioctl(tcgets, 0).error(), Errno::enotty);  // isatty() says no
  EXPECT_EQ(ioctl_argument_size(tcgets), 36u);
  EXPECT_EQ(ioctl_argument_size(tiocgwinsz), 8u);
  EXPECT_EQ(ioctl_argument_size(0x1234), 0u);
}

// A stream that hands out queued chunks and says EAGAIN when empty.
class ChunkStream final : public FileOps {
 public:
  Result<size_t> read(File&, std::span<std::byte> buffer, IoFlags flags) override {
    if (chunks.empty()) return flags.nonblocking ? Result<size_t>(error(Errno::eagain)) : 0;
    std::string& chunk = chunks.front();
    size_t n = std::min(chunk.size(), buffer.size());
    memcpy(buffer.data(), chunk.data(), n);
    chunk.erase(0, n);
    if (chunk.empty()) chunks.pop_front();
    return n;
  }
  Result<size_t> write(File&, std::span<const std::byte> data, IoFlags) override {
    written += string_of(data);
    return data.size();
  }
  void open(File&) override { opens++; }
  void release(File&) override { releases++; }
  std::deque<std::string> chunks;
  std::string written;
  int opens = 0;
  int releases = 0;
};

TEST_F(FileTest, StreamsNeitherSeekNorWaitForASecondBuffer) {
  ChunkStream stream;
  {
    auto created = File::try_create(make_file("node"), o_rdwr, &stream);
    ASSERT_TRUE(created);
    RefPtr<File> file = *created;
    EXPECT_EQ(stream.opens, 1);
    stream.chunks = {"abc", "def"};
    char a[2], b[10];
    IoVec in[] = {{a, sizeof(a)}, {b, sizeof(b)}};
    // The first buffer fills; the second takes what one more read gives, and a short read
    // ends the call.
    ASSERT_EQ(file->readv(in), 3u);
    EXPECT_EQ(std::string(a, 2), "ab");
    EXPECT_EQ(b[0], 'c');
    ASSERT_EQ(file->readv(in), 3u);
    EXPECT_EQ(std::string(a, 2), "de");
    EXPECT_EQ(b[0], 'f');
    EXPECT_EQ(file->readv(in), 0u);
    // With only the first buffer's worth queued, the second part must not block (the
    // stream sees a nonblocking read and says EAGAIN, which ends the call quietly).
    stream.chunks = {"gh"};
    ASSERT_EQ(file->readv(in), 2u);
    EXPECT_EQ(file->seek(0, seek_cur).error(), Errno::espipe);
    std::byte buffer[1];
    EXPECT_EQ(file->pread(buffer, 0).error(), Errno::espipe);
    EXPECT_EQ(file->pwrite(bytes_of("x"), 0).error(), Errno::espipe);
    ASSERT_EQ(file->write(bytes_of("out")), 3u);
    EXPECT_EQ(stream.written, "out");
    EXPECT_EQ(file->ioctl(tcgets, 0).error(), Errno::enotty);
    EXPECT_EQ(stream.releases, 0);
  }
  EXPECT_EQ(stream.releases, 1);
}

}  // namespace
}  // namespace nimbus::fs
