// Tests for Pipe: fill and drain, wrap-around, EOF, EPIPE, EAGAIN, PIPE_BUF atomicity,
// poll, FIONREAD, capacity changes, FIFO opens, and blocking across host threads.
#include "kernel/fs/pipe.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "tests/unit/fakes/fs_test_support.h"

namespace nimbus::fs {
namespace {

using namespace testing;
using namespace linux_abi;

class PipeTest : public ::testing::Test {
 protected:
  PipeTest() : fs(fake_clock) {}
  void SetUp() override {
    auto made = make_pipe(fs, o_nonblock);
    ASSERT_TRUE(made);
    ends = *made;
  }
  Result<size_t> write(std::string_view text) { return ends.write->write(bytes_of(text)); }
  std::string read(size_t length) {
    std::string buffer(length, '\0');
    auto done = ends.read->read(std::as_writable_bytes(std::span<char>(buffer)));
    if (!done) return "<" + std::to_string(static_cast<int>(done.error())) + ">";
    buffer.resize(*done);
    return buffer;
  }
  Pipe& pipe() { return *ends.read->ops()->as_pipe(); }

  PipeFs fs;
  PipeEnds ends;
};

TEST_F(PipeTest, EndsAreOneFifo) {
  Stat read_stat = *ends.read->stat();
  EXPECT_EQ(read_stat.mode, s_ififo | 0600);
  EXPECT_EQ(read_stat.ino, ends.write->stat()->ino);
  EXPECT_EQ(read_stat.dev_minor, fs.device_minor());
  EXPECT_EQ(fs.statfs().type, pipefs_magic);
  EXPECT_TRUE(ends.read->is_readable());
  EXPECT_FALSE(ends.read->is_writable());
  EXPECT_EQ(ends.read->write(bytes_of("x")).error(), Errno::ebadf);
  EXPECT_EQ(ends.read->seek(0, seek_cur).error(), Errno::espipe);
  EXPECT_EQ(ends.write->pwrite(bytes_of("x"), 0).error(), Errno::espipe);
  // A stream is ESPIPE before its access mode is looked at (Linux's FMODE_PREAD check).
  EXPECT_EQ(ends.read->pwrite(bytes_of("x"), 0).error(), Errno::espipe);
  std::byte one[1];
  EXPECT_EQ(ends.write->pread(one, 0).error(), Errno::espipe);
  EXPECT_TRUE(ends.read->flags() & o_nonblock);
  EXPECT_EQ(make_pipe(fs, o_append).error(), Errno::einval);
}

// O_ASYNC is kept by a pipe (which signals readiness) with its owner and signal; turning it
// off and on again is fine, and the File frees its subscription when it goes.
TEST_F(PipeTest, KeepsOAsyncAndItsOwner) {
  EXPECT_TRUE(ends.read->takes_async());
  ASSERT_TRUE(ends.read->set_status_flags(ends.read->flags() | o_async, 3));
  EXPECT_TRUE(ends.read->flags() & o_async);
  ASSERT_TRUE(ends.read->set_status_flags(ends.read->flags() & ~o_async, 3));
  EXPECT_FALSE(ends.read->flags() & o_async);
  ASSERT_TRUE(ends.read->set_status_flags(ends.read->flags() | o_async, 4));
  SignalOwner owner;
  owner.kind = SignalOwner::group;
  owner.id = 77;
  owner.uid = 1000;
  owner.euid = 0;
  ends.read->set_signal_owner(owner);
  ends.read->set_readiness_signal(10);
  SignalOwner got = ends.read->signal_owner();
  EXPECT_EQ(got.kind, SignalOwner::group);
  EXPECT_EQ(got.id, 77);
  EXPECT_EQ(got.uid, 1000u);
  EXPECT_EQ(got.euid, 0u);
  EXPECT_EQ(ends.read->readiness_signal(), 10);
  EXPECT_EQ(*write("x"), 1u);
}

TEST_F(PipeTest, BytesComeOutInOrder) {
  EXPECT_EQ(write("hello "), 6u);
  EXPECT_EQ(write("world"), 5u);
  EXPECT_EQ(read(3), "hel");
  EXPECT_EQ(read(100), "lo world");
  EXPECT_EQ(read(10), "<11>");  // empty, writer still open: EAGAIN
}

TEST_F(PipeTest, FillsToCapacityThenSaysEagain) {
  std::string chunk(10000, 'a');
  size_t total = 0;
  while (true) {
    auto done = write(chunk);
    if (!done) {
      EXPECT_EQ(done.error(), Errno::eagain);
      break;
    }
    total += *done;
  }
  EXPECT_EQ(total, Pipe::kDefaultCapacity);
  EXPECT_EQ(write("x").error(), Errno::eagain);
  // Draining makes room, and the ring wraps around.
  EXPECT_EQ(read(5000).size(), 5000u);
  std::string fresh(5000, 'b');
  EXPECT_EQ(write(fresh), 5000u);
  EXPECT_EQ(read(Pipe::kDefaultCapacity - 5000), std::string(Pipe::kDefaultCapacity - 5000, 'a'));
  EXPECT_EQ(read(10000), fresh);
}

TEST_F(PipeTest, SmallWritesAreAtomic) {
  std::string almost(Pipe::kDefaultCapacity - 100, 'a');
  ASSERT_EQ(write(almost), almost.size());
  // 200 bytes <= PIPE_BUF do not fit in the 100 left: nothing is written.
  EXPECT_EQ(write(std::string(200, 'b')).error(), Errno::eagain);
  // A large write takes what fits.
  EXPECT_EQ(write(std::string(5000, 'c')), 100u);
}

TEST_F(PipeTest, ClosingTheWriteEndMeansEof) {
  ASSERT_EQ(write("last words"), 10u);
  ends.write = nullptr;
  EXPECT_EQ(read(100), "last words");
  EXPECT_EQ(read(100), "");
  EXPECT_EQ(read(100), "");
}

TEST_F(PipeTest, ClosingTheReadEndMeansEpipe) {
  RefPtr<File> writer = ends.write;
  ends.read = nullptr;
  EXPECT_EQ(writer->write(bytes_of("anyone?")).error(), Errno::epipe);
  EXPECT_EQ(writer->poll() & pollerr, pollerr);
}

TEST_F(PipeTest, PollReportsReadiness) {
  EXPECT_EQ(ends.read->poll(), 0u);
  EXPECT_EQ(ends.write->poll(), pollout | pollwrnorm);
  ASSERT_TRUE(write("x"));
  EXPECT_EQ(ends.read->poll(), pollin | pollrdnorm);
  ends.write = nullptr;
  EXPECT_EQ(ends.read->poll(), pollin | pollrdnorm | pollhup);
}

TEST_F(PipeTest, FionreadCountsWaitingBytes) {
  ASSERT_TRUE(write("12345"));
  int waiting = 0;
  ASSERT_TRUE(ends.read->ioctl(fionread, reinterpret_cast<uintptr_t>(&waiting)));
  EXPECT_EQ(waiting, 5);
  EXPECT_EQ(ends.read->ioctl(tcgets, 0).error(), Errno::enotty);
}

TEST_F(PipeTest, CapacityCanChangeWithDataInside) {
  EXPECT_EQ(pipe().capacity(), 65536u);
  ASSERT_TRUE(write(std::string(60000, 'z')));
  ASSERT_EQ(read(59000).size(), 59000u);  // the data now wraps soon
  ASSERT_TRUE(write(std::string(10000, 'y')));
  EXPECT_EQ(pipe().set_capacity(4096).error(), Errno::ebusy);
  EXPECT_EQ(pipe().set_capacity(Pipe::kMaxCapacity + 1).error(), Errno::eperm);
  EXPECT_EQ(pipe().set_capacity(100000), 131072u);
  EXPECT_EQ(read(1000), std::string(1000, 'z'));
  EXPECT_EQ(read(20000), std::string(10000, 'y'));
  EXPECT_EQ(pipe().set_capacity(1), 4096u);
  EXPECT_EQ(write(std::string(5000, 'x')), 4096u);
}

TEST_F(PipeTest, VectoredReadTakesWhatIsThere) {
  ASSERT_TRUE(write("abcdef"));
  char a[4], b[10];
  IoVec vectors[] = {{a, sizeof(a)}, {b, sizeof(b)}};
  EXPECT_EQ(ends.read->readv(vectors), 6u);
  EXPECT_EQ(std::string(b, 2), "ef");
}

TEST(PipeFifo, OpensWaitForAPeerUnlessNonblocking) {
  auto pipe = Pipe::try_create();
  ASSERT_TRUE(pipe);
  PipeFs fs(fake_clock);
  auto fake_vnode = make_pipe(fs, 0);
  ASSERT_TRUE(fake_vnode);
  RefPtr<Vnode> fifo = fake_vnode->read->vnode();
  EXPECT_EQ(Pipe::open_fifo(*pipe, fifo, o_wronly | o_nonblock).error(), Errno::enxio);
  EXPECT_TRUE(Pipe::open_fifo(*pipe, fifo, o_rdonly | o_nonblock));
  EXPECT_TRUE(Pipe::open_fifo(*pipe, fifo, o_rdwr));
  // A blocking reader returns once a writer opens, and the writer (blocking too) returns
  // because the reader counted itself before it waited.
  RefPtr<File> writer;
  std::thread writer_thread([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto opened = Pipe::open_fifo(*pipe, fifo, o_wronly);
    ASSERT_TRUE(opened);
    writer = std::move(*opened);
  });
  auto reader = Pipe::open_fifo(*pipe, fifo, o_rdonly);
  EXPECT_TRUE(reader);
  writer_thread.join();
  EXPECT_TRUE(writer);
}

TEST(PipeThreads, BlockingWritesAndReadsMeet) {
  PipeFs fs(fake_clock);
  auto ends = make_pipe(fs, 0);
  ASSERT_TRUE(ends);
  constexpr size_t kTotal = 1 << 20;
  std::thread writer([&] {
    std::string data(kTotal, '\0');
    for (size_t i = 0; i < kTotal; i++) data[i] = static_cast<char>(i * 7);
    auto done = ends->write->write(bytes_of(data));  // blocks until all is taken
    EXPECT_EQ(done, kTotal);
    ends->write = nullptr;
  });
  std::string received;
  std::string buffer(3000, '\0');
  while (true) {
    auto done = ends->read->read(std::as_writable_bytes(std::span<char>(buffer)));
    ASSERT_TRUE(done);
    if (*done == 0) break;
    received.append(buffer, 0, *done);
  }
  writer.join();
  ASSERT_EQ(received.size(), kTotal);
  for (size_t i = 0; i < kTotal; i += 997) ASSERT_EQ(received[i], static_cast<char>(i * 7)) << i;
}

}  // namespace
}  // namespace nimbus::fs
