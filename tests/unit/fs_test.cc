// Tests for the facade (kernel/fs/fs.h): a Vfs built from an initrd, and every syscall
// family the Linux layer routes here, with Linux's errno values.
#include "kernel/fs/fs.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/unit/fakes/cpio_builder.h"
#include "tests/unit/fakes/fake_console.h"
#include "tests/unit/fakes/fs_test_support.h"

namespace nimbus::fs {
namespace {

using namespace testing;
using namespace linux_abi;

constexpr int kCwd = at_fdcwd;

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_fake_now = 1'000'000'000;
    initrd = CpioBuilder()
                 .directory("bin")
                 .file("bin/tool", "#!tool\n", 0755)
                 .file("etc/hostname", "nimbus\n", 0644)
                 .directory("usr/lib")
                 .symlink("lib", "usr/lib")
                 .file("usr/lib/libc.so", "libc", 0644)
                 .trailer()
                 .text();
    vfs = std::make_unique<Vfs>(Services{pages, fake_clock, random, console});
    CpioError error;
    ASSERT_TRUE(vfs->init(std::as_bytes(std::span(initrd.data(), initrd.size())), &error)) << error.reason;
    context = std::make_unique<FsContext>(*vfs);
  }
  void TearDown() override {
    context.reset();
    vfs.reset();
  }

  int open(std::string_view path, uint32_t flags, uint32_t mode = 0644, int dirfd = kCwd) {
    auto fd = fs::open(*context, dirfd, path, flags, mode);
    EXPECT_TRUE(fd) << path << ": errno " << (fd ? 0 : static_cast<int>(fd.error()));
    return fd ? *fd : -1;
  }
  Errno open_error(std::string_view path, uint32_t flags, uint32_t mode = 0644, int dirfd = kCwd) {
    auto fd = fs::open(*context, dirfd, path, flags, mode);
    EXPECT_FALSE(fd) << path;
    return fd ? Errno{} : fd.error();
  }
  RefPtr<File> file(int fd) { return *context->fds().get(fd); }
  std::string read_all(int fd) {
    std::string result, buffer(4096, '\0');
    while (true) {
      auto done = file(fd)->read(std::as_writable_bytes(std::span<char>(buffer)));
      if (!done || *done == 0) break;
      result.append(buffer, 0, *done);
    }
    return result;
  }
  void write(int fd, std::string_view text) { ASSERT_EQ(file(fd)->write(bytes_of(text)), text.size()); }
  Stat stat(std::string_view path, uint32_t flags = 0) {
    auto result = fs::stat(*context, kCwd, path, flags);
    EXPECT_TRUE(result) << path;
    return result ? *result : Stat{};
  }
  Errno stat_error(std::string_view path, uint32_t flags = 0) {
    auto result = fs::stat(*context, kCwd, path, flags);
    EXPECT_FALSE(result) << path;
    return result ? Errno{} : result.error();
  }
  std::string cwd() {
    char buffer[4096];
    auto length = getcwd(*context, buffer);
    if (!length) return "<" + std::to_string(static_cast<int>(length.error())) + ">";
    EXPECT_EQ(buffer[*length - 1], '\0');
    return std::string(buffer, *length - 1);
  }

  std::string initrd;
  FakePageAllocator pages;
  FakeRandom random;
  FakeConsole console;
  std::unique_ptr<Vfs> vfs;
  std::unique_ptr<FsContext> context;
};

TEST_F(FsTest, InitBuildsTheTree) {
  EXPECT_EQ(stat("/bin/tool").mode, s_ifreg | 0755);
  EXPECT_EQ(stat("/tmp").mode, s_ifdir | 01777);
  for (const char* path : {"/proc", "/sys", "/etc", "/dev", "/dev/shm", "/dev/pts"}) {
    EXPECT_TRUE(stat(path).mode & s_ifdir) << path;
  }
  Stat null = stat("/dev/null");
  EXPECT_EQ(null.mode, s_ifchr | 0666);
  EXPECT_EQ(null.rdev_major, 1u);
  EXPECT_EQ(null.rdev_minor, 3u);
  // /dev is another file system, mounted.
  EXPECT_EQ(stat("/dev").dev_minor, vfs->dev_fs().device_minor());
  EXPECT_NE(stat("/").dev_minor, vfs->dev_fs().device_minor());
  EXPECT_EQ(stat("/dev/..").ino, stat("/").ino);
  char target[64];
  auto length = readlink(*context, kCwd, "/dev/stdout", target);
  ASSERT_TRUE(length);
  EXPECT_EQ(std::string(target, *length), "/proc/self/fd/1");
  // Files borrow the initrd's bytes.
  EXPECT_EQ(pages.outstanding(), 0u);
}

TEST_F(FsTest, InitRejectsAMalformedInitrd) {
  std::string bad = "070701garbage";
  Vfs other(Services{pages, fake_clock, random, console});
  CpioError error;
  EXPECT_EQ(other.init(std::as_bytes(std::span(bad.data(), bad.size())), &error).error(), Errno::einval);
  EXPECT_STREQ(error.reason, "truncated header");
  Vfs empty(Services{pages, fake_clock, random, console});
  ASSERT_TRUE(empty.init({}));
  EXPECT_TRUE(empty.root()->lookup("tmp"));
}

