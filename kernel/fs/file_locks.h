// File locks as Linux keeps them: POSIX record locks (fcntl F_SETLK...), open file description
// locks (F_OFD_SETLK...) and flock(2) locks, per file, with waiting and deadlock detection.
//
// Owners, as in Linux (fs/locks.c):
//   - a POSIX record lock belongs to a descriptor table (Linux's files_struct: a process, and
//     its CLONE_FILES threads); closing any descriptor of the file in that table drops all of
//     the table's locks on the file;
//   - an OFD record lock and a flock lock belong to an open file description (a File); they go
//     with the File's last close.
// POSIX and OFD locks share one list per file and conflict whenever their owners differ;
// flock locks are a separate list and never conflict with record locks.
#pragma once

#include <cstdint>
#include <optional>

#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/result.h"

namespace nimbus::fs {

class File;
class FdTable;
class Vnode;

// Linux's OFFSET_MAX: a range "to the end of the file" ends here, whatever the file's size.
constexpr uint64_t kLockRangeEnd = INT64_MAX;

enum class LockType : uint8_t { read, write, unlock };

struct LockOwner {
  enum class Kind : uint8_t { posix, ofd };
  Kind kind = Kind::posix;
  uintptr_t id = 0;
  bool operator==(const LockOwner&) const = default;
};

// The POSIX owner of locks taken through `table`'s descriptors.
LockOwner posix_lock_owner(const FdTable& table);
// The OFD owner of locks taken through `file`.
LockOwner ofd_lock_owner(const File& file);

// A byte range [start, end] (inclusive) held or asked for.
struct RecordLock {
  uint64_t start = 0;
  uint64_t end = kLockRangeEnd;
  LockType type = LockType::read;
  LockOwner owner;
  int32_t pid = 0;  // what F_GETLK reports as l_pid: the setter's pid, -1 for OFD locks
};

// struct flock's (l_start, l_len) from `base` (0, the file position or its size, by
// l_whence) to an inclusive range, as Linux's flock_to_posix_lock: EINVAL for a range that
// starts before 0, EOVERFLOW for one that ends past OFFSET_MAX; a length of 0 runs to the end.
struct LockRange {
  uint64_t start;
  uint64_t end;
};
Result<LockRange> lock_range(int64_t base, int64_t start, int64_t length);

// One file's record locks. Each owner's ranges are disjoint; an owner's new lock replaces
// whatever the owner held in its range (splitting a larger lock of the other type, upgrading
// or downgrading), and merges with its touching or overlapping locks of the same type.
// Pure logic; the caller serializes access.
class RecordLockList {
 public:
  RecordLockList() = default;
  RecordLockList(const RecordLockList&) = delete;
  RecordLockList& operator=(const RecordLockList&) = delete;
  ~RecordLockList();

  // The first lock (lowest start) of another owner that overlaps `request` where one of the
  // two is a write lock: what F_GETLK reports and what F_SETLK must wait for.
  std::optional<RecordLock> find_conflict(const RecordLock& request) const;
  // Sets (read, write) or clears (unlock) `request`'s range for its owner. The caller has
  // checked find_conflict. ENOLCK when out of memory, with nothing changed.
  Result<> apply(const RecordLock& request);
  // Drops every lock of `owner`; whether it held any.
  bool remove_owner(LockOwner owner);
  bool empty() const { return m_entries.empty(); }
  size_t size() const { return m_entries.size(); }
  // The i-th lock in the list's order (by start), for tests and reports.
  RecordLock at(size_t index) const;

 private:
  struct Entry {
    RecordLock lock;
    ListNode node;
  };
  void insert_sorted(Entry* entry);

  IntrusiveList<Entry, &Entry::node> m_entries;  // ordered by start
};

// flock(2) operations.
enum class FlockOperation : uint8_t { shared, exclusive, unlock };

// One file's flock locks: at most one per open file description.
class FlockList {
 public:
  FlockList() = default;
  FlockList(const FlockList&) = delete;
  FlockList& operator=(const FlockList&) = delete;
  ~FlockList();

  // Whether another description's lock stands in the way of `operation` by `owner`.
  bool conflicts(uintptr_t owner, FlockOperation operation) const;
  // The description's current lock, if any.
  std::optional<FlockOperation> held(uintptr_t owner) const;
  // Drops `owner`'s lock; whether it had one.
  bool remove(uintptr_t owner);
  // Records `owner`'s lock (after remove and conflicts): ENOLCK when out of memory.
  Result<> add(uintptr_t owner, FlockOperation operation);
  bool empty() const { return m_entries.empty(); }

 private:
  struct Entry {
    uintptr_t owner;
    bool exclusive;
    ListNode node;
  };
  IntrusiveList<Entry, &Entry::node> m_entries;
};

// --- every file's locks (one lock over all of them: file locks are rare and brief, and
// deadlock detection looks across files) ---

// F_GETLK / F_OFD_GETLK: the lock that would block `request` on `file`, if any.
std::optional<RecordLock> test_record_lock(const Vnode& file, const RecordLock& request);
// F_SETLK(W) / F_OFD_SETLK(W): sets or clears `request`'s range. A conflict is EAGAIN
// without `wait`; with it the caller sleeps until the range is free: EDEADLK when the
// owner it waits for waits (through a chain of POSIX owners) for the caller's owner,
// ERESTARTSYS when a signal interrupts the wait. ENOLCK when out of memory.
Result<> set_record_lock(const Vnode& file, const RecordLock& request, bool wait);
// Whether the POSIX owner `owner` sleeps in F_SETLKW.
bool is_blocked(LockOwner owner);
// flock(2) on `description`'s file: a conversion drops the old lock first, as Linux does.
// EWOULDBLOCK without `wait` when another description's lock is in the way; ERESTARTSYS when
// a signal interrupts the wait.
Result<> flock(const File& description, FlockOperation operation, bool wait);
// A descriptor of `file` closed in the table `owner`: its POSIX locks on the file go.
void release_posix_locks(const Vnode& file, LockOwner owner);
// The last close of `description`: its OFD record locks and its flock lock go.
void release_description_locks(const File& description);

}  // namespace nimbus::fs
