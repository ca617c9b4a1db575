// Spinlock that disables interrupts while held, its RAII guard, and Guarded<T>.
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/arch/x86_64/cpu.h"

namespace nimbus {

// Test-and-test-and-set rather than a ticket lock: with more vCPUs than host CPUs, a
// ticket lock stalls every waiter behind a preempted vCPU next in line, not just the holder.
class Spinlock {
 public:
  constexpr Spinlock() = default;
  Spinlock(const Spinlock&) = delete;
  Spinlock& operator=(const Spinlock&) = delete;

  // Lock without touching the interrupt flag: for callers that already run with
  // interrupts off (interrupt handlers, the scheduler).
  void lock_raw() {
    while (m_locked.exchange(true, std::memory_order_acquire)) {
      while (m_locked.load(std::memory_order_relaxed)) x86::pause();
    }
  }
  bool try_lock_raw() {
    return !m_locked.load(std::memory_order_relaxed) && !m_locked.exchange(true, std::memory_order_acquire);
  }
  void unlock_raw() { m_locked.store(false, std::memory_order_release); }
  bool is_locked() const { return m_locked.load(std::memory_order_relaxed); }

  // Returns whether interrupts were enabled, for unlock().
  [[nodiscard]] bool lock() {
    bool were_enabled = x86::save_and_disable_interrupts();
    lock_raw();
    return were_enabled;
  }
  void unlock(bool interrupts_were_enabled) {
    unlock_raw();
    x86::restore_interrupts(interrupts_were_enabled);
  }

 private:
  std::atomic<bool> m_locked{false};
};

class SpinlockGuard {
 public:
  explicit SpinlockGuard(Spinlock& lock) : m_lock(lock), m_interrupts(lock.lock()) {}
  ~SpinlockGuard() { m_lock.unlock(m_interrupts); }
  SpinlockGuard(const SpinlockGuard&) = delete;
  SpinlockGuard& operator=(const SpinlockGuard&) = delete;
  bool interrupts_were_enabled() const { return m_interrupts; }

 private:
  Spinlock& m_lock;
  bool m_interrupts;
};

// Data that can only be reached while its lock is held (Serenity's SpinlockProtected).
template <typename T>
class Guarded {
 public:
  template <typename... Args>
  constexpr explicit Guarded(Args&&... args) : m_value(static_cast<Args&&>(args)...) {}
  template <typename F>
  decltype(auto) with(F&& f) {
    SpinlockGuard guard(m_lock);
    return f(m_value);
  }

 private:
  Spinlock m_lock;
  T m_value;
};

}  // namespace nimbus
