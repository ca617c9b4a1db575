// Scheduling settings: CPU affinity, policies and priorities, and nice values. Affinity is
// the scheduler's own (threads run only where their mask allows). Nimbus has one policy
// (round robin with a 4 ms slice on per-CPU queues), so policies, priorities and nice
// values are checked and remembered as Linux would report them, but do not change when a
// thread runs.
#include <cstring>
#include <optional>

#include "kernel/linux/process.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::linux {
namespace {

constexpr int kSchedOther = 0, kSchedFifo = 1, kSchedRr = 2, kSchedBatch = 3, kSchedIdle = 5, kSchedDeadline = 6;
constexpr int kSchedResetOnFork = 0x40000000;
constexpr int kPrioProcess = 0, kPrioPgrp = 1, kPrioUser = 2;
static_assert(CpuMask::kBits == cpus::kMax);

Spinlock g_settings_lock;  // guards every process's SchedulingSettings (a leaf lock)

// struct sched_attr (sched_setattr(2)): its first version is 48 bytes, the second (utilisation
// clamps) 56, which is this kernel's.
struct SchedAttr {
  uint32_t size;
  uint32_t policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
  uint32_t util_min, util_max;
};
static_assert(sizeof(SchedAttr) == 56);
constexpr uint32_t kSchedAttrSizeVer0 = 48;
constexpr uint32_t kSchedAttrSizeVer1 = 56;
constexpr uint64_t kSchedFlagAll = 0x7f;
constexpr uint64_t kSchedFlagUtilClamp = 0x60;

// Runs `f` on the thread Linux's pid argument names (a thread id; 0 is the caller): EINVAL
// for a negative pid, ESRCH for no such thread. Another thread is only reached under the
// thread-list lock, which keeps it from exiting meanwhile.
Result<> on_linux_thread(int pid, void (*f)(LinuxThread& thread, void* context), void* context) {
  if (pid < 0) return error(Errno::einval);
  if (pid == 0 || static_cast<uint32_t>(pid) == current_linux_thread().tid) {
    f(current_linux_thread(), context);
    return {};
  }
  if (!with_thread(static_cast<uint32_t>(pid), f, context)) return error(Errno::esrch);
  return {};
}

Result<> on_thread(int pid, void (*f)(Thread& thread, void* context), void* context) {
  struct Call {
    void (*f)(Thread&, void*);
    void* context;
  } call{f, context};
  return on_linux_thread(
      pid, [](LinuxThread& t, void* c) { static_cast<Call*>(c)->f(*t.thread, static_cast<Call*>(c)->context); },
      &call);
}

Result<> check_thread(int pid) { return on_thread(pid, [](Thread&, void*) {}, nullptr); }

// Runs `f` on the scheduling settings of the process of thread `pid` (0: the caller's),
// under the settings lock.
Result<> with_settings(int pid, void (*f)(SchedulingSettings& settings, void* context), void* context) {
  struct Call {
    void (*f)(SchedulingSettings&, void*);
    void* context;
  } call{f, context};
  auto run = [](LinuxThread& t, void* c) {
    auto* call = static_cast<Call*>(c);
    SpinlockGuard guard(g_settings_lock);
    call->f(t.process->scheduling, call->context);
  };
  return on_linux_thread(pid, run, &call);
}

Result<SchedulingSettings> read_settings(int pid) {
  SchedulingSettings copy;
  TRY(with_settings(pid, [](SchedulingSettings& s, void* out) { *static_cast<SchedulingSettings*>(out) = s; }, &copy));
  return copy;
}

// The online CPUs among `wanted`.
CpuMask online_among(const CpuMask& wanted) {
  CpuMask mask;
  for (size_t i = 0; i < cpus::count(); i++)
    if (wanted.has(i) && cpus::get(i).online.load()) mask.add(i);
  return mask;
}

int priority_max(int policy) { return policy == kSchedFifo || policy == kSchedRr ? 99 : 0; }
int priority_min(int policy) { return policy == kSchedFifo || policy == kSchedRr ? 1 : 0; }
bool valid_policy(int policy) {
  return policy == kSchedOther || policy == kSchedFifo || policy == kSchedRr || policy == kSchedBatch ||
         policy == kSchedIdle;
}

}  // namespace

