// IntervalTimer: a one-shot or periodic timer that counts its expirations, the base of
// timerfd, setitimer and POSIX timers. Safe to re-arm, disarm and destroy from any CPU while
// it fires on another.
#pragma once

#include <cstdint>

#include "kernel/sched/timer_queue.h"
#include "kernel/sync/spinlock.h"

namespace nimbus {

struct Cpu;

class IntervalTimer {
 public:
  // Runs in the timer interrupt (interrupts off) after each expiration, without the timer's
  // lock: it may take spinlocks, wake threads and send signals, but not arm or disarm this
  // timer. `expirations` counts those since the previous callback (more than 1 when the
  // CPU was late for a short interval).
  using Callback = void (*)(void* context, uint64_t expirations);

  IntervalTimer(Callback callback, void* context) : m_callback(callback), m_context(context) {}
  // Disarms and waits for a callback in progress on another CPU.
  ~IntervalTimer();
  IntervalTimer(const IntervalTimer&) = delete;
  IntervalTimer& operator=(const IntervalTimer&) = delete;

  struct Setting {
    uint64_t remaining_ns = 0;  // until the next expiration; 0: disarmed
    uint64_t interval_ns = 0;   // 0: one-shot
  };
  // First expiry at monotonic `deadline_ns` (0 disarms), then every `interval_ns` (0: none).
  // Forgets expirations not yet taken. Returns the previous setting.
  Setting arm(uint64_t deadline_ns, uint64_t interval_ns);
  Setting setting();
  // Expirations since the last arm() or take (timerfd's read).
  uint64_t take_expirations();
  uint64_t expirations();

 private:
  static void on_expiry(Timer* timer);
  Setting setting_locked(uint64_t now) const;

  Callback m_callback;
  void* m_context;
  Spinlock m_lock;  // guards everything below
  Timer m_timer;
  Cpu* m_cpu = nullptr;  // where m_timer was last armed
  bool m_armed = false;
  uint64_t m_deadline_ns = 0;
  uint64_t m_interval_ns = 0;
  uint64_t m_expirations = 0;
};

}  // namespace nimbus
