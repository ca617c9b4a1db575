// Timers that signal: POSIX timers (timer_create and friends: SIGEV_SIGNAL, SIGEV_THREAD_ID,
// SIGEV_NONE; glibc builds SIGEV_THREAD on SIGEV_THREAD_ID) and the interval timers of
// setitimer/getitimer/alarm. Each is an IntervalTimer whose expiry sends the signal.
#include <new>

#include "kernel/lib/ref_ptr.h"
#include "kernel/linux/process.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/timer_setting.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/interval_timer.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/mutex.h"
#include "kernel/time/clock.h"

namespace nimbus::linux {
namespace {

constexpr int kSigevSignal = 0;
constexpr int kSigevNone = 1;
constexpr int kSigevThread = 2;
constexpr int kSigevThreadId = 4;
constexpr int kItimerReal = 0, kItimerVirtual = 1, kItimerProf = 2;
constexpr size_t kMaxTimers = 256;
constexpr uint64_t kNsPerMicrosecond = 1000;

// struct sigevent (64 bytes).
struct SigEvent {
  uint64_t value;
  int32_t signo;
  int32_t notify;
  int32_t thread_id;  // SIGEV_THREAD_ID
  uint8_t pad[44];
};
static_assert(sizeof(SigEvent) == 64);

struct SignallingTimer {
  SignallingTimer(int id, int clock, int signal, uint32_t tid, int code, uint64_t value)
      : timer(on_expiry, this), id(id), clock(clock), signal(signal), tid(tid), code(code), value(value),
        creator_pid(static_cast<int32_t>(current_process().pid)) {}

  static void on_expiry(void* context, uint64_t expirations) {
    auto* self = static_cast<SignallingTimer*>(context);
    uint64_t overrun = expirations - 1;
    self->overrun.store(overrun > 0x7fffffff ? 0x7fffffff : static_cast<int>(overrun));
    if (!self->signal) return;  // SIGEV_NONE
    SignalDetails details;
    details.code = self->code;
    if (self->code == kSiTimer) {
      details.pid_or_timer = self->id;
      details.uid_or_overrun = self->overrun.load();
    } else {
      details.pid_or_timer = self->creator_pid;
    }
    details.value = self->value;
    // The target may have exited. (This runs in interrupt context: no "current" process.)
    if (self->tid) (void)send_signal(self->tid, self->signal, details);
    else (void)send_signal_to_pid(static_cast<uint32_t>(self->creator_pid), self->signal, details);
  }

