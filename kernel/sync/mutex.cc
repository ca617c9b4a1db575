// Sleeping locks and conditions.
#include "kernel/sync/mutex.h"

#include "kernel/lib/panic.h"
#include "kernel/sched/cpu.h"

namespace nimbus {
namespace {
constexpr int kSpinAttempts = 100;
}  // namespace

bool Mutex::try_lock() {
  uint32_t expected = unlocked;
  if (!m_state.compare_exchange_strong(expected, locked, std::memory_order_acquire)) return false;
  m_owner = current_thread();
  return true;
}

void Mutex::lock() {
  for (int i = 0; i < kSpinAttempts; i++) {
    if (m_state.load(std::memory_order_relaxed) == unlocked && try_lock()) return;
    x86::pause();
  }
  bool interrupts = m_wait_lock.lock();
  // Marking the lock contended before sleeping makes the owner's unlock() wake us; the
  // wake-up takes m_wait_lock, so it cannot slip in before we are queued.
  while (m_state.exchange(locked_with_waiters, std::memory_order_acquire) != unlocked) m_waiters.wait(m_wait_lock);
  m_wait_lock.unlock(interrupts);
  m_owner = current_thread();
}

void Mutex::unlock() {
  ASSERT(m_owner == current_thread());
  m_owner = nullptr;
  if (m_state.exchange(unlocked, std::memory_order_release) == locked_with_waiters) {
    SpinlockGuard guard(m_wait_lock);
    m_waiters.wake_one();
  }
}

bool Mutex::is_locked_by_current() const { return m_owner == current_thread(); }

void ConditionVariable::wait(Mutex& mutex) {
  bool interrupts = m_lock.lock();
  mutex.unlock();
  m_waiters.wait(m_lock);
  m_lock.unlock(interrupts);
  mutex.lock();
}

bool ConditionVariable::wait_interruptible(Mutex& mutex) {
  bool interrupts = m_lock.lock();
  mutex.unlock();
  WaitResult result = m_waiters.wait_interruptible(m_lock, kNoDeadline);
  m_lock.unlock(interrupts);
  mutex.lock();
  return result != WaitResult::interrupted;
}

WaitResult ConditionVariable::wait_until_interruptible(Mutex& mutex, uint64_t deadline_ns) {
  bool interrupts = m_lock.lock();
  mutex.unlock();
  WaitResult result = m_waiters.wait_interruptible(m_lock, deadline_ns);
  m_lock.unlock(interrupts);
  mutex.lock();
  return result;
}

void ConditionVariable::notify_one() {
  SpinlockGuard guard(m_lock);
  m_waiters.wake_one();
}

void ConditionVariable::notify_all() {
  SpinlockGuard guard(m_lock);
  m_waiters.wake_all();
}

void Semaphore::acquire() {
  bool interrupts = m_lock.lock();
  while (m_count == 0) m_waiters.wait(m_lock);
  m_count--;
  m_lock.unlock(interrupts);
}

bool Semaphore::try_acquire() {
  SpinlockGuard guard(m_lock);
  if (m_count == 0) return false;
  m_count--;
  return true;
}

void Semaphore::release(uint64_t n) {
  SpinlockGuard guard(m_lock);
  m_count += n;
  for (uint64_t i = 0; i < n && m_waiters.wake_one(); i++) {
  }
}

}  // namespace nimbus
