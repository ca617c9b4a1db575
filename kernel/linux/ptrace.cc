// ptrace: tracers, signal-delivery stops and resuming (see ptrace.h for what is offered).
#include "kernel/linux/ptrace.h"

#include "kernel/linux/credentials.h"
#include "kernel/linux/process.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/syscalls.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::linux {
namespace {

// Requests (linux/ptrace.h).
constexpr long kPtraceTraceme = 0;
constexpr long kPtraceCont = 7;
constexpr long kPtraceKill = 8;
constexpr long kPtraceAttach = 16;
constexpr long kPtraceDetach = 17;
constexpr int kCldTrapped = 4;

// Lets a stopped tracee go with `signal` (0: none). Under the tree lock.
void resume_locked(Process& tracee, int signal) {
  SpinlockGuard guard(tracee.stop_lock);
  tracee.trace_resume_signal = signal;
  tracee.trace_unreported = false;
  tracee.trace_stopped.store(false);
  tracee.stop_wait.wake_all();
}

// The process `pid` that the caller traces and that is in a signal-delivery stop (unless
// `running_too`), or nullptr (ESRCH, as Linux's ptrace_check_attach). Under the tree lock.
Process* tracee_locked(long pid, bool running_too) {
  if (pid <= 0) return nullptr;
  Process* tracee = find_process_locked(static_cast<uint32_t>(pid));
  if (!tracee || tracee->state != ProcessState::alive || tracee->tracer.load() != &current_process()) return nullptr;
  if (!running_too && !tracee->trace_stopped.load()) return nullptr;
  return tracee;
}

Result<long> attach(long pid) {
  Process& self = current_process();
  if (pid <= 0) return error(Errno::esrch);
  SpinlockGuard tree(process_tree_lock());
  Process* target = find_process_locked(static_cast<uint32_t>(pid));
  if (!target || target->state != ProcessState::alive) return error(Errno::esrch);
  // Not oneself, not twice, not PID 1 (a stopped PID 1 would hang the VM).
  if (target == &self || target->tracer.load() || target->pid == kInitPid) return error(Errno::eperm);
  if (!may_trace_locked(*target)) return error(Errno::eperm);
  target->tracer.store(&self);
  SignalDetails details;
  details.code = kSiUser;
  details.pid_or_timer = static_cast<int32_t>(self.pid);
  TRY(send_process_signal(*target, kSigstop, details));
  return 0;
}

struct Release {
  Process* tracer;
};

}  // namespace

int stop_for_tracer(LinuxThread& self, int signal) {
  Process& process = *self.process;
  {
    SpinlockGuard tree(process_tree_lock());
    Process* tracer = process.tracer.load();
    if (!tracer) return signal;
    {
      SpinlockGuard guard(process.stop_lock);
      process.trace_stopped.store(true);
    }
    process.trace_signal = signal;
    process.trace_unreported = true;
    process.trace_resume_signal = 0;
    notify_stop_locked(*tracer, process, kCldTrapped, signal);
  }
  bool interrupts = process.stop_lock.lock();
  while (process.trace_stopped.load() && !kill_pending(self)) process.stop_wait.wait(process.stop_lock);
  int given = process.trace_resume_signal;
  process.stop_lock.unlock(interrupts);
  return kill_pending(self) ? 0 : given;
}

void release_tracees_locked(Process& tracer) {
  Release release{&tracer};
  for_each_process_locked(
      [](Process& p, void* context) {
        if (p.tracer.load() != static_cast<Release*>(context)->tracer) return;
        p.tracer.store(nullptr);
        if (p.trace_stopped.load()) resume_locked(p, 0);
      },
      &release);
}

Result<long> sys_ptrace(long request, long pid, uint64_t, uint64_t data) {
  switch (request) {
    case kPtraceTraceme: {
      Process& self = current_process();
      SpinlockGuard tree(process_tree_lock());
      if (self.tracer.load() || !self.parent) return error(Errno::eperm);
      self.tracer.store(self.parent);
      return 0;
    }
    case kPtraceAttach:
      return attach(pid);
    case kPtraceCont:
    case kPtraceDetach: {
      if (data > static_cast<uint64_t>(kSignalCount)) return error(Errno::eio);
      SpinlockGuard tree(process_tree_lock());
      Process* tracee = tracee_locked(pid, false);
      if (!tracee) return error(Errno::esrch);
      if (request == kPtraceDetach) tracee->tracer.store(nullptr);
      resume_locked(*tracee, static_cast<int>(data));
      return 0;
    }
    case kPtraceKill: {
      SpinlockGuard tree(process_tree_lock());
      Process* tracee = tracee_locked(pid, true);
      if (!tracee) return error(Errno::esrch);
      SignalDetails details;
      details.code = kSiKernel;
      (void)send_process_signal(*tracee, kSigkill, details);
      return 0;
    }
    default:
      // PEEK/POKE, registers, options, SEIZE...: not offered.
      return error(Errno::eio);
  }
}

}  // namespace nimbus::linux
