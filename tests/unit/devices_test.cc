// Tests for the device objects: null, zero, full, random, the console tty's I/O and
// terminal ioctls, and the device registry.
#include <gtest/gtest.h>

#include <string>

#include "kernel/fs/device_registry.h"
#include "kernel/fs/memory_devices.h"
#include "kernel/fs/tty_device.h"
#include "tests/unit/fakes/fake_console.h"
#include "tests/unit/fakes/fs_test_support.h"

namespace nimbus::fs {
namespace {

using namespace testing;
using namespace linux_abi;

class DevicesTest : public RamFsTest {
 protected:
  RefPtr<File> open(FileOps& ops, uint32_t flags = o_rdwr) {
    auto file = File::try_create(make_file("node" + std::to_string(m_nodes++)), flags, &ops);
    EXPECT_TRUE(file);
    return *file;
  }
  int m_nodes = 0;
};

TEST_F(DevicesTest, NullZeroAndFull) {
  NullDevice null;
  ZeroDevice zero;
  FullDevice full;
  std::string buffer(10, 'x');
  auto bytes = std::as_writable_bytes(std::span<char>(buffer));
  RefPtr<File> null_file = open(null);
  EXPECT_EQ(null_file->read(bytes), 0u);
  EXPECT_EQ(null_file->write(bytes_of("gone")), 4u);
  EXPECT_EQ(null_file->seek(100, seek_set), 0);
  // A device that seeks takes pread/pwrite too (the offset means nothing to it).
  EXPECT_EQ(null_file->pwrite(bytes_of("gone"), 7), 4u);
  EXPECT_EQ(null_file->pread(bytes, 7), 0u);
  RefPtr<File> zero_file = open(zero);
  EXPECT_EQ(zero_file->read(bytes), 10u);
  EXPECT_EQ(buffer, std::string(10, '\0'));
  EXPECT_EQ(zero_file->write(bytes_of("gone")), 4u);
  buffer.assign(10, 'x');
  RefPtr<File> full_file = open(full);
  EXPECT_EQ(full_file->read(bytes), 10u);
  EXPECT_EQ(buffer, std::string(10, '\0'));
  EXPECT_EQ(full_file->write(bytes_of("x")).error(), Errno::enospc);
  EXPECT_EQ(full_file->ioctl(tcgets, 0).error(), Errno::enotty);
}

TEST_F(DevicesTest, RandomReadsTheSourceAndFeedsItWrites) {
  FakeRandom source;
  RandomDevice random(source);
  RefPtr<File> file = open(random);
  std::byte buffer[4];
  ASSERT_EQ(file->read(buffer), 4u);
  EXPECT_EQ(static_cast<int>(buffer[0]), 1);
  EXPECT_EQ(static_cast<int>(buffer[3]), 4);
  EXPECT_EQ(file->write(bytes_of("seed")), 4u);
  EXPECT_EQ(source.entropy_bytes, 4u);
}

TEST_F(DevicesTest, TtyPassesBytesAndAnswersTerminalIoctls) {
  FakeConsole console;
  TtyDevice tty(console);
  RefPtr<File> file = open(tty);
  ASSERT_EQ(file->write(bytes_of("hello\n")), 6u);
  EXPECT_EQ(console.output, "hello\n");
  console.input = "typed";
  std::string buffer(3, '\0');
  EXPECT_EQ(file->read(std::as_writable_bytes(std::span<char>(buffer))), 3u);
  EXPECT_EQ(buffer, "typ");
  int waiting = 0;
  ASSERT_TRUE(file->ioctl(fionread, reinterpret_cast<uintptr_t>(&waiting)));
  EXPECT_EQ(waiting, 2);
  EXPECT_EQ(file->poll() & pollin, pollin);
  EXPECT_EQ(file->seek(0, seek_cur).error(), Errno::espipe);

  Termios termios;
  ASSERT_TRUE(file->ioctl(tcgets, reinterpret_cast<uintptr_t>(&termios)));
  EXPECT_EQ(termios.c_cflag & 060, 060u);       // CS8
  EXPECT_TRUE(termios.c_lflag & 02);             // ICANON
  EXPECT_TRUE(termios.c_oflag & 04);             // ONLCR
  EXPECT_EQ(termios.c_cc[0], 3);                 // VINTR ^C
  EXPECT_EQ(termios.c_cc[6], 1);                 // VMIN
  termios.c_lflag &= ~02u;
  ASSERT_TRUE(file->ioctl(tcsetsw, reinterpret_cast<uintptr_t>(&termios)));
  Termios again;
  ASSERT_TRUE(file->ioctl(tcgets, reinterpret_cast<uintptr_t>(&again)));
  EXPECT_FALSE(again.c_lflag & 02);

  Winsize window;
  ASSERT_TRUE(file->ioctl(tiocgwinsz, reinterpret_cast<uintptr_t>(&window)));
  EXPECT_EQ(window.ws_col, 80);
  EXPECT_EQ(window.ws_row, 24);
  int group = 0;
  ASSERT_TRUE(file->ioctl(tiocgpgrp, reinterpret_cast<uintptr_t>(&group)));
  EXPECT_EQ(group, 1);
  EXPECT_EQ(file->ioctl(0x5499, 0).error(), Errno::enotty);
}

TEST_F(DevicesTest, TtyNonblockingReadWithoutInputIsEagain) {
  FakeConsole console;
  TtyDevice tty(console);
  RefPtr<File> file = open(tty, o_rdwr | o_nonblock);
  std::byte buffer[4];
  EXPECT_EQ(file->read(buffer).error(), Errno::eagain);
  EXPECT_EQ(file->poll() & pollin, 0u);
}

TEST(DeviceRegistry, FindsWhatWasAdded) {
  DeviceRegistry registry;
  NullDevice null;
  ZeroDevice zero;
  ASSERT_TRUE(registry.add(1, 3, null));
  ASSERT_TRUE(registry.add(1, 5, zero));
  EXPECT_EQ(registry.find(1, 3), &null);
  EXPECT_EQ(registry.find(1, 5), &zero);
  EXPECT_EQ(registry.find(1, 4), nullptr);
  EXPECT_EQ(registry.add(1, 3, zero).error(), Errno::eexist);
  for (uint32_t minor = 100; minor < 100 + DeviceRegistry::kMaxDevices - 2; minor++) {
    ASSERT_TRUE(registry.add(9, minor, null));
  }
  EXPECT_EQ(registry.add(9, 1, null).error(), Errno::enospc);
}

}  // namespace
}  // namespace nimbus::fs