Result<long> sys_sched_getaffinity(int pid, size_t size, void* mask) {
  size_t bytes = (cpus::count() + 63) / 64 * 8;
  if (size < bytes || (size & 7)) return error(Errno::einval);
  CpuMask allowed;
  TRY(on_thread(pid, [](Thread& t, void* out) { *static_cast<CpuMask*>(out) = t.allowed_cpus; }, &allowed));
  allowed = online_among(allowed);
  TRY(user::copy_to(mask, allowed.words(), bytes));
  return static_cast<long>(bytes);
}

Result<long> sys_sched_setaffinity(int pid, size_t size, const void* mask) {
  CpuMask wanted;
  TRY(user::copy_from(wanted.words(), mask, size < CpuMask::kWords * 8 ? size : CpuMask::kWords * 8));
  CpuMask allowed = online_among(wanted);
  if (allowed.first_below(CpuMask::kBits) == CpuMask::kBits) return error(Errno::einval);
  // set_affinity takes only spinlocks for another thread, so it may run under the list lock.
  TRY(on_thread(pid, [](Thread& t, void* mask) { scheduler::set_affinity(&t, *static_cast<CpuMask*>(mask)); }, &allowed));
  return 0;
}

Result<long> sys_sched_getscheduler(int pid) {
  SchedulingSettings settings = TRY(read_settings(pid));
  return settings.policy;
}

Result<long> sys_sched_getparam(int pid, int* param) {
  if (!param) return error(Errno::einval);
  SchedulingSettings settings = TRY(read_settings(pid));
  TRY(user::write(param, settings.priority));
  return 0;
}

namespace {
// Gives the process of thread `pid` a checked policy and priority, and `nice` too when given
// and the policy is a fair one (as Linux's sched_setattr; sched_setscheduler keeps nice).
Result<> set_policy(int pid, int policy, int priority, std::optional<int> nice) {
  struct Change {
    int policy, priority;
    std::optional<int> nice;
  } change{policy, priority, nice};
  return with_settings(
      pid,
      [](SchedulingSettings& s, void* c) {
        auto* change = static_cast<Change*>(c);
        s.policy = change->policy;
        s.priority = change->priority;
        if (change->nice && (change->policy == kSchedOther || change->policy == kSchedBatch)) s.nice = *change->nice;
      },
      &change);
}
}  // namespace

Result<long> sys_sched_setscheduler(int pid, int policy, const int* param) {
  TRY(check_thread(pid));
  policy &= ~kSchedResetOnFork;
  if (policy == kSchedDeadline || !valid_policy(policy)) return error(Errno::einval);
  int priority = TRY(user::read(param));
  if (priority < priority_min(policy) || priority > priority_max(policy)) return error(Errno::einval);
  TRY(set_policy(pid, policy, priority, std::nullopt));
  return 0;
}

Result<long> sys_sched_setparam(int pid, const int* param) {
  int priority = TRY(user::read(param));
  struct Change {
    int priority;
    bool valid;
  } change{priority, false};
  TRY(with_settings(
      pid,
      [](SchedulingSettings& s, void* c) {
        auto* change = static_cast<Change*>(c);
        change->valid = change->priority >= priority_min(s.policy) && change->priority <= priority_max(s.policy);
        if (change->valid) s.priority = change->priority;
      },
      &change));
  if (!change.valid) return error(Errno::einval);
  return 0;
}

Result<long> sys_sched_getattr(int pid, void* user_attr, unsigned size, unsigned flags) {
  if (!user_attr || pid < 0 || size > 4096 || size < kSchedAttrSizeVer0 || flags) return error(Errno::einval);
  SchedulingSettings settings = TRY(read_settings(pid));
  SchedAttr attr{};
  attr.size = static_cast<uint32_t>(size < sizeof(SchedAttr) ? size : sizeof(SchedAttr));
  attr.policy = static_cast<uint32_t>(settings.policy);
  attr.nice = settings.nice;
  attr.priority = static_cast<uint32_t>(settings.priority);
  TRY(user::copy_to(user_attr, &attr, attr.size));
  return 0;
}

