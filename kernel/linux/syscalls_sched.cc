// Scheduling settings: CPU affinity, policies and priorities, and nice values. Nimbus has
// one policy (round robin with a 4 ms slice on per-CPU queues), so settings are checked
// and remembered as Linux would report them, and affinity is kept per thread, but neither
// changes where or when a thread runs.
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
constexpr size_t kMaskWords = cpus::kMax / 64;
static_assert(sizeof(LinuxThread::affinity) == kMaskWords * 8);

Spinlock g_settings_lock;  // guards the two below
int g_policy = kSchedOther;
int g_priority = 0;
int g_nice = 0;

// Linux's pid argument here is a thread id; 0 is the caller.
Result<LinuxThread*> thread_for(int pid) {
  if (pid < 0) return error(Errno::einval);
  if (pid == 0) return &current_linux_thread();
  LinuxThread* found = nullptr;
  if (!with_thread(static_cast<uint32_t>(pid), [](LinuxThread& t, void* out) { *static_cast<LinuxThread**>(out) = &t; },
                   &found))
    return error(Errno::esrch);
  return found;
}

void online_cpus(uint64_t* words) {
  memset(words, 0, kMaskWords * 8);
  for (size_t i = 0; i < cpus::count(); i++)
    if (cpus::get(i).online.load()) words[i / 64] |= 1ull << (i % 64);
}

int priority_max(int policy) { return policy == kSchedFifo || policy == kSchedRr ? 99 : 0; }
int priority_min(int policy) { return policy == kSchedFifo || policy == kSchedRr ? 1 : 0; }
bool valid_policy(int policy) {
  return policy == kSchedOther || policy == kSchedFifo || policy == kSchedRr || policy == kSchedBatch ||
         policy == kSchedIdle;
}

}  // namespace

Result<long> sys_sched_getaffinity(int pid, size_t size, void* mask) {
  LinuxThread* thread = TRY(thread_for(pid));
  size_t bytes = (cpus::count() + 63) / 64 * 8;
  if (size < bytes || (size & 7)) return error(Errno::einval);
  uint64_t words[kMaskWords];
  online_cpus(words);
  if (thread->has_affinity)
    for (size_t i = 0; i < kMaskWords; i++) words[i] &= thread->affinity[i];
  TRY(user::copy_to(mask, words, bytes));
  return static_cast<long>(bytes);
}

Result<long> sys_sched_setaffinity(int pid, size_t size, const void* mask) {
  LinuxThread* thread = TRY(thread_for(pid));
  uint64_t wanted[kMaskWords] = {};
  TRY(user::copy_from(wanted, mask, size < sizeof(wanted) ? size : sizeof(wanted)));
  uint64_t online[kMaskWords];
  online_cpus(online);
  bool any = false;
  for (size_t i = 0; i < kMaskWords; i++) any |= (wanted[i] & online[i]) != 0;
  if (!any) return error(Errno::einval);
  memcpy(thread->affinity, wanted, sizeof(wanted));
  thread->has_affinity = true;
  return 0;
}

Result<long> sys_sched_getscheduler(int pid) {
  TRY(thread_for(pid));
  SpinlockGuard guard(g_settings_lock);
  return g_policy;
}

Result<long> sys_sched_getparam(int pid, int* param) {
  TRY(thread_for(pid));
  int priority;
  {
    SpinlockGuard guard(g_settings_lock);
    priority = g_priority;
  }
  TRY(user::write(param, priority));
  return 0;
}

Result<long> sys_sched_setscheduler(int pid, int policy, const int* param) {
  TRY(thread_for(pid));
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
  TRY(thread_for(pid));
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
  TRY(thread_for(pid));
  TRY(user::write(interval, Timespec{0, static_cast<int64_t>(scheduler::kTimeSliceNs)}));
  return 0;
}

Result<long> sys_getpriority(int which, int who) {
  if (which < kPrioProcess || which > kPrioUser) return error(Errno::einval);
  if (which == kPrioProcess && who != 0) TRY(thread_for(who));
  else if (who != 0 && who != static_cast<int>(kPid) && which == kPrioPgrp) return error(Errno::esrch);
  SpinlockGuard guard(g_settings_lock);
  return 20 - g_nice;  // the raw syscall's form; the C library turns it back into a nice value
}

Result<long> sys_setpriority(int which, int who, int nice) {
  if (which < kPrioProcess || which > kPrioUser) return error(Errno::einval);
  if (which == kPrioProcess && who != 0) TRY(thread_for(who));
  else if (who != 0 && who != static_cast<int>(kPid) && which == kPrioPgrp) return error(Errno::esrch);
  SpinlockGuard guard(g_settings_lock);
  g_nice = nice < -20 ? -20 : nice > 19 ? 19 : nice;
  return 0;
}

}  // namespace nimbus::linux