TEST_F(FsTest, OpenReadsAndWritesFiles) {
  int fd = open("/etc/hostname", o_rdonly);
  EXPECT_EQ(fd, 0);
  EXPECT_EQ(read_all(fd), "nimbus\n");
  EXPECT_EQ(file(fd)->flags(), o_rdonly | o_largefile);
  int lib = open("/lib/libc.so", o_rdonly);  // through the symlinked directory
  EXPECT_EQ(read_all(lib), "libc");
  ASSERT_TRUE(close(*context, fd));
  EXPECT_EQ(close(*context, fd).error(), Errno::ebadf);
  EXPECT_EQ(open_error("/missing", o_rdonly), Errno::enoent);
  EXPECT_EQ(open_error("/etc/hostname/x", o_rdonly), Errno::enotdir);
}

TEST_F(FsTest, CreateHonorsExclTruncAppendAndTheUmask) {
  int fd = open("/tmp/new", o_wronly | o_creat | o_excl, 0666);
  EXPECT_EQ(stat("/tmp/new").mode, s_ifreg | 0644);  // umask 022
  write(fd, "0123456789");
  EXPECT_EQ(open_error("/tmp/new", o_wronly | o_creat | o_excl), Errno::eexist);
  context->exchange_umask(077);
  open("/tmp/private", o_creat | o_wronly, 0666);
  EXPECT_EQ(stat("/tmp/private").mode, s_ifreg | 0600);
  int again = open("/tmp/new", o_rdwr | o_creat);  // exists: just opens
  EXPECT_EQ(read_all(again), "0123456789");
  open("/tmp/new", o_rdonly | o_trunc);  // truncates even read-only
  EXPECT_EQ(stat("/tmp/new").size, 0u);
  int appender = open("/tmp/new", o_wronly | o_append);
  write(fd, "abc");  // fd's offset is 10: leaves a hole
  write(appender, "Z");
  EXPECT_EQ(read_all(open("/tmp/new", o_rdonly)), std::string(10, '\0') + "abcZ");
}

TEST_F(FsTest, TmpfileIsUnnamedUntilLinked) {
  int fd = open("/tmp", o_rdwr | o_tmpfile, 0640);
  write(fd, "scratch");
  Stat s = *fstat(*context, fd);
  EXPECT_EQ(s.nlink, 0u);
  EXPECT_EQ(s.mode & 07777, 0640u & ~022u);
  EXPECT_EQ(open_error("/tmp/named", o_rdonly), Errno::enoent);
  ASSERT_TRUE(fs::link(*context, fd, "", kCwd, "/tmp/named", at_empty_path));
  EXPECT_EQ(stat("/tmp/named").nlink, 1u);
  int named = open("/tmp/named", o_rdonly);
  EXPECT_EQ(read_all(named), "scratch");
  // With O_EXCL it never gets a name.
  int excl = open("/tmp", o_wronly | o_tmpfile | o_excl);
  EXPECT_EQ(fs::link(*context, excl, "", kCwd, "/tmp/other", at_empty_path).error(), Errno::enoent);
}

TEST_F(FsTest, OpenRefusesWhatLinuxRefuses) {
  EXPECT_EQ(open_error("/bin/tool", o_rdonly | o_directory), Errno::enotdir);
  EXPECT_EQ(open_error("/bin", o_wronly), Errno::eisdir);
  EXPECT_EQ(open_error("/bin", o_rdwr), Errno::eisdir);
  EXPECT_EQ(open_error("/bin", o_rdonly | o_trunc), Errno::eisdir);
  EXPECT_EQ(open_error("/bin", o_rdonly | o_creat), Errno::eisdir);
  EXPECT_EQ(open_error("/tmp/.", o_rdonly | o_creat), Errno::eisdir);
  EXPECT_EQ(open_error("/tmp/new/", o_rdonly | o_creat), Errno::eisdir);
  EXPECT_EQ(open_error("/tmp/new", o_rdonly | o_creat | o_directory), Errno::einval);
  EXPECT_EQ(open_error("/tmp", o_rdonly | o_tmpfile), Errno::einval);
  EXPECT_EQ(open_error("/tmp", o_rdwr | o_tmpfile | o_creat), Errno::einval);
  EXPECT_EQ(open_error("/tmp", o_rdwr | (o_tmpfile & ~o_directory)), Errno::einval);
  EXPECT_EQ(open_error("/bin/tool", o_rdwr | o_tmpfile), Errno::enotdir);
  EXPECT_EQ(open_error("/lib", o_rdonly | o_nofollow), Errno::eloop);
  EXPECT_EQ(open_error("/bin/tool/", o_rdonly), Errno::enotdir);
  EXPECT_EQ(open_error("", o_rdonly), Errno::enoent);
  EXPECT_EQ(open_error("x", o_rdonly, 0, 55), Errno::ebadf);
  int regular = open("/bin/tool", o_rdonly);
  EXPECT_EQ(open_error("x", o_rdonly, 0, regular), Errno::enotdir);
  // An absolute path ignores dirfd, even a bad one.
  EXPECT_GE(open("/bin/tool", o_rdonly, 0, 55), 0);
  EXPECT_EQ(open_error("/tmp/a/b", o_creat | o_wronly), Errno::enoent);
}

