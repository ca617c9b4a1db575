// Tests for file locks: struct flock ranges, the record lock list's merging, splitting and
// conflicts, flock lists, and the lock table (release on close, OFD locks, deadlock detection).
#include "kernel/fs/file_locks.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "kernel/fs/fd_table.h"
#include "kernel/fs/file.h"
#include "tests/unit/fakes/fs_test_support.h"

namespace nimbus::fs {
namespace {

using namespace linux_abi;
using testing::RamFsTest;

constexpr LockOwner kA{LockOwner::Kind::posix, 1};
constexpr LockOwner kB{LockOwner::Kind::posix, 2};
constexpr LockOwner kC{LockOwner::Kind::posix, 3};

RecordLock lock(LockOwner owner, LockType type, uint64_t start, uint64_t end) {
  return RecordLock{start, end, type, owner, static_cast<int32_t>(owner.id)};
}

// The list as "owner:type:start-end" items, in order (E for the end of the file).
std::string describe(const RecordLockList& list) {
  std::string out;
  for (size_t i = 0; i < list.size(); i++) {
    RecordLock l = list.at(i);
    if (!out.empty()) out += " ";
    out += std::to_string(l.owner.id) + (l.type == LockType::read ? ":r:" : ":w:") + std::to_string(l.start) + "-" +
           (l.end == kLockRangeEnd ? std::string("E") : std::to_string(l.end));
  }
  return out;
}

TEST(LockRange, FollowsStructFlock) {
  auto r = lock_range(0, 10, 5);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->start, 10u);
  EXPECT_EQ(r->end, 14u);
  r = lock_range(100, 0, 0);  // SEEK_CUR/SEEK_END base, length 0: to the end
  ASSERT_TRUE(r);
  EXPECT_EQ(r->start, 100u);
  EXPECT_EQ(r->end, kLockRangeEnd);
  r = lock_range(0, 10, -4);  // a negative length locks the bytes before start
  ASSERT_TRUE(r);
  EXPECT_EQ(r->start, 6u);
  EXPECT_EQ(r->end, 9u);
  EXPECT_EQ(lock_range(0, -1, 1).error(), Errno::einval);
  EXPECT_EQ(lock_range(0, 3, -4).error(), Errno::einval);
  EXPECT_EQ(lock_range(0, INT64_MAX, 2).error(), Errno::eoverflow);
  EXPECT_EQ(lock_range(INT64_MAX, 1, 0).error(), Errno::eoverflow);
  r = lock_range(0, INT64_MAX, 1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->end, kLockRangeEnd);
}

TEST(RecordLockList, AdjacentAndOverlappingLocksOfOneTypeMerge) {
  RecordLockList list;
  ASSERT_TRUE(list.apply(lock(kA, LockType::read, 0, 9)));
  ASSERT_TRUE(list.apply(lock(kA, LockType::read, 20, 29)));
  EXPECT_EQ(describe(list), "1:r:0-9 1:r:20-29");
  ASSERT_TRUE(list.apply(lock(kA, LockType::read, 10, 19)));
  EXPECT_EQ(describe(list), "1:r:0-29");
  ASSERT_TRUE(list.apply(lock(kA, LockType::read, 25, 40)));
  EXPECT_EQ(describe(list), "1:r:0-40");
}

TEST(RecordLockList, UnlockingTheMiddleSplitsALock) {
  RecordLockList list;
  ASSERT_TRUE(list.apply(lock(kA, LockType::write, 0, kLockRangeEnd)));
  ASSERT_TRUE(list.apply(lock(kA, LockType::unlock, 100, 199)));
  EXPECT_EQ(describe(list), "1:w:0-99 1:w:200-E");
  ASSERT_TRUE(list.apply(lock(kA, LockType::unlock, 50, 250)));
  EXPECT_EQ(describe(list), "1:w:0-49 1:w:251-E");
  ASSERT_TRUE(list.apply(lock(kA, LockType::unlock, 0, kLockRangeEnd)));
  EXPECT_TRUE(list.empty());
}

TEST(RecordLockList, UpgradingPartOfAReadLockSplitsIt) {
  RecordLockList list;
  ASSERT_TRUE(list.apply(lock(kA, LockType::read, 0, 99)));
  ASSERT_TRUE(list.apply(lock(kA, LockType::write, 40, 59)));
  EXPECT_EQ(describe(list), "1:r:0-39 1:w:40-59 1:r:60-99");
  // Downgrading it again merges the three back into one.
  ASSERT_TRUE(list.apply(lock(kA, LockType::read, 40, 59)));
  EXPECT_EQ(describe(list), "1:r:0-99");
  // A write lock over both ends of two read locks trims them.
  ASSERT_TRUE(list.apply(lock(kA, LockType::read, 200, 299)));
  ASSERT_TRUE(list.apply(lock(kA, LockType::write, 50, 249)));
  EXPECT_EQ(describe(list), "1:r:0-49 1:w:50-249 1:r:250-299");
}

TEST(RecordLockList, OnlyOtherOwnersConflictAndOnlyWithAWriteLock) {
  RecordLockList list;
  ASSERT_TRUE(list.apply(lock(kA, LockType::read, 0, 9)));
  ASSERT_TRUE(list.apply(lock(kA, LockType::write, 20, 29)));
  EXPECT_FALSE(list.find_conflict(lock(kA, LockType::write, 0, 100)));  // its own locks
  EXPECT_FALSE(list.find_conflict(lock(kB, LockType::read, 0, 19)));    // read with read
  auto conflict = list.find_conflict(lock(kB, LockType::write, 5, 5));
  ASSERT_TRUE(conflict);
  EXPECT_EQ(conflict->owner, kA);
  EXPECT_EQ(conflict->start, 0u);
  EXPECT_EQ(conflict->end, 9u);
  conflict = list.find_conflict(lock(kB, LockType::read, 15, 25));
  ASSERT_TRUE(conflict);
  EXPECT_EQ(conflict->start, 20u);
  EXPECT_EQ(conflict->type, LockType::write);
  // Another owner's locks stay as they are when one owner's change.
  ASSERT_TRUE(list.apply(lock(kB, LockType::read, 0, 9)));
  ASSERT_TRUE(list.apply(lock(kA, LockType::unlock, 0, kLockRangeEnd)));
  EXPECT_EQ(describe(list), "2:r:0-9");
  // An OFD owner is never the POSIX owner with the same number.
  EXPECT_TRUE(list.find_conflict(lock(LockOwner{LockOwner::Kind::ofd, 2}, LockType::write, 0, 0)));
}

TEST(RecordLockList, RemovingAnOwnerKeepsTheOthers) {
  RecordLockList list;
  ASSERT_TRUE(list.apply(lock(kA, LockType::read, 0, 9)));
  ASSERT_TRUE(list.apply(lock(kB, LockType::read, 5, 15)));
  ASSERT_TRUE(list.apply(lock(kA, LockType::write, 30, 39)));
  EXPECT_TRUE(list.remove_owner(kA));
  EXPECT_FALSE(list.remove_owner(kA));
  EXPECT_EQ(describe(list), "2:r:5-15");
}

TEST(FlockList, SharedLocksCoexistAndExclusiveOnesDoNot) {
  FlockList list;
  EXPECT_FALSE(list.conflicts(1, FlockOperation::exclusive));
  ASSERT_TRUE(list.add(1, FlockOperation::shared));
  EXPECT_FALSE(list.conflicts(2, FlockOperation::shared));
  EXPECT_TRUE(list.conflicts(2, FlockOperation::exclusive));
  EXPECT_FALSE(list.conflicts(1, FlockOperation::exclusive));  // its own lock
  EXPECT_EQ(list.held(1), FlockOperation::shared);
  EXPECT_TRUE(list.remove(1));
  EXPECT_FALSE(list.held(1));
  EXPECT_TRUE(list.empty());
}

class FileLockTableTest : public RamFsTest {
 protected:
  RefPtr<File> open(RefPtr<Vnode> vnode, uint32_t flags = o_rdwr) {
    auto file = File::try_create(std::move(vnode), flags);
    EXPECT_TRUE(file);
    return file ? *file : nullptr;
  }
};

TEST_F(FileLockTableTest, ClosingAnyDescriptorOfTheFileDropsTheTablesLocks) {
  RefPtr<Vnode> vnode = make_file("f", "data");
  FdTable fds;
  int first = *fds.install(open(vnode), false);
  int second = *fds.install(open(vnode), false);
  RecordLock mine = lock(posix_lock_owner(fds), LockType::write, 0, 0);
  ASSERT_TRUE(set_record_lock(*vnode, mine, false));
  RecordLock theirs = lock(kB, LockType::write, 0, 0);
  EXPECT_EQ(set_record_lock(*vnode, theirs, false).error(), Errno::eagain);
  // Closing the other descriptor, not the one that locked, releases the lock.
  ASSERT_TRUE(fds.close(second));
  EXPECT_FALSE(test_record_lock(*vnode, theirs));
  ASSERT_TRUE(set_record_lock(*vnode, theirs, false));
  ASSERT_TRUE(set_record_lock(*vnode, lock(kB, LockType::unlock, 0, kLockRangeEnd), false));
  ASSERT_TRUE(fds.close(first));
}

TEST_F(FileLockTableTest, DescriptionLocksGoWithTheLastClose) {
  RefPtr<Vnode> vnode = make_file("f", "data");
  RefPtr<File> one = open(vnode);
  RefPtr<File> two = open(vnode);
  ASSERT_TRUE(set_record_lock(*vnode, lock(ofd_lock_owner(*one), LockType::write, 0, 9), false));
  ASSERT_TRUE(flock(*one, FlockOperation::exclusive, false));
  EXPECT_EQ(flock(*two, FlockOperation::shared, false).error(), Errno::eagain);
  auto conflict = test_record_lock(*vnode, lock(ofd_lock_owner(*two), LockType::read, 5, 5));
  ASSERT_TRUE(conflict);
  EXPECT_EQ(conflict->owner, ofd_lock_owner(*one));
  RefPtr<File> copy = one;  // a dup: the description lives on
  one = nullptr;
  EXPECT_EQ(flock(*two, FlockOperation::shared, false).error(), Errno::eagain);
  copy = nullptr;
  EXPECT_TRUE(flock(*two, FlockOperation::shared, false));
  EXPECT_FALSE(test_record_lock(*vnode, lock(ofd_lock_owner(*two), LockType::write, 0, 9)));
  EXPECT_TRUE(flock(*two, FlockOperation::unlock, false));
}

TEST_F(FileLockTableTest, AWaitThatWouldCloseACycleIsADeadlock) {
  RefPtr<Vnode> vnode = make_file("f", "data");
  ASSERT_TRUE(set_record_lock(*vnode, lock(kA, LockType::write, 0, 0), false));
  ASSERT_TRUE(set_record_lock(*vnode, lock(kB, LockType::write, 1, 1), false));
  ASSERT_TRUE(set_record_lock(*vnode, lock(kC, LockType::write, 2, 2), false));
  // B waits for A's byte, C for B's: A asking for C's byte would close the cycle.
  std::atomic<int> acquired{0};
  std::thread b([&] {
    EXPECT_TRUE(set_record_lock(*vnode, lock(kB, LockType::write, 0, 0), true));
    acquired++;
  });
  std::thread c([&] {
    EXPECT_TRUE(set_record_lock(*vnode, lock(kC, LockType::write, 1, 1), true));
    acquired++;
  });
  while (!is_blocked(kB) || !is_blocked(kC)) std::this_thread::yield();
  Result<> outcome = set_record_lock(*vnode, lock(kA, LockType::write, 2, 2), true);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error(), Errno::edeadlk);
  EXPECT_EQ(acquired.load(), 0);
  // A gives up its byte: B gets it, then frees its own byte for C.
  ASSERT_TRUE(set_record_lock(*vnode, lock(kA, LockType::unlock, 0, kLockRangeEnd), false));
  b.join();
  ASSERT_TRUE(set_record_lock(*vnode, lock(kB, LockType::unlock, 0, kLockRangeEnd), false));
  c.join();
  EXPECT_EQ(acquired.load(), 2);
  ASSERT_TRUE(set_record_lock(*vnode, lock(kC, LockType::unlock, 0, kLockRangeEnd), false));
}

}  // namespace
}  // namespace nimbus::fs