Result<long> sys_sched_setattr(int pid, void* user_attr, unsigned flags) {
  if (!user_attr || pid < 0 || flags) return error(Errno::einval);
  // Linux's sched_copy_attr: 0 means the first version; a size below it, above a page, or
  // with non-zero bytes past the struct this kernel knows is E2BIG, and the kernel's size is
  // written back for the caller to retry with.
  uint32_t size = TRY(user::read(static_cast<const uint32_t*>(user_attr)));
  if (size == 0) size = kSchedAttrSizeVer0;
  bool too_big = size < kSchedAttrSizeVer0 || size > 4096;
  for (uint32_t at = sizeof(SchedAttr); !too_big && at < size; at++) {
    uint8_t byte = TRY(user::read(static_cast<const uint8_t*>(user_attr) + at));
    too_big = byte != 0;
  }
  if (too_big) {
    TRY(user::write(static_cast<uint32_t*>(user_attr), static_cast<uint32_t>(sizeof(SchedAttr))));
    return error(Errno::e2big);
  }
  SchedAttr attr{};
  TRY(user::copy_from(&attr, user_attr, size < sizeof(SchedAttr) ? size : sizeof(SchedAttr)));
  int policy = static_cast<int>(attr.policy);
  if (policy == kSchedDeadline || !valid_policy(policy)) return error(Errno::einval);
  if (attr.flags & ~kSchedFlagAll) return error(Errno::einval);
  if ((attr.flags & kSchedFlagUtilClamp) && size < kSchedAttrSizeVer1) return error(Errno::einval);
  int priority = static_cast<int>(attr.priority);
  if (priority < priority_min(policy) || priority > priority_max(policy)) return error(Errno::einval);
  TRY(set_policy(pid, policy, priority, attr.nice < -20 ? -20 : attr.nice > 19 ? 19 : attr.nice));
  return 0;
}

Result<long> sys_sched_get_priority_max(int policy) {
  if (!valid_policy(policy)) return error(Errno::einval);
  return priority_max(policy);
}

Result<long> sys_sched_get_priority_min(int policy) {
  if (!valid_policy(policy)) return error(Errno::einval);
  return priority_min(policy);
}

Result<long> sys_sched_rr_get_interval(int pid, Timespec* interval) {
  TRY(check_thread(pid));
  TRY(user::write(interval, Timespec{0, static_cast<int64_t>(scheduler::kTimeSliceNs)}));
  return 0;
}

Result<long> sys_getpriority(int which, int who) {
  if (which < kPrioProcess || which > kPrioUser) return error(Errno::einval);
  if (which == kPrioProcess && who != 0) TRY(check_thread(who));
  else if (who != 0 && who != static_cast<int>(current_process().pid) && which == kPrioPgrp) return error(Errno::esrch);
  SchedulingSettings settings = TRY(read_settings(which == kPrioProcess ? who : 0));
  return 20 - settings.nice;  // the raw syscall's form; the C library turns it back into a nice value
}

Result<long> sys_setpriority(int which, int who, int nice) {
  if (which < kPrioProcess || which > kPrioUser) return error(Errno::einval);
  if (which == kPrioProcess && who != 0) TRY(check_thread(who));
  else if (who != 0 && who != static_cast<int>(current_process().pid) && which == kPrioPgrp) return error(Errno::esrch);
  int clamped = nice < -20 ? -20 : nice > 19 ? 19 : nice;
  TRY(with_settings(
      which == kPrioProcess ? who : 0, [](SchedulingSettings& s, void* c) { s.nice = *static_cast<int*>(c); },
      &clamped));
  return 0;
}

}  // namespace nimbus::linux
