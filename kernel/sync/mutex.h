// Sleeping locks and conditions: Mutex, ConditionVariable, Semaphore.
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/sync/spinlock.h"
#include "kernel/sync/wait_queue.h"

namespace nimbus {

class Thread;

// A sleeping lock. The uncontended path is one atomic exchange each way; a contended lock
// spins briefly (the owner is probably running on another CPU), then sleeps. Unlock wakes
// the first waiter, which competes for the lock again (no hand-off, so no lock convoy).
class Mutex {
 public:
  void lock();
  bool try_lock();
  void unlock();
  bool is_locked_by_current() const;

 private:
  enum State : uint32_t { unlocked = 0, locked = 1, locked_with_waiters = 2 };
  std::atomic<uint32_t> m_state{unlocked};
  Thread* m_owner = nullptr;  // for assertions only
  Spinlock m_wait_lock;       // guards m_waiters
  WaitQueue m_waiters;
};

class MutexGuard {
 public:
  explicit MutexGuard(Mutex& mutex) : m_mutex(mutex) { m_mutex.lock(); }
  ~MutexGuard() { m_mutex.unlock(); }
  MutexGuard(const MutexGuard&) = delete;
  MutexGuard& operator=(const MutexGuard&) = delete;

 private:
  Mutex& m_mutex;
};

class ConditionVariable {
 public:
  // Releases `mutex`, sleeps until notified, re-acquires `mutex`. Callers re-check
  // their condition in a loop.
  void wait(Mutex& mutex);
  // As wait(), but Thread::interrupt() ends it too: false then (the mutex is re-acquired).
  bool wait_interruptible(Mutex& mutex);
  // As wait_interruptible(), but gives up at monotonic time `deadline_ns` (kNoDeadline: never).
  WaitResult wait_until_interruptible(Mutex& mutex, uint64_t deadline_ns);
  void notify_one();
  void notify_all();

 private:
  Spinlock m_lock;
  WaitQueue m_waiters;
};

class Semaphore {
 public:
  explicit Semaphore(uint64_t initial) : m_count(initial) {}
  void acquire();
  bool try_acquire();
  void release(uint64_t n = 1);

 private:
  Spinlock m_lock;
  uint64_t m_count;
  WaitQueue m_waiters;
};

}  // namespace nimbus
