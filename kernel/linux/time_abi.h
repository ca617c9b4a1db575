// Linux's time structures and clock ids, as the kernel's time calls and the vDSO both see
// them. Header-only with no kernel dependencies: the vDSO is built apart from the kernel.
#pragma once

#include <cstdint>

namespace nimbus::linux {

struct Timespec {
  int64_t seconds;
  int64_t nanoseconds;
};
struct Timeval {
  int64_t seconds;
  int64_t microseconds;
};

constexpr int kClockRealtime = 0;
constexpr int kClockMonotonic = 1;
constexpr int kClockProcessCputime = 2;
constexpr int kClockThreadCputime = 3;
constexpr int kClockMonotonicRaw = 4;
constexpr int kClockRealtimeCoarse = 5;
constexpr int kClockMonotonicCoarse = 6;
constexpr int kClockBoottime = 7;
constexpr int kClockRealtimeAlarm = 8;
constexpr int kClockBoottimeAlarm = 9;
constexpr uint64_t kNsPerSecond = 1'000'000'000;

}  // namespace nimbus::linux
