// Threads waiting for an event; the building block of every sleeping lock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/intrusive_list.h"
#include "kernel/sync/spinlock.h"

namespace nimbus {

class Thread;

enum class WaitResult : uint8_t { woken, timed_out, interrupted };
constexpr uint64_t kNoDeadline = ~0ull;

// The queue has no lock of its own: the caller's lock, which protects the condition being
// waited for, protects the queue too.
class WaitQueue {
 public:
  // Sleeps until woken. `held` (taken with interrupts disabled) is released atomically
  // with going to sleep and re-taken before returning, so a wake-up between checking
  // the condition and sleeping is never lost.
  void wait(Spinlock& held);
  // As wait(), but gives up at monotonic time `deadline_ns`; false on timeout.
  bool wait_until(Spinlock& held, uint64_t deadline_ns);
  // As wait_until (kNoDeadline: no timeout), but Thread::interrupt() ends the wait too, and a
  // pending interrupt request keeps it from starting.
  WaitResult wait_interruptible(Spinlock& held, uint64_t deadline_ns);
  // The caller holds the lock the waiters passed to wait().
  bool wake_one();
  size_t wake_all();
  bool empty() const { return m_waiters.empty(); }

 private:
  // Lives on the waiting thread's stack for the duration of the wait.
  struct Waiter {
    Thread* thread;
    bool woken = false;
    ListNode node;
  };
  IntrusiveList<Waiter, &Waiter::node> m_waiters;
};

// Sleeps until the monotonic deadline (kNoDeadline: none) or Thread::interrupt().
WaitResult sleep_interruptible(uint64_t deadline_ns);

}  // namespace nimbus