TEST_F(FsTest, OpenRelativeToADirectoryDescriptor) {
  int bin = open("/bin", o_rdonly | o_directory);
  int tool = open("tool", o_rdonly, 0, bin);
  EXPECT_EQ(read_all(tool), "#!tool\n");
  int created = open("made", o_creat | o_wronly, 0700, bin);
  EXPECT_GE(created, 0);
  EXPECT_EQ(stat("/bin/made").mode, s_ifreg | 0700);
  int path_only = open("/usr", o_path);
  EXPECT_EQ(read_all(open("lib/libc.so", o_rdonly, 0, path_only)), "libc");
}

TEST_F(FsTest, OpenFollowsADanglingSymlinkToCreate) {
  ASSERT_TRUE(symlink(*context, "target", kCwd, "/tmp/link"));
  EXPECT_EQ(open_error("/tmp/link", o_creat | o_excl | o_wronly), Errno::eexist);
  EXPECT_EQ(open_error("/tmp/link", o_creat | o_nofollow | o_wronly), Errno::eloop);
  int fd = open("/tmp/link", o_creat | o_wronly);
  write(fd, "via link");
  EXPECT_EQ(stat("/tmp/target").size, 8u);
  ASSERT_TRUE(symlink(*context, "loop", kCwd, "/tmp/loop"));
  EXPECT_EQ(open_error("/tmp/loop", o_creat | o_wronly), Errno::eloop);
}

TEST_F(FsTest, OpathAndNofollowGiveTheSymlinkItself) {
  int fd = open("/lib", o_path | o_nofollow | o_rdwr | o_trunc);
  RefPtr<File> link = file(fd);
  EXPECT_TRUE(link->vnode()->is_symlink());
  EXPECT_EQ(link->flags(), o_path | o_nofollow);
  char target[32];
  auto length = readlink(*context, fd, "", target);
  ASSERT_TRUE(length);
  EXPECT_EQ(std::string(target, *length), "usr/lib");
  EXPECT_EQ(fs::stat(*context, fd, "", at_empty_path)->mode & s_ifmt, s_iflnk);
  EXPECT_EQ(fcntl(*context, fd, f_setfl, o_nonblock).error(), Errno::ebadf);
  EXPECT_EQ(fcntl(*context, fd, f_getfl, 0), o_path | o_nofollow);
  EXPECT_EQ(fchmod(*context, fd, 0700).error(), Errno::ebadf);
}

TEST_F(FsTest, CloexecComesFromOpenAndGoesWithFcntl) {
  int fd = open("/bin/tool", o_rdonly | o_cloexec);
  EXPECT_EQ(fcntl(*context, fd, f_getfd, 0), fd_cloexec);
  ASSERT_TRUE(fcntl(*context, fd, f_setfd, 0));
  EXPECT_EQ(fcntl(*context, fd, f_getfd, 0), 0);
  ASSERT_TRUE(ioctl(*context, fd, fioclex, 0));
  EXPECT_EQ(fcntl(*context, fd, f_getfd, 0), fd_cloexec);
  EXPECT_EQ(fcntl(*context, fd, f_dupfd, 10), 10);
  EXPECT_EQ(fcntl(*context, fd, f_dupfd_cloexec, 10), 11);
  EXPECT_EQ(fcntl(*context, fd, f_getfd, 0), fd_cloexec);
  ASSERT_TRUE(fcntl(*context, fd, f_setfl, o_append | o_nonblock | o_wronly));
  EXPECT_EQ(fcntl(*context, fd, f_getfl, 0), o_rdonly | o_append | o_nonblock | o_cloexec | o_largefile);
  EXPECT_EQ(fcntl(*context, fd, 9999, 0).error(), Errno::einval);
  EXPECT_EQ(fcntl(*context, fd, f_getpipe_sz, 0).error(), Errno::ebadf);
  EXPECT_EQ(fcntl(*context, 77, f_getfd, 0).error(), Errno::ebadf);
}

TEST_F(FsTest, DevicesThroughTheirNodes) {
  int null = open("/dev/null", o_rdwr);
  write(null, "discarded");
  EXPECT_EQ(read_all(null), "");
  EXPECT_EQ(lseek(*context, null, 10, seek_set), 0);
  int zero = open("/dev/zero", o_rdonly);
  std::byte buffer[8];
  EXPECT_EQ(file(zero)->read(buffer), 8u);
  int full = open("/dev/full", o_wronly);
  EXPECT_EQ(file(full)->write(bytes_of("x")).error(), Errno::enospc);
  int urandom = open("/dev/urandom", o_rdonly);
  EXPECT_EQ(file(urandom)->read(buffer), 8u);
  EXPECT_EQ(static_cast<int>(buffer[0]), 1);  // FakeRandom's first byte
  int tty = open("/dev/console", o_rdwr);
  write(tty, "to the console\n");
  EXPECT_EQ(console.output, "to the console\n");
  Termios termios;
  EXPECT_TRUE(ioctl(*context, tty, tcgets, reinterpret_cast<uintptr_t>(&termios)));
  EXPECT_EQ(ioctl(*context, null, tcgets, reinterpret_cast<uintptr_t>(&termios)).error(), Errno::enotty);
  EXPECT_EQ(lseek(*context, tty, 0, seek_cur).error(), Errno::espipe);
  // Shell redirections: "> /dev/null" is O_WRONLY | O_CREAT | O_TRUNC on a device.
  int redirect = open("/dev/null", o_wronly | o_creat | o_trunc, 0666);
  write(redirect, "quiet");
  // A device number nobody serves.
  ASSERT_TRUE(mknod(*context, kCwd, "/tmp/nothing", s_ifchr | 0600, 42, 1));
  EXPECT_EQ(stat("/tmp/nothing").rdev_major, 42u);
  EXPECT_EQ(open_error("/tmp/nothing", o_rdonly), Errno::enxio);
  // mknod'ed elsewhere, a known number opens the same device.
  ASSERT_TRUE(mknod(*context, kCwd, "/tmp/null", s_ifchr | 0666, 1, 3));
  EXPECT_EQ(file(open("/tmp/null", o_rdwr))->write(bytes_of("x")), 1u);
  // /dev/stdin leads to /proc/self/fd/0, which needs a procfs.
  EXPECT_EQ(open_error("/dev/stdin", o_rdonly), Errno::enoent);
}

