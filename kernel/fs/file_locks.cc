// File locks: the range logic of record locks, flock lists, and the table of locked files
// with its waiting and deadlock detection (after Linux's fs/locks.c).
#include "kernel/fs/file_locks.h"

#include <algorithm>
#include <atomic>
#include <new>

#include "kernel/fs/fd_table.h"
#include "kernel/fs/file.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs {

LockOwner posix_lock_owner(const FdTable& table) {
  return {LockOwner::Kind::posix, reinterpret_cast<uintptr_t>(&table)};
}

LockOwner ofd_lock_owner(const File& file) { return {LockOwner::Kind::ofd, reinterpret_cast<uintptr_t>(&file)}; }

Result<LockRange> lock_range(int64_t base, int64_t start, int64_t length) {
  if (__builtin_add_overflow(base, start, &start)) return error(Errno::eoverflow);
  if (start < 0) return error(Errno::einval);
  if (length > 0) {
    if (length - 1 > INT64_MAX - start) return error(Errno::eoverflow);
    return LockRange{static_cast<uint64_t>(start), static_cast<uint64_t>(start + (length - 1))};
  }
  if (length < 0) {
    if (start + length < 0) return error(Errno::einval);
    return LockRange{static_cast<uint64_t>(start + length), static_cast<uint64_t>(start - 1)};
  }
  return LockRange{static_cast<uint64_t>(start), kLockRangeEnd};
}

namespace {

bool overlaps(const RecordLock& a, uint64_t start, uint64_t end) { return a.start <= end && start <= a.end; }

// Overlapping or adjacent (ends stop at kLockRangeEnd, so end + 1 cannot wrap).
bool touches(const RecordLock& a, uint64_t start, uint64_t end) { return a.start <= end + 1 && start <= a.end + 1; }

}  // namespace

RecordLockList::~RecordLockList() {
  while (Entry* entry = m_entries.pop_front()) delete entry;
}

void RecordLockList::insert_sorted(Entry* entry) {
  for (Entry* e = m_entries.front(); e; e = m_entries.next(e)) {
    if (e->lock.start > entry->lock.start) {
      m_entries.insert_before(e, entry);
      return;
    }
  }
  m_entries.push_back(entry);
}

std::optional<RecordLock> RecordLockList::find_conflict(const RecordLock& request) const {
  for (Entry* e = m_entries.front(); e; e = m_entries.next(e)) {
    const RecordLock& held = e->lock;
    if (held.owner == request.owner || !overlaps(held, request.start, request.end)) continue;
    if (held.type == LockType::write || request.type == LockType::write) return held;
  }
  return std::nullopt;
}

Result<> RecordLockList::apply(const RecordLock& request) {
  // Allocate first, so that running out of memory changes nothing: the new lock, and the
  // far part of an owner's lock that the request splits in two.
  Entry* fresh = nullptr;
  if (request.type != LockType::unlock) {
    fresh = new (kNoThrow) Entry{request, {}};
    if (!fresh) return error(Errno::enolck);
  }
  Entry* split = nullptr;
  for (Entry* e = m_entries.front(); e; e = m_entries.next(e)) {
    const RecordLock& held = e->lock;
    if (held.owner == request.owner && held.type != request.type && held.start < request.start &&
        held.end > request.end) {
      split = new (kNoThrow) Entry{held, {}};
      if (!split) {
        delete fresh;
        return error(Errno::enolck);
      }
      break;
    }
  }

  // The owner's locks of the same type that touch the range merge into it.
  uint64_t start = request.start;
  uint64_t end = request.end;
  if (fresh) {
    for (Entry* e = m_entries.front(); e;) {
      Entry* following = m_entries.next(e);
      if (e->lock.owner == request.owner && e->lock.type == request.type && touches(e->lock, start, end)) {
        start = std::min(start, e->lock.start);
        end = std::max(end, e->lock.end);
        m_entries.remove(e);
        delete e;
      }
      e = following;
    }
  }

  // The owner's other locks give up the range: dropped, trimmed or split.
  Entry* moved = nullptr;  // at most one lock keeps only its part after the range
  for (Entry* e = m_entries.front(); e;) {
    Entry* following = m_entries.next(e);
    RecordLock& held = e->lock;
    if (held.owner == request.owner && overlaps(held, start, end)) {
      if (held.start < start && held.end > end) {
        split->lock.start = end + 1;
        held.end = start - 1;
        insert_sorted(split);
        split = nullptr;
        break;
      }
      if (held.start < start) {
        held.end = start - 1;
      } else if (held.end > end) {
        held.start = end + 1;
        m_entries.remove(e);
        moved = e;
      } else {
        m_entries.remove(e);
        delete e;
      }
    }
    e = following;
  }
  if (moved) insert_sorted(moved);
  delete split;  // not needed after all
  if (fresh) {
    fresh->lock.start = start;
    fresh->lock.end = end;
    insert_sorted(fresh);
  }
  return {};
}