  IntervalTimer timer;
  int id;
  int clock;  // what absolute settings are measured on
  int signal;  // 0: SIGEV_NONE
  uint32_t tid;  // 0: the process
  int code;
  uint64_t value;
  int32_t creator_pid;  // the process a process-directed signal goes to
  std::atomic<int> overrun{0};
};

// Held across each timer call, so a timer is never deleted while another call uses it.
Mutex g_timers_lock;
SignallingTimer* g_timers[kMaxTimers];
SignallingTimer* g_itimers[3];

Result<SignallingTimer*> posix_timer(int id) {
  if (id < 0 || static_cast<size_t>(id) >= kMaxTimers || !g_timers[id]) return error(Errno::einval);
  return g_timers[id];
}

Result<SignallingTimer*> itimer(int which) {
  static constexpr int kSignals[] = {kSigalrm, kSigvtalrm, kSigprof};
  if (which < kItimerReal || which > kItimerProf) return error(Errno::einval);
  if (!g_itimers[which]) {
    g_itimers[which] = new (kNoThrow) SignallingTimer(0, kClockMonotonic, kSignals[which], 0, kSiKernel, 0);
    if (!g_itimers[which]) return error(Errno::enomem);
  }
  return g_itimers[which];
}

Result<uint64_t> timeval_ns(const Timeval& t) {
  if (t.seconds < 0 || t.microseconds < 0 || t.microseconds >= 1'000'000) return error(Errno::einval);
  return static_cast<uint64_t>(t.seconds) * kNsPerSecond + static_cast<uint64_t>(t.microseconds) * kNsPerMicrosecond;
}

Timeval to_timeval(uint64_t ns) {
  // Round up, as Linux does, so a pending timer never reads as zero.
  uint64_t us = (ns + kNsPerMicrosecond - 1) / kNsPerMicrosecond;
  return Timeval{static_cast<int64_t>(us / 1'000'000), static_cast<int64_t>(us % 1'000'000)};
}

ItimerVal to_itimerval(const IntervalTimer::Setting& s) { return ItimerVal{to_timeval(s.interval_ns), to_timeval(s.remaining_ns)}; }

Result<IntervalTimer::Setting> set_itimer(int which, uint64_t value_ns, uint64_t interval_ns) {
  MutexGuard guard(g_timers_lock);
  SignallingTimer* t = TRY(itimer(which));
  t->creator_pid = static_cast<int32_t>(current_process().pid);
  return t->timer.arm(value_ns ? clock::monotonic_ns() + value_ns : 0, interval_ns);
}

}  // namespace

Result<long> sys_timer_create(int clock, const void* event, int* timer_id) {
  if (!is_timer_clock(clock) && clock != kClockProcessCputime && clock != kClockThreadCputime) return error(Errno::einval);
  SigEvent e{};
  if (event) e = TRY(user::read(static_cast<const SigEvent*>(event)));
  else e.signo = kSigalrm, e.notify = kSigevSignal;
  uint32_t tid = 0;
  switch (e.notify) {
    case kSigevNone: e.signo = 0; break;
    case kSigevSignal: break;
    case kSigevThreadId:
      if (e.thread_id <= 0) return error(Errno::einval);
      tid = static_cast<uint32_t>(e.thread_id);
      break;
    case kSigevThread:  // glibc turns this into SIGEV_THREAD_ID itself
    default:
      return error(Errno::einval);
  }
  if (e.notify != kSigevNone && (e.signo < 1 || e.signo > kSignalCount)) return error(Errno::einval);
  if (!user::writable(timer_id, sizeof(int))) return error(Errno::efault);
  MutexGuard guard(g_timers_lock);
  for (size_t id = 0; id < kMaxTimers; id++) {
    if (g_timers[id]) continue;
    int value_id = static_cast<int>(id);
    auto* t = new (kNoThrow) SignallingTimer(value_id, clock, e.signo, tid, kSiTimer, event ? e.value : id);
    if (!t) return error(Errno::enomem);
    g_timers[id] = t;
    TRY(user::write(timer_id, value_id));
    return 0;
  }
  return error(Errno::eagain);
}

Result<long> sys_timer_settime(int id, int flags, const ItimerSpec* new_value, ItimerSpec* old_value) {
  ItimerSpec wanted = TRY(user::read(new_value));
  MutexGuard guard(g_timers_lock);
  SignallingTimer* t = TRY(posix_timer(id));
  bool absolute = flags & kTimerAbstime;
  if (absolute && (t->clock == kClockProcessCputime || t->clock == kClockThreadCputime)) {
    // CPU-time clocks run on elapsed time here (the timer_create entry says so): an absolute
    // CPU time becomes the elapsed time until the clock would reach it if the CPU stayed busy.
    uint64_t target = TRY(timespec_ns(wanted.value));
    uint64_t used = t->clock == kClockProcessCputime ? process_cpu_time_ns() : current_thread()->cpu_time();
    if (target) wanted.value = to_timespec(target > used ? target - used : 1);
    absolute = false;
  }
  TimerSetting setting = TRY(to_timer_setting(wanted, t->clock, absolute));
  IntervalTimer::Setting previous = t->timer.arm(setting.deadline_ns, setting.interval_ns);
  if (old_value) TRY(user::write(old_value, to_itimerspec(previous)));
  return 0;
}

Result<long> sys_timer_gettime(int id, ItimerSpec* value) {
  MutexGuard guard(g_timers_lock);
  SignallingTimer* t = TRY(posix_timer(id));
  TRY(user::write(value, to_itimerspec(t->timer.setting())));
  return 0;
}

Result<long> sys_timer_getoverrun(int id) {
  MutexGuard guard(g_timers_lock);
  SignallingTimer* t = TRY(posix_timer(id));
  return t->overrun.load();
}

Result<long> sys_timer_delete(int id) {
  MutexGuard guard(g_timers_lock);
  SignallingTimer* t = TRY(posix_timer(id));
  g_timers[id] = nullptr;
  delete t;
  return 0;
}

Result<long> sys_setitimer(int which, const ItimerVal* new_value, ItimerVal* old_value) {
  ItimerVal wanted = TRY(user::read(new_value));
  uint64_t value = TRY(timeval_ns(wanted.value));
  uint64_t interval = TRY(timeval_ns(wanted.interval));
  IntervalTimer::Setting previous = TRY(set_itimer(which, value, interval));
  if (old_value) TRY(user::write(old_value, to_itimerval(previous)));
  return 0;
}

Result<long> sys_getitimer(int which, ItimerVal* value) {
  IntervalTimer::Setting setting;
  {
    MutexGuard guard(g_timers_lock);
    setting = TRY(itimer(which))->timer.setting();
  }
  TRY(user::write(value, to_itimerval(setting)));
  return 0;
}

Result<long> sys_alarm(unsigned seconds) {
  IntervalTimer::Setting previous = TRY(set_itimer(kItimerReal, seconds * kNsPerSecond, 0));
  Timeval left = to_timeval(previous.remaining_ns);
  // Whole seconds, rounded to nearest, but a pending alarm never reads as 0 (as Linux).
  long result = left.seconds + (left.microseconds >= 500'000 ? 1 : 0);
  if (result == 0 && previous.remaining_ns) result = 1;
  return result;
}

}  // namespace nimbus::linux