TEST_F(FsTest, StatFollowsOrNot) {
  EXPECT_EQ(stat("/lib").mode & s_ifmt, s_ifdir);
  EXPECT_EQ(stat("/lib", at_symlink_nofollow).mode, s_iflnk | 0777);
  EXPECT_EQ(stat("/lib", at_symlink_nofollow).size, 7u);
  EXPECT_EQ(stat_error(""), Errno::enoent);
  EXPECT_EQ(stat("", at_empty_path).ino, stat("/").ino);  // the cwd
  EXPECT_EQ(stat_error("/bin", 0x8000), Errno::einval);
  int fd = open("/bin/tool", o_rdonly);
  EXPECT_EQ(fs::stat(*context, fd, "", at_empty_path)->size, 7u);
  EXPECT_EQ(fstat(*context, fd)->ino, stat("/bin/tool").ino);
  EXPECT_EQ(fstat(*context, 99).error(), Errno::ebadf);
}

TEST_F(FsTest, AccessAsRoot) {
  EXPECT_TRUE(access(*context, kCwd, "/bin/tool", x_ok | r_ok | w_ok, 0));
  EXPECT_EQ(access(*context, kCwd, "/etc/hostname", x_ok, 0).error(), Errno::eacces);
  EXPECT_TRUE(access(*context, kCwd, "/etc/hostname", r_ok | w_ok, 0));
  EXPECT_TRUE(access(*context, kCwd, "/etc", x_ok, 0));
  EXPECT_EQ(access(*context, kCwd, "/nope", f_ok, 0).error(), Errno::enoent);
  EXPECT_EQ(access(*context, kCwd, "/bin", 8, 0).error(), Errno::einval);
  EXPECT_EQ(access(*context, kCwd, "/bin", f_ok, at_removedir | at_symlink_follow).error(), Errno::einval);
}

TEST_F(FsTest, ReadlinkTruncatesAndRefusesNonLinks) {
  char small[3];
  EXPECT_EQ(readlink(*context, kCwd, "/lib", small), 3u);
  EXPECT_EQ(std::string(small, 3), "usr");
  EXPECT_EQ(readlink(*context, kCwd, "/bin", small).error(), Errno::einval);
  EXPECT_EQ(readlink(*context, kCwd, "/lib", std::span<char>()).error(), Errno::einval);
  EXPECT_EQ(readlink(*context, kCwd, "", small).error(), Errno::enoent);
}

TEST_F(FsTest, MkdirAndRemovalFollowLinuxRules) {
  ASSERT_TRUE(mkdir(*context, kCwd, "/tmp/d", 0777));
  EXPECT_EQ(stat("/tmp/d").mode, s_ifdir | 0755);
  ASSERT_TRUE(mkdir(*context, kCwd, "/tmp/e/", 0700));
  EXPECT_EQ(mkdir(*context, kCwd, "/tmp/d", 0777).error(), Errno::eexist);
  EXPECT_EQ(mkdir(*context, kCwd, "/tmp/d/.", 0777).error(), Errno::eexist);
  EXPECT_EQ(mkdir(*context, kCwd, "/", 0777).error(), Errno::eexist);
  EXPECT_EQ(mkdir(*context, kCwd, "/lib", 0777).error(), Errno::eexist);  // even a symlink
  EXPECT_EQ(mkdir(*context, kCwd, "/tmp/x/y", 0777).error(), Errno::enoent);
  open("/tmp/d/f", o_creat | o_wronly);

  auto rmdir = [&](std::string_view path) { return unlink(*context, kCwd, path, at_removedir); };
  EXPECT_EQ(rmdir("/tmp/d").error(), Errno::enotempty);
  EXPECT_EQ(rmdir("/tmp/d/.").error(), Errno::einval);
  EXPECT_EQ(rmdir("/tmp/d/..").error(), Errno::enotempty);
  EXPECT_EQ(rmdir("/").error(), Errno::ebusy);
  EXPECT_EQ(rmdir("/dev").error(), Errno::ebusy);  // a mount point
  EXPECT_EQ(rmdir("/tmp/d/f").error(), Errno::enotdir);
  EXPECT_EQ(rmdir("/lib").error(), Errno::enotdir);
  EXPECT_EQ(unlink(*context, kCwd, "/tmp/d", 0).error(), Errno::eisdir);
  EXPECT_EQ(unlink(*context, kCwd, "/tmp/d/f/", 0).error(), Errno::enotdir);
  EXPECT_EQ(unlink(*context, kCwd, "/tmp/d/", 0).error(), Errno::eisdir);
  EXPECT_EQ(unlink(*context, kCwd, "/tmp/..", 0).error(), Errno::eisdir);
  EXPECT_EQ(unlink(*context, kCwd, "/tmp/d/f", at_symlink_nofollow).error(), Errno::einval);
  ASSERT_TRUE(unlink(*context, kCwd, "/tmp/d/f", 0));
  ASSERT_TRUE(rmdir("/tmp/d/"));
  EXPECT_EQ(stat_error("/tmp/d"), Errno::enoent);
  ASSERT_TRUE(unlink(*context, kCwd, "/lib", 0));  // the link, not its target
  EXPECT_TRUE(stat("/usr/lib").mode & s_ifdir);
}

