// Conversions between struct itimerspec and IntervalTimer settings.
#include "kernel/linux/timer_setting.h"

#include "kernel/time/clock.h"

namespace nimbus::linux {

bool is_timer_clock(int clock) {
  return clock == kClockRealtime || clock == kClockMonotonic || clock == kClockBoottime ||
         clock == kClockRealtimeAlarm || clock == kClockBoottimeAlarm;
}

Timespec to_timespec(uint64_t ns) {
  return Timespec{static_cast<int64_t>(ns / kNsPerSecond), static_cast<int64_t>(ns % kNsPerSecond)};
}

Result<uint64_t> timespec_ns(const Timespec& t) {
  if (t.seconds < 0 || t.nanoseconds < 0 || t.nanoseconds >= static_cast<int64_t>(kNsPerSecond))
    return error(Errno::einval);
  // Saturated (`sleep infinity` passes INT64_MAX seconds), so that now + duration never wraps.
  if (static_cast<uint64_t>(t.seconds) >= kMaxDurationNs / kNsPerSecond) return kMaxDurationNs;
  return static_cast<uint64_t>(t.seconds) * kNsPerSecond + static_cast<uint64_t>(t.nanoseconds);
}

Result<TimerSetting> to_timer_setting(const ItimerSpec& spec, int clock, bool absolute) {
  uint64_t value = TRY(timespec_ns(spec.value));
  uint64_t interval = TRY(timespec_ns(spec.interval));
  if (value == 0) return TimerSetting{0, 0};
  uint64_t now = clock::monotonic_ns();
  if (!absolute) return TimerSetting{now + value, interval};
  bool wall = clock == kClockRealtime || clock == kClockRealtimeAlarm;
  uint64_t clock_now = wall ? clock::wall_ns() : now;
  return TimerSetting{value > clock_now ? now + (value - clock_now) : now, interval};
}

ItimerSpec to_itimerspec(const IntervalTimer::Setting& setting) {
  return ItimerSpec{to_timespec(setting.interval_ns), to_timespec(setting.remaining_ns)};
}

}  // namespace nimbus::linux
