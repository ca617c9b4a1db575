// Scheduling settings: CPU affinity, policies and priorities, and nice values. Affinity is
// the scheduler's own (threads run only where their mask allows). Nimbus has one policy
// (round robin with a 4 ms slice on per-CPU queues), so policies, priorities and nice
// values are checked and remembered as Linux would report them, but do not change when a
// thread runs.
#include <cstring>

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

Spinlock g_settings_lock;  // guards the two below
int g_policy = kSchedOther;
int g_priority = 0;
int g_nice = 0;

// Runs `f` on the thread Linux's pid argument names (a thread id; 0 is the caller). Another
// thread is only reached under the thread-list lock, which keeps it from exiting meanwhile.
Result<> on_thread(int pid, void (*f)(Thread& thread, void* context), void* context) {
  if (pid < 0) return error(Errno::einval);
  if (pid == 0 || static_cast<uint32_t>(pid) == current_linux_thread().tid) {
    f(*current_thread(), context);
    return {};
  }
  struct Call {
    void (*f)(Thread&, void*);
    void* context;
  } call{f, context};
  auto run = [](LinuxThread& t, void* c) {
    auto* call = static_cast<Call*>(c);
    call->f(*t.thread, call->context);
  };
  if (!with_thread(static_cast<uint32_t>(pid), run, &call)) return error(Errno::esrch);
  return {};
}

Result<> check_thread(int pid) { return on_thread(pid, [](Thread&, void*) {}, nullptr); }

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
  TRY(check_thread(pid));
  SpinlockGuard guard(g_settings_lock);
  return g_policy;
}

Result<long> sys_sched_getparam(int pid, int* param) {
  TRY(check_thread(pid));
  int priority;
  {
    SpinlockGuard guard(g_settings_lock);
    priority = g_priority;
  }
  TRY(user::write(param, priority));
  return 0;
}

Result<long> sys_sched_setscheduler(int pid, int policy, const int* param) {
  TRY(check_thread(pid));
  policy &= ~kSchedResetOnFork;
  if (policy == kSchedDeadline || !valid_policy(policy)) return error(Errno::einval);
  int priority = TRY(user::read(param));
  if (priority < priority_min(policy) || priority > priority_max(policy)) return error(Errno::einval);
  SpinlockGuard guard(g_settings_lock);
  g_policy = policy;
  g_priority = priority;
  return 0;
}

Result<long> sys_sched_setparam(int pid, const int* param) {
  TRY(check_thread(pid));
  int priority = TRY(user::read(param));
  SpinlockGuard guard(g_settings_lock);
  if (priority < priority_min(g_policy) || priority > priority_max(g_policy)) return error(Errno::einval);
  g_priority = priority;
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
  SpinlockGuard guard(g_settings_lock);
  return 20 - g_nice;  // the raw syscall's form; the C library turns it back into a nice value
}

Result<long> sys_setpriority(int which, int who, int nice) {
  if (which < kPrioProcess || which > kPrioUser) return error(Errno::einval);
  if (which == kPrioProcess && who != 0) TRY(check_thread(who));
  else if (who != 0 && who != static_cast<int>(current_process().pid) && which == kPrioPgrp) return error(Errno::esrch);
  SpinlockGuard guard(g_settings_lock);
  g_nice = nice < -20 ? -20 : nice > 19 ? 19 : nice;
  return 0;
}

}  // namespace nimbus::linux