TEST_F(FsTest, UnlinkedFilesLiveWhileOpen) {
  int fd = open("/tmp/scratch", o_creat | o_rdwr);
  write(fd, "temporary");
  ASSERT_TRUE(unlink(*context, kCwd, "/tmp/scratch", 0));
  EXPECT_EQ(stat_error("/tmp/scratch"), Errno::enoent);
  EXPECT_EQ(fstat(*context, fd)->nlink, 0u);
  ASSERT_EQ(lseek(*context, fd, 0, seek_set), 0);
  EXPECT_EQ(read_all(fd), "temporary");
  EXPECT_GT(pages.outstanding(), 0u);
  ASSERT_TRUE(close(*context, fd));
  EXPECT_EQ(pages.outstanding(), 0u);
}

TEST_F(FsTest, RenameAcrossDirectoriesButNotFileSystems) {
  open("/tmp/a", o_creat | o_wronly);
  ASSERT_TRUE(mkdir(*context, kCwd, "/tmp/dir", 0755));
  ASSERT_TRUE(rename(*context, kCwd, "/tmp/a", kCwd, "/tmp/dir/b", 0));
  EXPECT_EQ(stat_error("/tmp/a"), Errno::enoent);
  EXPECT_TRUE(stat("/tmp/dir/b").mode & s_ifreg);
  EXPECT_EQ(rename(*context, kCwd, "/tmp/dir/b", kCwd, "/dev/b", 0).error(), Errno::exdev);
  EXPECT_EQ(rename(*context, kCwd, "/dev", kCwd, "/devices", 0).error(), Errno::ebusy);
  EXPECT_EQ(rename(*context, kCwd, "/tmp/dir/b/", kCwd, "/tmp/c", 0).error(), Errno::enotdir);
  EXPECT_EQ(rename(*context, kCwd, "/tmp/dir/b", kCwd, "/tmp/c/", 0).error(), Errno::enotdir);
  EXPECT_EQ(rename(*context, kCwd, "/tmp/.", kCwd, "/tmp/c", 0).error(), Errno::ebusy);
  EXPECT_EQ(rename(*context, kCwd, "/tmp/dir/b", kCwd, "/tmp/..", 0).error(), Errno::ebusy);
  EXPECT_EQ(rename(*context, kCwd, "/tmp/dir/b", kCwd, "/tmp/..", rename_noreplace).error(), Errno::eexist);
  EXPECT_EQ(rename(*context, kCwd, "/tmp/dir/b", kCwd, "/tmp/c", rename_whiteout).error(), Errno::einval);
  EXPECT_EQ(rename(*context, kCwd, "/tmp/nope", kCwd, "/tmp/c", 0).error(), Errno::enoent);
  ASSERT_TRUE(rename(*context, kCwd, "/tmp/dir", kCwd, "/tmp/moved/", 0));
  EXPECT_TRUE(stat("/tmp/moved/b").mode & s_ifreg);
}

TEST_F(FsTest, HardAndSymbolicLinks) {
  int fd = open("/tmp/original", o_creat | o_wronly);
  write(fd, "shared");
  ASSERT_TRUE(link(*context, kCwd, "/tmp/original", kCwd, "/tmp/second", 0));
  EXPECT_EQ(stat("/tmp/second").nlink, 2u);
  EXPECT_EQ(link(*context, kCwd, "/tmp", kCwd, "/tmp/dirlink", 0).error(), Errno::eperm);
  EXPECT_EQ(link(*context, kCwd, "/tmp/original", kCwd, "/tmp/second", 0).error(), Errno::eexist);
  EXPECT_EQ(link(*context, kCwd, "/tmp/original", kCwd, "/dev/x", 0).error(), Errno::exdev);
  EXPECT_EQ(link(*context, kCwd, "/tmp/original", kCwd, "/tmp/x/", 0).error(), Errno::enoent);
  ASSERT_TRUE(link(*context, fd, "", kCwd, "/tmp/third", at_empty_path));
  EXPECT_EQ(stat("/tmp/third").nlink, 3u);
  // A link to a symlink is a link to the symlink, unless AT_SYMLINK_FOLLOW.
  ASSERT_TRUE(symlink(*context, "original", kCwd, "/tmp/soft"));
  ASSERT_TRUE(link(*context, kCwd, "/tmp/soft", kCwd, "/tmp/soft2", 0));
  EXPECT_EQ(stat("/tmp/soft2", at_symlink_nofollow).mode & s_ifmt, s_iflnk);
  ASSERT_TRUE(link(*context, kCwd, "/tmp/soft", kCwd, "/tmp/hard", at_symlink_follow));
  EXPECT_EQ(stat("/tmp/hard", at_symlink_nofollow).ino, stat("/tmp/original").ino);
  EXPECT_EQ(symlink(*context, "", kCwd, "/tmp/empty").error(), Errno::enoent);
  EXPECT_EQ(symlink(*context, "x", kCwd, "/tmp/soft").error(), Errno::eexist);
}

