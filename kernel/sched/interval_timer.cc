// IntervalTimer: expirations counted in the timer interrupt, periodic re-arming on the CPU
// that fired, and cancellation that waits out a callback in flight.
#include "kernel/sched/interval_timer.h"

#include "kernel/sched/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/time/clock.h"

namespace nimbus {

IntervalTimer::~IntervalTimer() {
  Cpu* cpu;
  {
    SpinlockGuard guard(m_lock);
    m_armed = false;
    cpu = m_cpu;
  }
  // A callback that already passed the m_armed check may still re-arm or be running.
  if (cpu) scheduler::cancel_timer_and_wait(*cpu, &m_timer);
}

IntervalTimer::Setting IntervalTimer::setting_locked(uint64_t now) const {
  if (!m_armed) return {};
  return Setting{m_deadline_ns > now ? m_deadline_ns - now : 1, m_interval_ns};
}

IntervalTimer::Setting IntervalTimer::arm(uint64_t deadline_ns, uint64_t interval_ns) {
  SpinlockGuard guard(m_lock);
  Setting previous = setting_locked(clock::monotonic_ns());
  // A callback that fired meanwhile and waits for m_lock finds m_timer armed again (or
  // m_armed false) and does nothing.
  if (m_cpu) scheduler::cancel_timer(*m_cpu, &m_timer);
  m_expirations = 0;
  m_armed = deadline_ns != 0;
  m_deadline_ns = deadline_ns;
  m_interval_ns = interval_ns;
  if (m_armed) {
    m_timer.deadline_ns = deadline_ns;
    m_timer.callback = on_expiry;
    m_timer.context = this;
    m_cpu = &this_cpu();
    scheduler::arm_timer(&m_timer);
  }
  return previous;
}

IntervalTimer::Setting IntervalTimer::setting() {
  SpinlockGuard guard(m_lock);
  return setting_locked(clock::monotonic_ns());
}

uint64_t IntervalTimer::take_expirations() {
  SpinlockGuard guard(m_lock);
  uint64_t n = m_expirations;
  m_expirations = 0;
  return n;
}

uint64_t IntervalTimer::expirations() {
  SpinlockGuard guard(m_lock);
  return m_expirations;
}

void IntervalTimer::on_expiry(Timer* timer) {
  auto* self = static_cast<IntervalTimer*>(timer->context);
  uint64_t expirations;
  {
    SpinlockGuard guard(self->m_lock);
    // Stale: disarmed, or re-armed after this expiry was taken off the queue.
    if (!self->m_armed || timer->is_armed()) return;
    uint64_t now = clock::monotonic_ns();
    expirations = 1;
    if (self->m_interval_ns) {
      if (now > self->m_deadline_ns) expirations += (now - self->m_deadline_ns) / self->m_interval_ns;
      self->m_deadline_ns += expirations * self->m_interval_ns;
      timer->deadline_ns = self->m_deadline_ns;
      self->m_cpu = &this_cpu();
      scheduler::arm_timer(timer);
    } else {
      self->m_armed = false;
    }
    self->m_expirations += expirations;
  }
  self->m_callback(self->m_context, expirations);
}

}  // namespace nimbus
