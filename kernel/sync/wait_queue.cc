// Threads waiting for an event.
#include "kernel/sync/wait_queue.h"

#include "kernel/sched/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/time/clock.h"

namespace nimbus {

void WaitQueue::wait(Spinlock& held) {
  Waiter waiter{current_thread()};
  m_waiters.push_back(&waiter);
  // Set under `held`: a waker takes `held` before it can see this waiter.
  waiter.thread->state = ThreadState::blocked;
  scheduler::block(held);
  held.lock_raw();
  // A stray wake-up (a timeout racing with its cancellation) leaves us queued.
  if (!waiter.woken) m_waiters.remove(&waiter);
}

namespace {
void wake_on_timeout(Timer* timer) { scheduler::wake(static_cast<Thread*>(timer->context)); }
}  // namespace

bool WaitQueue::wait_until(Spinlock& held, uint64_t deadline_ns) {
  Thread* self = current_thread();
  Waiter waiter{self};
  m_waiters.push_back(&waiter);
  self->state = ThreadState::blocked;
  Cpu& armed_on = this_cpu();
  self->sleep_timer.deadline_ns = deadline_ns;
  self->sleep_timer.callback = wake_on_timeout;
  self->sleep_timer.context = self;
  scheduler::arm_timer(&self->sleep_timer);
  scheduler::block(held);
  scheduler::cancel_timer(armed_on, &self->sleep_timer);
  held.lock_raw();
  if (!waiter.woken) m_waiters.remove(&waiter);
  return waiter.woken;
}

WaitResult WaitQueue::wait_interruptible(Spinlock& held, uint64_t deadline_ns) {
  Thread* self = current_thread();
  Waiter waiter{self};
  m_waiters.push_back(&waiter);
  self->state = ThreadState::blocked;
  // Published before interrupt_requested is read; Thread::interrupt() does the reverse.
  self->in_interruptible_wait.store(true, std::memory_order_seq_cst);
  // Already interrupted: an interrupter may be queueing us right now, so leave "blocked"
  // through the scheduler (a wake of a thread still on its way to sleep is allowed) rather
  // than by resetting the state, which could leave us queued twice.
  bool interrupted = self->interrupt_requested.load(std::memory_order_seq_cst);
  if (interrupted) scheduler::wake(self);
  Cpu& armed_on = this_cpu();
  bool timed = deadline_ns != kNoDeadline && !interrupted;
  if (timed) {
    self->sleep_timer.deadline_ns = deadline_ns;
    self->sleep_timer.callback = wake_on_timeout;
    self->sleep_timer.context = self;
    scheduler::arm_timer(&self->sleep_timer);
  }
  scheduler::block(held);
  if (timed) scheduler::cancel_timer(armed_on, &self->sleep_timer);
  self->in_interruptible_wait.store(false, std::memory_order_relaxed);
  held.lock_raw();
  if (waiter.woken) return WaitResult::woken;
  m_waiters.remove(&waiter);
  if (self->interrupt_requested.load()) return WaitResult::interrupted;
  return WaitResult::timed_out;
}

WaitResult sleep_interruptible(uint64_t deadline_ns) {
  Spinlock lock;
  WaitQueue nobody_wakes;
  bool interrupts = lock.lock();
  WaitResult result = WaitResult::timed_out;
  // Only the deadline or an interruption end it; a stray wake-up sleeps again.
  while (clock::monotonic_ns() < deadline_ns) {
    result = nobody_wakes.wait_interruptible(lock, deadline_ns);
    if (result == WaitResult::interrupted) break;
    result = WaitResult::timed_out;
  }
  lock.unlock(interrupts);
  return result;
}

bool WaitQueue::wake_one() {
  Waiter* waiter = m_waiters.pop_front();
  if (!waiter) return false;
  waiter->woken = true;
  scheduler::wake(waiter->thread);
  return true;
}

size_t WaitQueue::wake_all() {
  size_t woken = 0;
  while (wake_one()) woken++;
  return woken;
}

}  // namespace nimbus
