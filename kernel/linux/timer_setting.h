// Timer settings as the application writes them (struct itimerspec on a clock, relative or
// absolute) turned into IntervalTimer deadlines, and back.
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/time_abi.h"
#include "kernel/sched/interval_timer.h"

namespace nimbus::linux {

// The longest duration a timespec gives (about 36 years): longer ones are cut to it, so a
// deadline of now plus a duration always fits, in ns and in TSC ticks.
constexpr uint64_t kMaxDurationNs = uint64_t{1} << 60;
constexpr int kTimerAbstime = 1;  // clock_nanosleep, timer_settime (TFD_TIMER_ABSTIME too)

// The clocks a timer can run on (timerfd_create, timer_create).
bool is_timer_clock(int clock);

struct TimerSetting {
  uint64_t deadline_ns;  // monotonic; 0 disarms
  uint64_t interval_ns;
};
// EINVAL for a malformed timespec. An absolute time in the past expires at once; absolute
// wall-clock times are converted to monotonic ones when set.
Result<TimerSetting> to_timer_setting(const ItimerSpec& spec, int clock, bool absolute);
ItimerSpec to_itimerspec(const IntervalTimer::Setting& setting);

Timespec to_timespec(uint64_t ns);
Result<uint64_t> timespec_ns(const Timespec& t);

}  // namespace nimbus::linux
