// Tests for FdTable: lowest-free allocation, dup/dup2/dup3, FD_CLOEXEC, close_range, limits.
#include "kernel/fs/fd_table.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "tests/unit/fakes/fs_test_support.h"

namespace nimbus::fs {
namespace {

using namespace testing;
using namespace linux_abi;

class FdTableTest : public RamFsTest {
 protected:
  RefPtr<File> new_file() {
    auto file = File::try_create(make_file("f" + std::to_string(m_files++)), o_rdwr);
    EXPECT_TRUE(file);
    return *file;
  }
  int install(bool cloexec = false) {
    auto fd = table.install(new_file(), cloexec);
    EXPECT_TRUE(fd);
    return fd ? *fd : -1;
  }

  FdTable table;
  int m_files = 0;
};

TEST_F(FdTableTest, HandsOutTheLowestFreeDescriptor) {
  EXPECT_EQ(install(), 0);
  EXPECT_EQ(install(), 1);
  EXPECT_EQ(install(), 2);
  ASSERT_TRUE(table.close(1));
  EXPECT_EQ(install(), 1);
  ASSERT_TRUE(table.close(0));
  ASSERT_TRUE(table.close(2));
  EXPECT_EQ(install(), 0);
  EXPECT_EQ(install(), 2);
  EXPECT_EQ(install(), 3);
  EXPECT_EQ(table.open_count(), 4u);
  EXPECT_EQ(*table.install(new_file(), false, 10), 10);
  EXPECT_EQ(install(), 4);
}

TEST_F(FdTableTest, BadDescriptorsAreEbadf) {
  EXPECT_EQ(table.get(0).error(), Errno::ebadf);
  EXPECT_EQ(table.get(-1).error(), Errno::ebadf);
  EXPECT_EQ(table.get(1 << 30).error(), Errno::ebadf);
  EXPECT_EQ(table.close(3).error(), Errno::ebadf);
  int fd = install();
  ASSERT_TRUE(table.close(fd));
  EXPECT_EQ(table.close(fd).error(), Errno::ebadf);
  EXPECT_EQ(table.descriptor_flags(fd).error(), Errno::ebadf);
  EXPECT_EQ(table.dup(fd).error(), Errno::ebadf);
}

TEST_F(FdTableTest, DupSharesTheFileAndItsOffset) {
  int fd = install(true);
  int copy = *table.dup(fd);
  EXPECT_EQ(copy, 1);
  EXPECT_EQ(*table.get(fd), *table.get(copy));
  ASSERT_TRUE((*table.get(fd))->write(bytes_of("abc")));
  EXPECT_EQ((*table.get(copy))->position(), 3u);
  // The copy does not inherit FD_CLOEXEC.
  EXPECT_EQ(table.descriptor_flags(fd), fd_cloexec);
  EXPECT_EQ(table.descriptor_flags(copy), 0u);
  // The file lives while any descriptor does.
  RefPtr<File> file = *table.get(fd);
  EXPECT_EQ(file->ref_count(), 3u);
  ASSERT_TRUE(table.close(fd));
  EXPECT_EQ(file->ref_count(), 2u);
}

TEST_F(FdTableTest, Dup2AndDup3) {
  int a = install();
  int b = install();
  RefPtr<File> b_file = *table.get(b);
  EXPECT_EQ(table.dup2(a, b), b);  // closes b's old file
  EXPECT_EQ(*table.get(b), *table.get(a));
  EXPECT_EQ(b_file->ref_count(), 1u);
  EXPECT_EQ(table.dup2(a, a), a);
  EXPECT_EQ(table.dup2(7, 7).error(), Errno::ebadf);
  EXPECT_EQ(table.dup2(a, 500), 500);
  EXPECT_EQ(table.dup2(a, -1).error(), Errno::ebadf);
  EXPECT_EQ(table.dup2(a, 1024).error(), Errno::ebadf);
  EXPECT_EQ(table.dup2(99, 3).error(), Errno::ebadf);
  EXPECT_EQ(install(), 2);

  EXPECT_EQ(table.dup3(a, a, 0).error(), Errno::einval);
  EXPECT_EQ(table.dup3(a, 5, o_nonblock).error(), Errno::einval);
  EXPECT_EQ(table.dup3(a, 5, o_cloexec), 5);
  EXPECT_EQ(table.descriptor_flags(5), fd_cloexec);
  EXPECT_EQ(table.dup3(b, 5, 0), 5);
  EXPECT_EQ(table.descriptor_flags(5), 0u);
  EXPECT_EQ(install(), 3);
}

TEST_F(FdTableTest, FcntlDupfdTakesAMinimum) {
  int fd = install();
  EXPECT_EQ(table.dup_at_least(fd, 10, false), 10);
  EXPECT_EQ(table.dup_at_least(fd, 10, true), 11);
  EXPECT_EQ(table.descriptor_flags(11), fd_cloexec);
  EXPECT_EQ(table.dup_at_least(fd, 1024, false).error(), Errno::einval);
  EXPECT_EQ(table.dup_at_least(fd, -1, false).error(), Errno::einval);
  ASSERT_TRUE(table.set_descriptor_flags(10, fd_cloexec | 2));
  EXPECT_EQ(table.descriptor_flags(10), fd_cloexec);
  ASSERT_TRUE(table.set_descriptor_flags(10, 0));
  EXPECT_EQ(table.descriptor_flags(10), 0u);
}

TEST_F(FdTableTest, TheLimitBoundsNewDescriptors) {
  ASSERT_TRUE(table.set_limit(3));
  EXPECT_EQ(install(), 0);
  EXPECT_EQ(install(), 1);
  EXPECT_EQ(install(), 2);
  EXPECT_EQ(table.install(new_file(), false).error(), Errno::emfile);
  EXPECT_EQ(table.dup(0).error(), Errno::emfile);
  // Lowering the limit keeps what is open; raising it lets more in.
  ASSERT_TRUE(table.set_limit(1));
  EXPECT_TRUE(table.get(2));
  ASSERT_TRUE(table.set_limit(5000));
  EXPECT_EQ(table.dup2(0, 4000), 4000);
  EXPECT_EQ(table.set_limit(FdTable::kMaxLimit + 1).error(), Errno::eperm);
  EXPECT_EQ(table.limit(), 5000u);
}

TEST_F(FdTableTest, FillsAThousandDescriptors) {
  for (int i = 0; i < 1024; i++) ASSERT_EQ(install(), i);
  EXPECT_EQ(table.install(new_file(), false).error(), Errno::emfile);
  ASSERT_TRUE(table.close(517));
  EXPECT_EQ(install(), 517);
}

TEST_F(FdTableTest, CloseRangeClosesOrMarks) {
  for (int i = 0; i < 10; i++) install();
  ASSERT_TRUE(table.close(4));
  ASSERT_TRUE(table.close_range(2, 6, 0));
  for (int fd : {2, 3, 4, 5, 6}) EXPECT_FALSE(table.get(fd)) << fd;
  EXPECT_TRUE(table.get(1));
  EXPECT_TRUE(table.get(7));
  ASSERT_TRUE(table.close_range(8, UINT32_MAX, close_range_cloexec));
  EXPECT_EQ(table.descriptor_flags(8), fd_cloexec);
  EXPECT_EQ(table.descriptor_flags(9), fd_cloexec);
  EXPECT_EQ(table.descriptor_flags(7), 0u);
  EXPECT_EQ(table.close_range(5, 4, 0).error(), Errno::einval);
  EXPECT_EQ(table.close_range(0, 1, 1u << 5).error(), Errno::einval);
  ASSERT_TRUE(table.close_range(0, UINT32_MAX, close_range_unshare));
  EXPECT_EQ(table.open_count(), 0u);
  EXPECT_EQ(install(), 0);
}

TEST_F(FdTableTest, ExecClosesCloexecDescriptors) {
  install(true);
  install(false);
  install(true);
  table.close_on_exec();
  EXPECT_FALSE(table.get(0));
  EXPECT_TRUE(table.get(1));
  EXPECT_FALSE(table.get(2));
  EXPECT_EQ(install(), 0);
}

TEST_F(FdTableTest, ThreadsInstallAndCloseConcurrently) {
  std::vector<RefPtr<File>> files;
  for (int i = 0; i < 4; i++) files.push_back(new_file());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; i++) {
        auto fd = table.install(files[t], false);
        ASSERT_TRUE(fd);
        auto file = table.get(*fd);
        ASSERT_TRUE(file);
        ASSERT_TRUE(table.close(*fd));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(table.open_count(), 0u);
  for (auto& file : files) EXPECT_EQ(file->ref_count(), 1u);
}

}  // namespace
}  // namespace nimbus::fs