bool RecordLockList::remove_owner(LockOwner owner) {
  bool removed = false;
  for (Entry* e = m_entries.front(); e;) {
    Entry* following = m_entries.next(e);
    if (e->lock.owner == owner) {
      m_entries.remove(e);
      delete e;
      removed = true;
    }
    e = following;
  }
  return removed;
}

RecordLock RecordLockList::at(size_t index) const {
  Entry* e = m_entries.front();
  while (index-- && e) e = m_entries.next(e);
  return e ? e->lock : RecordLock{};
}

FlockList::~FlockList() {
  while (Entry* entry = m_entries.pop_front()) delete entry;
}

bool FlockList::conflicts(uintptr_t owner, FlockOperation operation) const {
  for (Entry* e = m_entries.front(); e; e = m_entries.next(e)) {
    if (e->owner != owner && (e->exclusive || operation == FlockOperation::exclusive)) return true;
  }
  return false;
}

std::optional<FlockOperation> FlockList::held(uintptr_t owner) const {
  for (Entry* e = m_entries.front(); e; e = m_entries.next(e)) {
    if (e->owner == owner) return e->exclusive ? FlockOperation::exclusive : FlockOperation::shared;
  }
  return std::nullopt;
}

bool FlockList::remove(uintptr_t owner) {
  for (Entry* e = m_entries.front(); e; e = m_entries.next(e)) {
    if (e->owner == owner) {
      m_entries.remove(e);
      delete e;
      return true;
    }
  }
  return false;
}

Result<> FlockList::add(uintptr_t owner, FlockOperation operation) {
  auto* entry = new (kNoThrow) Entry{owner, operation == FlockOperation::exclusive, {}};
  if (!entry) return error(Errno::enolck);
  m_entries.push_back(entry);
  return {};
}

namespace {

// The locks of one file, from its first lock to its last unlock.
struct LockedFile {
  const Vnode* vnode;
  RecordLockList records;
  FlockList flocks;
  ListNode node;
};

// A POSIX owner asleep in F_SETLKW, and the owner of the lock it waits for: the edges that
// deadlock detection follows. Lives on the waiter's stack.
struct BlockedOwner {
  LockOwner waiter;
  LockOwner blocker;
  ListNode node;
};

// Linux's MAX_DEADLK_ITERATIONS: chains longer than this are not followed.
constexpr int kMaxDeadlockSteps = 10;

class LockTable {
 public:
  // Lock order: taken after a descriptor table's lock is dropped; nothing is taken under it.
  Mutex lock;
  // Every unlock wakes every waiter, which checks its own range again.
  ConditionVariable changed;
  IntrusiveList<LockedFile, &LockedFile::node> files;
  IntrusiveList<BlockedOwner, &BlockedOwner::node> blocked;
  // How many files have locks, so closes skip the lock when none has.
  std::atomic<size_t> locked_files{0};

  LockedFile* find_locked(const Vnode& vnode) {
    for (LockedFile* f = files.front(); f; f = files.next(f)) {
      if (f->vnode == &vnode) return f;
    }
    return nullptr;
  }

  Result<LockedFile*> find_or_add_locked(const Vnode& vnode) {
    if (LockedFile* f = find_locked(vnode)) return f;
    auto* f = new (kNoThrow) LockedFile{&vnode, {}, {}, {}};
    if (!f) return error(Errno::enolck);
    files.push_back(f);
    locked_files.fetch_add(1, std::memory_order_relaxed);
    return f;
  }

  void drop_if_unused_locked(LockedFile* f) {
    if (!f->records.empty() || !f->flocks.empty()) return;
    files.remove(f);
    locked_files.fetch_sub(1, std::memory_order_relaxed);
    delete f;
  }

  // Whether `blocker` waits, directly or through other POSIX owners, for `waiter`.
  bool would_deadlock_locked(LockOwner waiter, LockOwner blocker) {
    for (int step = 0; step < kMaxDeadlockSteps; step++) {
      if (blocker == waiter) return true;
      BlockedOwner* next = nullptr;
      for (BlockedOwner* b = blocked.front(); b; b = blocked.next(b)) {
        if (b->waiter == blocker) {
          next = b;
          break;
        }
      }
      if (!next) return false;
      blocker = next->blocker;
    }
    return false;
  }
};

LockTable g_table;

LockTable& table() { return g_table; }

}  // namespace

