// Time: clocks and sleeping.
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sched/scheduler.h"
#include "kernel/time/clock.h"

namespace nimbus::linux {
namespace {

constexpr int kClockRealtime = 0;
constexpr int kClockMonotonic = 1;
constexpr int kClockProcessCputime = 2;
constexpr int kClockThreadCputime = 3;
constexpr int kClockMonotonicRaw = 4;
constexpr int kClockRealtimeCoarse = 5;
constexpr int kClockMonotonicCoarse = 6;
constexpr int kClockBoottime = 7;
constexpr int kTimerAbstime = 1;
constexpr uint64_t kBillion = 1'000'000'000;

Result<uint64_t> read_clock(int clock) {
  switch (clock) {
    case kClockRealtime:
    case kClockRealtimeCoarse:
      return clock::wall_ns();
    case kClockMonotonic:
    case kClockMonotonicRaw:
    case kClockMonotonicCoarse:
    case kClockBoottime:
    // CPU time: the VM's uptime bounds it; per-thread accounting is not kept yet.
    case kClockProcessCputime:
    case kClockThreadCputime:
      return clock::monotonic_ns();
    default:
      return error(Errno::einval);
  }
}

Timespec to_timespec(uint64_t ns) { return Timespec{static_cast<int64_t>(ns / kBillion), static_cast<int64_t>(ns % kBillion)}; }

}  // namespace

Result<uint64_t> read_duration_ns(const Timespec* user_time) {
  Timespec t = TRY(user::read(user_time));
  if (t.seconds < 0 || t.nanoseconds < 0 || t.nanoseconds >= static_cast<int64_t>(kBillion)) return error(Errno::einval);
  return static_cast<uint64_t>(t.seconds) * kBillion + static_cast<uint64_t>(t.nanoseconds);
}

Result<long> sys_clock_gettime(int clock, Timespec* out) {
  uint64_t ns = TRY(read_clock(clock));
  TRY(user::write(out, to_timespec(ns)));
  return 0;
}

Result<long> sys_clock_getres(int clock, Timespec* out) {
  TRY(read_clock(clock));
  if (out) TRY(user::write(out, Timespec{0, 1}));
  return 0;
}

Result<long> sys_gettimeofday(Timeval* out, void*) {
  uint64_t ns = clock::wall_ns();
  if (out) TRY(user::write(out, Timeval{static_cast<int64_t>(ns / kBillion), static_cast<int64_t>(ns % kBillion / 1000)}));
  return 0;
}

Result<long> sys_time(int64_t* out) {
  auto seconds = static_cast<int64_t>(clock::wall_ns() / kBillion);
  if (out) TRY(user::write(out, seconds));
  return seconds;
}

Result<long> sys_clock_nanosleep(int clock, int flags, const Timespec* request, Timespec*) {
  uint64_t duration = TRY(read_duration_ns(request));
  uint64_t now = TRY(read_clock(clock));
  uint64_t monotonic_now = clock::monotonic_ns();
  uint64_t deadline = flags & kTimerAbstime ? (duration > now ? monotonic_now + (duration - now) : monotonic_now)
                                            : monotonic_now + duration;
  // Not interruptible by signals yet, so `remaining` is never written.
  scheduler::sleep_until(deadline);
  return 0;
}

Result<long> sys_nanosleep(const Timespec* request, Timespec* remaining) {
  return sys_clock_nanosleep(kClockMonotonic, 0, request, remaining);
}

}  // namespace nimbus::linux
