// Time: clocks and sleeping.
#include "kernel/linux/process.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/timer_setting.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/wait_queue.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sched/scheduler.h"
#include "kernel/time/clock.h"

namespace nimbus::linux {
namespace {

constexpr uint64_t kBillion = kNsPerSecond;

// The CPU-time clocks of one process or thread (clock_getcpuclockid, pthread_getcpuclockid):
// Linux numbers them ~id << 3, bit 2 set for a thread, the low two bits the kind (PROF, VIRT,
// SCHED; 3 is a file descriptor's clock, EINVAL here). Id 0 is the caller. The three kinds read
// the same time here: the scheduler does not tell user from system time.
Result<uint64_t> read_cpu_clock(int clock) {
  if ((clock & 3) == 3) return error(Errno::einval);
  auto id = static_cast<uint32_t>(~(clock >> 3));
  if (!(clock & 4)) {
    // Another process's clock is not readable here yet (Linux allows it): EINVAL.
    if (id != 0 && id != current_process().pid) return error(Errno::einval);
    return process_cpu_time_ns();
  }
  if (id == 0) return current_thread()->cpu_time();
  uint64_t ns = 0;
  bool found = with_thread(
      id, [](LinuxThread& thread, void* out) { *static_cast<uint64_t*>(out) = thread.thread->cpu_time(); }, &ns);
  if (!found) return error(Errno::einval);
  return ns;
}

Result<uint64_t> read_clock(int clock) {
  if (clock < 0) return read_cpu_clock(clock);
  switch (clock) {
    case kClockRealtime:
    case kClockRealtimeCoarse:
    case kClockRealtimeAlarm:
      return clock::wall_ns();
    case kClockMonotonic:
    case kClockMonotonicRaw:
    case kClockMonotonicCoarse:
    case kClockBoottime:
    case kClockBoottimeAlarm:
      return clock::monotonic_ns();
    case kClockProcessCputime:
      return process_cpu_time_ns();
    case kClockThreadCputime:
      return current_thread()->cpu_time();
    default:
      return error(Errno::einval);
  }
}


}  // namespace

Result<uint64_t> read_duration_ns(const Timespec* user_time) { return timespec_ns(TRY(user::read(user_time))); }

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

Result<long> sys_clock_nanosleep(int clock, int flags, const Timespec* request, Timespec* remaining) {
  // A thread's CPU-time clock cannot be slept on, as on Linux.
  if (clock == kClockThreadCputime || (clock < 0 && (clock & 4))) return error(Errno::einval);
  uint64_t duration = TRY(read_duration_ns(request));
  uint64_t now = TRY(read_clock(clock));
  uint64_t monotonic_now = clock::monotonic_ns();
  uint64_t deadline = flags & kTimerAbstime ? (duration > now ? monotonic_now + (duration - now) : monotonic_now)
                                            : monotonic_now + duration;
  while (sleep_interruptible(deadline) == WaitResult::interrupted) {
    if (signal_ends_wait()) break;
  }
  if (clock::monotonic_ns() >= deadline) return 0;
  if (remaining && !(flags & kTimerAbstime)) {
    uint64_t left = clock::monotonic_ns();
    left = left < deadline ? deadline - left : 0;
    TRY(user::write(remaining, to_timespec(left)));
  }
  // A handler makes it EINTR; without one (the handler's action changed to ignore) it sleeps
  // again, for the whole duration.
  return error(Errno::erestartnohand);
}

Result<long> sys_nanosleep(const Timespec* request, Timespec* remaining) {
  return sys_clock_nanosleep(kClockMonotonic, 0, request, remaining);
}

}  // namespace nimbus::linux