std::optional<RecordLock> test_record_lock(const Vnode& file, const RecordLock& request) {
  LockTable& t = table();
  if (t.locked_files.load(std::memory_order_relaxed) == 0) return std::nullopt;
  MutexGuard guard(t.lock);
  LockedFile* f = t.find_locked(file);
  if (!f) return std::nullopt;
  return f->records.find_conflict(request);
}

Result<> set_record_lock(const Vnode& file, const RecordLock& request, bool wait) {
  LockTable& t = table();
  MutexGuard guard(t.lock);
  if (request.type == LockType::unlock) {
    LockedFile* f = t.find_locked(file);
    if (!f) return {};
    Result<> done = f->records.apply(request);
    t.drop_if_unused_locked(f);
    t.changed.notify_all();
    return done;
  }
  BlockedOwner self{request.owner, {}, {}};
  Result<> outcome{};
  while (true) {
    auto found = t.find_or_add_locked(file);
    if (!found) {
      outcome = error(found.error());
      break;
    }
    LockedFile* f = *found;
    std::optional<RecordLock> conflict = f->records.find_conflict(request);
    if (!conflict) {
      outcome = f->records.apply(request);
      // A conversion (write to read) or a merge can free ranges others wait for.
      t.changed.notify_all();
      t.drop_if_unused_locked(f);
      break;
    }
    t.drop_if_unused_locked(f);
    if (!wait) {
      outcome = error(Errno::eagain);
      break;
    }
    // Only POSIX owners take part in deadlock detection, as in Linux.
    bool posix = request.owner.kind == LockOwner::Kind::posix && conflict->owner.kind == LockOwner::Kind::posix;
    if (posix && t.would_deadlock_locked(request.owner, conflict->owner)) {
      outcome = error(Errno::edeadlk);
      break;
    }
    self.blocker = conflict->owner;
    if (posix && !self.node.is_linked()) t.blocked.push_back(&self);
    if (!t.changed.wait_interruptible(t.lock)) {
      outcome = error(Errno::erestartsys);
      break;
    }
  }
  if (self.node.is_linked()) t.blocked.remove(&self);
  return outcome;
}

bool is_blocked(LockOwner owner) {
  LockTable& t = table();
  MutexGuard guard(t.lock);
  for (BlockedOwner* b = t.blocked.front(); b; b = t.blocked.next(b)) {
    if (b->waiter == owner) return true;
  }
  return false;
}

Result<> flock(const File& description, FlockOperation operation, bool wait) {
  LockTable& t = table();
  const Vnode& file = *description.vnode();
  auto owner = reinterpret_cast<uintptr_t>(&description);
  MutexGuard guard(t.lock);
  LockedFile* f = TRY(t.find_or_add_locked(file));
  std::optional<FlockOperation> held = f->flocks.held(owner);
  if (held == operation) return {};
  if (held) {
    f->flocks.remove(owner);
    t.changed.notify_all();
  }
  Result<> outcome{};
  while (operation != FlockOperation::unlock) {
    if (!f->flocks.conflicts(owner, operation)) {
      outcome = f->flocks.add(owner, operation);
      break;
    }
    if (!wait) {
      outcome = error(Errno::eagain);
      break;
    }
    if (!t.changed.wait_interruptible(t.lock)) {
      outcome = error(Errno::erestartsys);
      break;
    }
    // The file's entry may have gone while the table was unlocked.
    auto found = t.find_or_add_locked(file);
    if (!found) return error(found.error());
    f = *found;
  }
  t.drop_if_unused_locked(f);
  return outcome;
}

void release_posix_locks(const Vnode& file, LockOwner owner) {
  LockTable& t = table();
  if (t.locked_files.load(std::memory_order_relaxed) == 0) return;
  MutexGuard guard(t.lock);
  LockedFile* f = t.find_locked(file);
  if (!f || !f->records.remove_owner(owner)) return;
  t.drop_if_unused_locked(f);
  t.changed.notify_all();
}

void release_description_locks(const File& description) {
  LockTable& t = table();
  if (t.locked_files.load(std::memory_order_relaxed) == 0 || !description.vnode()) return;
  MutexGuard guard(t.lock);
  LockedFile* f = t.find_locked(*description.vnode());
  if (!f) return;
  bool removed = f->records.remove_owner(ofd_lock_owner(description));
  removed |= f->flocks.remove(reinterpret_cast<uintptr_t>(&description));
  t.drop_if_unused_locked(f);
  if (removed) t.changed.notify_all();
}

}  // namespace nimbus::fs
