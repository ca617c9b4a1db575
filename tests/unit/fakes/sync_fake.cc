// Host stand-ins for the kernel's sleeping locks (kernel/sync/mutex.h): the same class
// layouts, with waiting done by yielding the host thread instead of sleeping in the scheduler.
// Spinlock and WaitQueue are not faked: Spinlock::lock() disables interrupts, which a host
// process may not do, so host-tested code uses only Mutex and ConditionVariable.
#include <thread>

#include "kernel/sync/mutex.h"
#include "kernel/sync/poll_queue.h"

namespace nimbus {
namespace {
// A distinct address per host thread stands in for the current Thread*.
thread_local char t_identity;
Thread* current() { return reinterpret_cast<Thread*>(&t_identity); }
}  // namespace

bool Mutex::try_lock() {
  uint32_t expected = unlocked;
  if (!m_state.compare_exchange_strong(expected, locked, std::memory_order_acquire)) return false;
  m_owner = current();
  return true;
}

void Mutex::lock() {
  while (!try_lock()) std::this_thread::yield();
}

void Mutex::unlock() {
  if (m_owner != current()) __builtin_trap();  // the kernel's ASSERT
  m_owner = nullptr;
  m_state.store(unlocked, std::memory_order_release);
}

bool Mutex::is_locked_by_current() const { return m_owner == current(); }

// Waiters re-check their condition in a loop, so a wait that returns at once is correct.
void ConditionVariable::wait(Mutex& mutex) {
  mutex.unlock();
  std::this_thread::yield();
  mutex.lock();
}
bool ConditionVariable::wait_interruptible(Mutex& mutex) {
  wait(mutex);
  return true;
}
WaitResult ConditionVariable::wait_until_interruptible(Mutex& mutex, uint64_t) {
  wait(mutex);
  return WaitResult::woken;
}
void ConditionVariable::notify_one() {}
void ConditionVariable::notify_all() {}

void Semaphore::acquire() {
  while (!try_acquire()) std::this_thread::yield();
}

bool Semaphore::try_acquire() {
  // m_lock is a Spinlock; its raw form does not touch the interrupt flag.
  m_lock.lock_raw();
  bool acquired = m_count > 0;
  if (acquired) m_count--;
  m_lock.unlock_raw();
  return acquired;
}

void Semaphore::release(uint64_t n) {
  m_lock.lock_raw();
  m_count += n;
  m_lock.unlock_raw();
}

// Host tests have no pollers to wake (an O_ASYNC file still subscribes).
void PollQueue::notify(uint32_t) {}
void PollQueue::subscribe(PollEntry& entry) { entry.queue = this; }
void PollQueue::unsubscribe(PollEntry& entry) { entry.queue = nullptr; }

}  // namespace nimbus