TEST_F(FsTest, AttributesChange) {
  ASSERT_TRUE(chmod(*context, kCwd, "/bin/tool", 04700, 0));
  EXPECT_EQ(stat("/bin/tool").mode, s_ifreg | 04700);
  EXPECT_EQ(chmod(*context, kCwd, "/lib", 0700, at_symlink_nofollow).error(), Errno::enotsup);
  ASSERT_TRUE(chown(*context, kCwd, "/bin/tool", 1000, UINT32_MAX, 0));
  EXPECT_EQ(stat("/bin/tool").uid, 1000u);
  EXPECT_EQ(stat("/bin/tool").gid, 0u);
  ASSERT_TRUE(chown(*context, kCwd, "/lib", 5, 6, at_symlink_nofollow));
  EXPECT_EQ(stat("/lib", at_symlink_nofollow).uid, 5u);
  EXPECT_EQ(stat("/usr/lib").uid, 0u);
  int fd = open("/bin/tool", o_rdonly);
  ASSERT_TRUE(fchmod(*context, fd, 0755));
  ASSERT_TRUE(fchown(*context, fd, 0, 0));
  EXPECT_EQ(stat("/bin/tool").mode, s_ifreg | 0755);
}

TEST_F(FsTest, Utimensat) {
  TimeSpec times[2] = {{100, 5}, {200, 6}};
  ASSERT_TRUE(utimens(*context, kCwd, "/bin/tool", times, 0));
  EXPECT_EQ(stat("/bin/tool").atime_ns, 100'000'000'005);
  EXPECT_EQ(stat("/bin/tool").mtime_ns, 200'000'000'006);
  g_fake_now = 777;
  TimeSpec some[2] = {{0, utime_omit}, {0, utime_now}};
  ASSERT_TRUE(utimens(*context, kCwd, "/bin/tool", some, 0));
  EXPECT_EQ(stat("/bin/tool").atime_ns, 100'000'000'005);
  EXPECT_EQ(stat("/bin/tool").mtime_ns, 777);
  ASSERT_TRUE(utimens(*context, kCwd, "/bin/tool", nullptr, 0));
  EXPECT_EQ(stat("/bin/tool").atime_ns, 777);
  TimeSpec bad[2] = {{0, 1'000'000'000}, {0, 0}};
  EXPECT_EQ(utimens(*context, kCwd, "/bin/tool", bad, 0).error(), Errno::einval);
  TimeSpec omit[2] = {{0, utime_omit}, {0, utime_omit}};
  EXPECT_TRUE(utimens(*context, kCwd, "/missing", omit, 0));  // not even looked up
  int fd = open("/bin/tool", o_rdonly);
  ASSERT_TRUE(utimens(*context, fd, std::nullopt, times, 0));
  EXPECT_EQ(stat("/bin/tool").mtime_ns, 200'000'000'006);
  EXPECT_EQ(utimens(*context, kCwd, std::nullopt, times, 0).error(), Errno::efault);
  EXPECT_EQ(utimens(*context, fd, std::nullopt, times, at_symlink_nofollow).error(), Errno::einval);
  int path_only = open("/bin/tool", o_path);
  EXPECT_EQ(utimens(*context, path_only, std::nullopt, times, 0).error(), Errno::ebadf);
}

TEST_F(FsTest, TruncateAndStatfs) {
  int fd = open("/tmp/t", o_creat | o_wronly);
  write(fd, "0123456789");
  ASSERT_TRUE(truncate(*context, "/tmp/t", 3));
  EXPECT_EQ(stat("/tmp/t").size, 3u);
  EXPECT_EQ(truncate(*context, "/tmp", 0).error(), Errno::eisdir);
  EXPECT_EQ(truncate(*context, "/tmp/t", -1).error(), Errno::einval);
  EXPECT_EQ(truncate(*context, "/dev/null", 0).error(), Errno::einval);
  EXPECT_EQ(statfs(*context, "/tmp")->type, tmpfs_magic);
  EXPECT_EQ(statfs(*context, "/dev/null")->dev_minor, vfs->dev_fs().device_minor());
  EXPECT_EQ(fstatfs(*context, fd)->type, tmpfs_magic);
}

TEST_F(FsTest, ChdirGetcwdAndChroot) {
  EXPECT_EQ(cwd(), "/");
  ASSERT_TRUE(chdir(*context, "/usr/lib"));
  EXPECT_EQ(cwd(), "/usr/lib");
  EXPECT_EQ(stat("libc.so").size, 4u);
  ASSERT_TRUE(chdir(*context, "/lib"));  // a symlink: the cwd is where it leads
  EXPECT_EQ(cwd(), "/usr/lib");
  ASSERT_TRUE(chdir(*context, "/dev/shm"));
  EXPECT_EQ(cwd(), "/dev/shm");  // across the mount
  ASSERT_TRUE(chdir(*context, "../.."));
  EXPECT_EQ(cwd(), "/");
  EXPECT_EQ(chdir(*context, "/bin/tool").error(), Errno::enotdir);
  EXPECT_EQ(chdir(*context, "/nope").error(), Errno::enoent);
  int fd = open("/bin", o_path);
  ASSERT_TRUE(fchdir(*context, fd));
  EXPECT_EQ(cwd(), "/bin");
  char tiny[4];
  EXPECT_EQ(getcwd(*context, tiny).error(), Errno::erange);
  char exact[5];
  EXPECT_EQ(getcwd(*context, exact), 5u);

  ASSERT_TRUE(mkdir(*context, kCwd, "/tmp/gone", 0755));
  ASSERT_TRUE(chdir(*context, "/tmp/gone"));
  ASSERT_TRUE(unlink(*context, kCwd, "/tmp/gone", at_removedir));
  EXPECT_EQ(cwd(), "<2>");  // ENOENT
  ASSERT_TRUE(chdir(*context, ".."));  // ".." still leads out of a removed directory
  EXPECT_EQ(cwd(), "/tmp");

  ASSERT_TRUE(chroot(*context, "/usr"));
  EXPECT_EQ(cwd(), "(unreachable)/tmp");
  ASSERT_TRUE(chdir(*context, "/"));
  EXPECT_EQ(cwd(), "/");
  EXPECT_EQ(stat("/lib/libc.so").size, 4u);
  EXPECT_EQ(stat("/../../lib/libc.so").size, 4u);
}

// nginx's master sets F_SETOWN on the channel to each worker; a process or a group (< 0) is
// kept per open file, shared by duplicates, and only INT_MIN is refused.
// F_SETOWN's owner and F_SETSIG's signal belong to the open file description: a dup'd
// descriptor sees them, the pipe's other end does not. (The syscall layer checks and records
// them; fs::fcntl leaves those commands to it.)
TEST_F(FsTest, SignalOwnerIsKeptPerOpenFile) {
  auto fds = pipe(*context, 0);
  ASSERT_TRUE(fds);
  auto [reader, writer] = *fds;
  EXPECT_EQ(fcntl(*context, reader, f_setown, 42).error(), Errno::einval);
  RefPtr<File> read_end = *context->fds().get(reader);
  EXPECT_EQ(read_end->signal_owner().id, 0);
  SignalOwner owner;
  owner.kind = SignalOwner::process;
  owner.id = 42;
  read_end->set_signal_owner(owner);
  read_end->set_readiness_signal(10);
  int duplicate = static_cast<int>(*fcntl(*context, reader, f_dupfd, 0));
  RefPtr<File> copy = *context->fds().get(duplicate);
  EXPECT_EQ(copy->signal_owner().id, 42);
  EXPECT_EQ(copy->readiness_signal(), 10);
  RefPtr<File> write_end = *context->fds().get(writer);
  EXPECT_EQ(write_end->signal_owner().id, 0);
  EXPECT_EQ(write_end->readiness_signal(), 0);
}

TEST_F(FsTest, PipesThroughDescriptors) {
  auto fds = pipe(*context, o_cloexec);
  ASSERT_TRUE(fds);
  auto [reader, writer] = *fds;
  EXPECT_EQ(fcntl(*context, reader, f_getfd, 0), fd_cloexec);
  write(writer, "through the pipe");
  std::byte buffer[64];
  EXPECT_EQ(file(reader)->read(buffer), 16u);
  EXPECT_EQ(fcntl(*context, writer, f_getpipe_sz, 0), 65536);
  EXPECT_EQ(fcntl(*context, writer, f_setpipe_sz, 8192), 8192);
  int waiting = -1;
  ASSERT_TRUE(ioctl(*context, reader, fionread, reinterpret_cast<uintptr_t>(&waiting)));
  EXPECT_EQ(waiting, 0);
  EXPECT_EQ(fstat(*context, reader)->mode, s_ififo | 0600);
  ASSERT_TRUE(close(*context, writer));
  EXPECT_EQ(file(reader)->read(buffer), 0u);
  EXPECT_EQ(pipe(*context, o_sync).error(), Errno::einval);
}

TEST_F(FsTest, NamedFifos) {
  ASSERT_TRUE(mknod(*context, kCwd, "/tmp/fifo", s_ififo | 0644, 0, 0));
  EXPECT_EQ(stat("/tmp/fifo").mode, s_ififo | 0644);
  EXPECT_EQ(open_error("/tmp/fifo", o_wronly | o_nonblock), Errno::enxio);
  int reader = open("/tmp/fifo", o_rdonly | o_nonblock);
  int writer = open("/tmp/fifo", o_wronly | o_nonblock);
  write(writer, "named");
  std::byte buffer[16];
  EXPECT_EQ(file(reader)->read(buffer), 5u);
  int both = open("/tmp/fifo", o_rdwr);  // never waits
  write(both, "x");
  EXPECT_EQ(file(reader)->read(buffer), 1u);
  // Once everyone closed it, the FIFO starts empty again.
  write(writer, "left behind");
  for (int fd : {reader, writer, both}) ASSERT_TRUE(close(*context, fd));
  reader = open("/tmp/fifo", o_rdonly | o_nonblock);
  EXPECT_EQ(file(reader)->read(buffer), 0u);
}

TEST_F(FsTest, Sendfile) {
  int in = open("/tmp/in", o_creat | o_rdwr);
  std::string data(200000, 'x');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>('a' + i % 26);
  write(in, data);
  int out = open("/tmp/out", o_creat | o_wronly);
  int64_t offset = 10;
  EXPECT_EQ(sendfile(*context, out, in, &offset, 100000), 100000u);
  EXPECT_EQ(offset, 100010);
  EXPECT_EQ(file(in)->position(), 200000u);  // untouched with an explicit offset
  ASSERT_EQ(lseek(*context, in, 199990, seek_set), 199990);
  EXPECT_EQ(sendfile(*context, out, in, nullptr, 100), 10u);
  EXPECT_EQ(file(in)->position(), 200000u);
  EXPECT_EQ(read_all(open("/tmp/out", o_rdonly)), data.substr(10, 100000) + data.substr(199990));
  EXPECT_EQ(sendfile(*context, in, out, nullptr, 1).error(), Errno::ebadf);  // out is write-only
  int appender = open("/tmp/out", o_wronly | o_append);
  EXPECT_EQ(sendfile(*context, appender, in, &offset, 1).error(), Errno::einval);
  // Into a pipe that fills up: what fit, and the input position says so.
  auto fds = pipe(*context, o_nonblock);
  ASSERT_TRUE(fds);
  ASSERT_EQ(lseek(*context, in, 0, seek_set), 0);
  EXPECT_EQ(sendfile(*context, (*fds)[1], in, nullptr, 200000), 65536u);
  EXPECT_EQ(file(in)->position(), 65536u);
  EXPECT_EQ(sendfile(*context, (*fds)[1], in, nullptr, 10).error(), Errno::eagain);
}

TEST_F(FsTest, SpliceMovesBytesBetweenAPipeAndAFile) {
  int in = open("/tmp/in", o_creat | o_rdwr);
  write(in, "0123456789");
  auto fds = pipe(*context, o_nonblock);
  ASSERT_TRUE(fds);
  int reader = (*fds)[0], writer = (*fds)[1];
  // File -> pipe at an explicit offset: the offset advances, the file position does not.
  int64_t offset = 2;
  EXPECT_EQ(splice(*context, in, &offset, writer, nullptr, 5, 0), 5u);
  EXPECT_EQ(offset, 7);
  EXPECT_EQ(file(in)->position(), 10u);
  // Pipe -> file: what the file took leaves the pipe.
  int out = open("/tmp/out", o_creat | o_rdwr);
  EXPECT_EQ(splice(*context, reader, nullptr, out, nullptr, 3, 0), 3u);
  EXPECT_EQ(read_all(open("/tmp/out", o_rdonly)), "234");
  // tee copies what waits without taking it: the pipe still holds "56".
  auto copy = pipe(*context, o_nonblock);
  ASSERT_TRUE(copy);
  EXPECT_EQ(tee(*context, reader, (*copy)[1], 100, 0), 2u);
  EXPECT_EQ(file(reader)->ops()->as_pipe()->bytes_waiting(), 2u);
  std::vector<std::byte> buffer(16);
  EXPECT_EQ(file((*copy)[0])->read(buffer), 2u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buffer.data()), 2), "56");
  EXPECT_EQ(splice(*context, reader, nullptr, out, nullptr, 100, 0), 2u);
  // Empty pipe: EAGAIN with SPLICE_F_NONBLOCK (or O_NONBLOCK), never a hang.
  EXPECT_EQ(splice(*context, reader, nullptr, out, nullptr, 1, 2).error(), Errno::eagain);
  // Linux's rules: one end must be a pipe, a pipe has no offset, unknown flags are refused.
  EXPECT_EQ(splice(*context, in, nullptr, out, nullptr, 1, 0).error(), Errno::einval);
  EXPECT_EQ(splice(*context, reader, &offset, out, nullptr, 1, 0).error(), Errno::espipe);
  EXPECT_EQ(splice(*context, in, nullptr, writer, nullptr, 1, 0x100).error(), Errno::einval);
  EXPECT_EQ(tee(*context, in, writer, 1, 0).error(), Errno::einval);
  // No writer left: end of file.
  ASSERT_TRUE(close(*context, writer));
  EXPECT_EQ(splice(*context, reader, nullptr, out, nullptr, 1, 0), 0u);
}

TEST_F(FsTest, Getdents64ThroughADescriptorSeesTheMount) {
  int fd = open("/", o_rdonly | o_directory);
  std::vector<std::byte> buffer(4096);
  auto length = file(fd)->getdents64(buffer);
  ASSERT_TRUE(length);
  std::vector<std::string> names;
  for (size_t at = 0; at < *length;) {
    uint16_t reclen;
    memcpy(&reclen, buffer.data() + at + 16, 2);
    names.emplace_back(reinterpret_cast<const char*>(buffer.data() + at + 19));
    at += reclen;
  }
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "bin", "etc", "usr", "lib", "dev", "tmp", "proc", "sys"}));
  int dev = open("/dev", o_rdonly | o_directory);
  length = file(dev)->getdents64(buffer);
  ASSERT_TRUE(length);
  EXPECT_GT(*length, 200u);
}

TEST_F(FsTest, DescriptorsRunOutAtTheLimit) {
  ASSERT_TRUE(context->fds().set_limit(4));
  for (int i = 0; i < 4; i++) open("/bin/tool", o_rdonly);
  EXPECT_EQ(open_error("/bin/tool", o_rdonly), Errno::emfile);
  EXPECT_EQ(pipe(*context, 0).error(), Errno::emfile);
  ASSERT_TRUE(close(*context, 3));
  EXPECT_EQ(pipe(*context, 0).error(), Errno::emfile);  // one slot is not enough
  EXPECT_EQ(context->fds().open_count(), 3u);  // and the half-made pipe was undone
}

}  // namespace
}  // namespace nimbus::fs
