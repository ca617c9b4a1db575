// New processes and waiting for them: fork, vfork, clone without CLONE_THREAD, wait4, waitid.
#include <cstring>
#include <limits>
#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/fpu.h"
#include "kernel/fs/fs_context.h"
#include "kernel/linux/fork.h"
#include "kernel/linux/clone_flags.h"
#include "kernel/linux/process.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/time_abi.h"
#include "kernel/linux/user_memory.h"
#include "kernel/mm/heap.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/thread.h"

extern "C" [[noreturn]] void resume_from_frame(nimbus::linux::SyscallFrame* frame);

namespace nimbus::linux {
namespace {

// What a new process may be asked for. CLONE_FS and CLONE_FILES give it copies (not shared
// tables), CLONE_SIGHAND copies of the actions: docs/syscalls.md says so.
constexpr uint64_t kSupported = kCloneVm | kCloneFs | kCloneFiles | kCloneSighand | kCloneVfork | kCloneParent |
                                kCloneSysvsem | kCloneSettls | kCloneParentSettid | kCloneChildCleartid |
                                kCloneDetached | kCloneChildSettid | kCloneClearSighand | 0xff;

// wait options (linux/wait.h).
constexpr int kWnohang = 1;
constexpr int kWuntraced = 2;
constexpr int kWexited = 4;
constexpr int kWcontinued = 8;
constexpr int kWnowait = 0x01000000;
constexpr int kWnothread = 0x20000000;
constexpr int kWall = 0x40000000;
constexpr int kWclone = static_cast<int>(0x80000000u);
// waitid id types.
constexpr int kPAll = 0;
constexpr int kPPid = 1;
constexpr int kPPgid = 2;
constexpr int kCldExited = 1;
constexpr int kCldKilled = 2;
constexpr int kCldTrapped = 4;
constexpr int kCldStopped = 5;
constexpr int kCldContinued = 6;

struct ForkStart {
  SyscallFrame frame;
  LinuxThread* thread;
  uint64_t fs_base;
  int* child_tid;  // CLONE_CHILD_SETTID: written in the child's memory
  void* extended_state;  // the parent's FPU/SSE/AVX registers at the call
};

void start_forked(void* argument) {
  auto* start = static_cast<ForkStart*>(argument);
  adopt_linux_thread(*start->thread, start->fs_base);
  if (start->child_tid) (void)user::write(start->child_tid, static_cast<int>(start->thread->tid));
  bool interrupts = x86::save_and_disable_interrupts();
  fpu::restore(start->extended_state);
  x86::restore_interrupts(interrupts);
  heap::free(start->extended_state);
  // The frame is copied to this stack, which the next syscall reuses from the top.
  SyscallFrame frame = start->frame;
  heap::free(start);
  resume_from_frame(&frame);
}

// Undoes a child that never ran.
void discard_child(Process* child) {
  {
    SpinlockGuard guard(process_tree_lock());
    if (child->parent) child->parent->children.remove(child);
  }
  if (child->space) child->space->release();
  if (child->files) child->files->destroy();
  free_process(child);
}

}  // namespace

Result<long> fork_process(uint64_t flags, uint64_t stack, int* parent_tid, int* child_tid, uint64_t tls) {
  if (flags & ~kSupported) return error(Errno::einval);
  if ((flags & kCloneSighand) && !(flags & kCloneVm)) return error(Errno::einval);
  Process& parent = current_process();
  LinuxThread& caller = current_linux_thread();
  if ((flags & kCloneParent) && parent.pid == kInitPid) return error(Errno::einval);

  Process* child = TRY(create_process());
  auto fail = [&](Errno e) -> Result<long> {
    discard_child(child);
    return error(e);
  };
  if (flags & kCloneVm) {
    parent.space->retain();
    child->space = parent.space;
  } else {
    auto space = parent.space->try_clone();
    if (!space) return fail(space.error());
    child->space = *space;
  }
  auto files = parent.files->try_copy();
  if (!files) return fail(files.error());
  child->files = *files;
  {
    SpinlockGuard guard(parent.signals.actions_lock);
    memcpy(child->signals.actions, parent.signals.actions, sizeof(child->signals.actions));
  }
  if (flags & kCloneClearSighand) reset_caught_signal_actions(*child);
  {
    SpinlockGuard guard(credentials_lock());
    child->credentials = parent.credentials;
  }
  {
    SpinlockGuard guard(resource_limits_lock());
    child->limits = parent.limits;
  }
  child->scheduling = parent.scheduling;
  child->no_new_privileges.store(parent.no_new_privileges.load());
  child->info = parent.info;
  if (parent.strings) {
    parent.strings->retain();
    child->strings = parent.strings;
  }
  child->exit_signal = static_cast<int>(flags & 0xff);
  child->creator_tid = caller.tid;

  auto* thread = static_cast<LinuxThread*>(heap::allocate(sizeof(LinuxThread), alignof(LinuxThread)));
  auto* start = static_cast<ForkStart*>(heap::allocate(sizeof(ForkStart), alignof(ForkStart)));
  void* extended_state = heap::allocate(fpu::state_size(), 64);
  if (!thread || !start || !extended_state) {
    heap::free(thread);
    heap::free(start);
    heap::free(extended_state);
    return fail(Errno::enomem);
  }
  new (thread) LinuxThread();
  thread->tid = child->pid;
  thread->process = child;
  thread->signal_mask = caller.signal_mask;
  thread->alternate_stack = caller.alternate_stack;
  thread->alternate_stack_size = caller.alternate_stack_size;
  thread->alternate_stack_disabled = caller.alternate_stack_disabled;
  memcpy(thread->name, caller.name, sizeof(thread->name));
  if (flags & kCloneChildCleartid) thread->clear_child_tid = reinterpret_cast<uint64_t>(child_tid);
  child->live_threads.store(1);

  start->frame = *current_syscall_frame();
  start->frame.rax = 0;  // the child sees clone return 0
  if (stack) start->frame.rsp = stack;
  start->thread = thread;
  start->fs_base = (flags & kCloneSettls) ? tls : current_thread()->fs_base;
  start->child_tid = (flags & kCloneChildSettid) ? child_tid : nullptr;
  start->extended_state = extended_state;
  {
    // xsave leaves the header's reserved bytes as they were: they must be zero for xrstor.
    fpu::init_state(extended_state);
    bool interrupts = x86::save_and_disable_interrupts();
    fpu::save(extended_state);
    x86::restore_interrupts(interrupts);
  }
  if (flags & kCloneParentSettid) {
    if (auto written = user::write(parent_tid, static_cast<int>(child->pid)); !written) {
      heap::free(thread);
      heap::free(start);
      heap::free(extended_state);
      return fail(Errno::efault);
    }
  }

  bool vfork = flags & kCloneVfork;
  {
    SpinlockGuard guard(process_tree_lock());
    Process* real_parent = (flags & kCloneParent) ? parent.parent : &parent;
    child->parent = real_parent;
    child->pgid = parent.pgid;
    child->sid = parent.sid;
    real_parent->children.push_back(child);
    if (vfork) {
      parent.vfork_done = false;
      child->vfork_parent = &parent;
    }
  }
  uint32_t pid = child->pid;
  // A new process's thread inherits its creator's CPU affinity, as on Linux.
  auto kernel_thread = Thread::try_create("app", start_forked, start, current_thread()->allowed_cpus);
  if (!kernel_thread) {
    {
      SpinlockGuard guard(process_tree_lock());
      child->vfork_parent = nullptr;
    }
    heap::free(thread);
    heap::free(start);
    heap::free(extended_state);
    return fail(Errno::eagain);
  }
  (*kernel_thread)->detach();
  if (vfork) {
    // The child runs on our memory and stack until it execs or exits.
    bool interrupts = process_tree_lock().lock();
    while (!parent.vfork_done) parent.vfork_wait.wait(process_tree_lock());
    process_tree_lock().unlock(interrupts);
  }
  return pid;
}

Result<long> sys_fork() { return fork_process(kSigchld, 0, nullptr, nullptr, 0); }

Result<long> sys_vfork() { return fork_process(kCloneVm | kCloneVfork | kSigchld, 0, nullptr, nullptr, 0); }

namespace {

// Which children a wait is for.
struct WaitTarget {
  enum class Kind { any, pid, group } kind;
  uint32_t id;
  int options;
  // waitid without WEXITED: ended children are not reported and do not count as children
  // (ECHILD if only they are left), as Linux's wait_task_zombie.
  bool ignores_ended = false;
};

bool waits_for(const WaitTarget& target, const Process& child) {
  // __WCLONE: only children that signal other than SIGCHLD at their end; by default the
  // others; __WALL: all. A tracer waits for its tracees whatever they signal.
  bool traced = child.tracer.load() == &current_process();
  if (!traced && !(target.options & kWall) && ((target.options & kWclone) != 0) != (child.exit_signal != kSigchld))
    return false;
  // __WNOTHREAD: only the children this thread made (Linux keeps children per thread).
  if ((target.options & kWnothread) && child.creator_tid != current_linux_thread().tid) return false;
  switch (target.kind) {
    case WaitTarget::Kind::any: return true;
    case WaitTarget::Kind::pid: return child.pid == target.id;
    case WaitTarget::Kind::group: return child.pgid == target.id;
  }
  return false;
}

struct Reaped {
  uint32_t pid;
  int wait_status;  // as wait4 reports it: exited, killed, stopped (sig << 8 | 0x7f) or 0xffff
  uint64_t cpu_time_ns;
  int code = 0;     // waitid's si_code: CLD_EXITED, CLD_KILLED, CLD_STOPPED or CLD_CONTINUED
  int status = 0;   // waitid's si_status: exit code or signal
};

// A stop or continue of a live child that the wait asks for (WUNTRACED, WCONTINUED) and has
// not been reported yet; consumed unless WNOWAIT. Under the tree lock.
bool take_job_control_report(const WaitTarget& target, Process& child, Reaped& report) {
  bool keep = target.options & kWnowait;
  // A signal-delivery stop is its tracer's to see, WUNTRACED or not.
  if (child.trace_unreported && child.tracer.load() == &current_process()) {
    if (!keep) child.trace_unreported = false;
    report = Reaped{child.pid, (child.trace_signal << 8) | 0x7f, 0, kCldTrapped, child.trace_signal};
    return true;
  }
  if ((target.options & kWuntraced) && child.stop_unreported) {
    if (!keep) child.stop_unreported = false;
    report = Reaped{child.pid, (child.stop_signal << 8) | 0x7f, 0, kCldStopped, child.stop_signal};
    return true;
  }
  if ((target.options & kWcontinued) && child.continue_unreported) {
    if (!keep) child.continue_unreported = false;
    report = Reaped{child.pid, 0xffff, 0, kCldContinued, kSigcont};
    return true;
  }
  return false;
}

// Waits for a child of `target` to end, stop or continue (as the options ask): its pid and
// status (pid 0 with WNOHANG and none yet), ECHILD without such children, ERESTARTSYS for a
// signal.
Result<Reaped> wait_for_child(const WaitTarget& target) {
  Process& self = current_process();
  for (;;) {
    Process* zombie = nullptr;
    bool any = false;
    Reaped report{};
    bool reported = false;
    bool interrupts = process_tree_lock().lock();
    for (Process* c = self.children.front(); c; c = self.children.next(c)) {
      if (!waits_for(target, *c)) continue;
      if (target.ignores_ended && c->state == ProcessState::zombie) continue;
      any = true;
      if (c->state == ProcessState::zombie) {
        zombie = c;
        break;
      }
      if (take_job_control_report(target, *c, report)) {
        reported = true;
        break;
      }
    }
    // Live tracees that are not children: their stops are the tracer's too.
    if (!reported && !zombie) {
      struct Scan {
        const WaitTarget* target;
        Process* self;
        Reaped* report;
        bool any, reported;
      } scan{&target, &self, &report, false, false};
      for_each_process_locked(
          [](Process& p, void* context) {
            auto* s = static_cast<Scan*>(context);
            if (s->reported || p.parent == s->self || p.tracer.load() != s->self) return;
            if (p.state != ProcessState::alive || !waits_for(*s->target, p)) return;
            s->any = true;
            s->reported = take_job_control_report(*s->target, p, *s->report);
          },
          &scan);
      any = any || scan.any;
      reported = scan.reported;
    }
    if (reported) {
      process_tree_lock().unlock(interrupts);
      return report;
    }
    if (zombie) {
      bool killed = zombie->wait_status & 0x7f;
      Reaped reaped{zombie->pid, zombie->wait_status,
                    zombie->exited_cpu_time_ns.load() + zombie->children_cpu_time_ns,
                    killed ? kCldKilled : kCldExited,
                    killed ? zombie->wait_status & 0x7f : (zombie->wait_status >> 8) & 0xff};
      bool keep = target.options & kWnowait;
      if (!keep) {
        self.children.remove(zombie);
        self.children_cpu_time_ns += reaped.cpu_time_ns;
      }
      process_tree_lock().unlock(interrupts);
      if (!keep) free_process(zombie);
      return reaped;
    }
    if (!any || (target.options & kWnohang)) {
      process_tree_lock().unlock(interrupts);
      if (!any) return error(Errno::echild);
      return Reaped{0, 0, 0};
    }
    WaitResult result = self.child_events.wait_interruptible(process_tree_lock(), kNoDeadline);
    process_tree_lock().unlock(interrupts);
    if (result == WaitResult::interrupted && signal_ends_wait()) return error(Errno::erestartsys);
  }
}

struct Rusage {
  Timeval user;
  Timeval system;
  long fields[14];
};
static_assert(sizeof(Rusage) == 144);

Result<> write_rusage(void* out, uint64_t cpu_ns) {
  if (!out) return {};
  Rusage usage{};
  usage.user = Timeval{static_cast<int64_t>(cpu_ns / 1'000'000'000), static_cast<int64_t>(cpu_ns % 1'000'000'000 / 1000)};
  return user::write(static_cast<Rusage*>(out), usage);
}

uint32_t own_group() {
  SpinlockGuard guard(process_tree_lock());
  return current_process().pgid;
}

}  // namespace

Result<long> sys_wait4(int pid, int* status, int options, void* rusage) {
  if (options & ~(kWnohang | kWuntraced | kWcontinued | kWnothread | kWall | kWclone)) return error(Errno::einval);
  WaitTarget target{WaitTarget::Kind::any, 0, options};
  if (pid > 0) {
    target = {WaitTarget::Kind::pid, static_cast<uint32_t>(pid), options};
  } else if (pid == 0) {
    target = {WaitTarget::Kind::group, own_group(), options};
  } else if (pid < -1) {
    if (pid == std::numeric_limits<int>::min()) return error(Errno::esrch);
    target = {WaitTarget::Kind::group, static_cast<uint32_t>(-pid), options};
  }
  Reaped reaped = TRY(wait_for_child(target));
  if (reaped.pid == 0) return 0;
  // The child is gone already: a bad pointer loses only the report, as on Linux.
  if (status) TRY(user::write(status, reaped.wait_status));
  TRY(write_rusage(rusage, reaped.cpu_time_ns));
  return reaped.pid;
}

Result<long> sys_waitid(int id_type, int id, void* info, int options, void* rusage) {
  if (options & ~(kWnohang | kWuntraced | kWexited | kWcontinued | kWnowait | kWnothread | kWall | kWclone))
    return error(Errno::einval);
  if (!(options & (kWexited | kWuntraced | kWcontinued))) return error(Errno::einval);
  WaitTarget target{WaitTarget::Kind::any, 0, options};
  switch (id_type) {
    case kPAll: break;
    case kPPid:
      if (id <= 0) return error(Errno::einval);
      target = {WaitTarget::Kind::pid, static_cast<uint32_t>(id), options};
      break;
    case kPPgid:
      if (id < 0) return error(Errno::einval);
      target = {WaitTarget::Kind::group, id ? static_cast<uint32_t>(id) : own_group(), options};
      break;
    default: return error(Errno::einval);
  }
  // Without WEXITED ended children are not reported.
  if (!(options & kWexited)) target.ignores_ended = true;
  Reaped reaped = TRY(wait_for_child(target));
  if (info) {
    struct {
      int32_t signo, errno_value, code, pad;
      int32_t pid, uid, status;
      uint8_t rest[100];
    } siginfo{};
    static_assert(sizeof(siginfo) == 128);
    if (reaped.pid) {
      siginfo.signo = kSigchld;
      siginfo.code = reaped.code;
      siginfo.pid = static_cast<int32_t>(reaped.pid);
      siginfo.status = reaped.status;
    }
    TRY(user::copy_to(info, &siginfo, sizeof(siginfo)));
  }
  TRY(write_rusage(rusage, reaped.cpu_time_ns));
  return 0;
}

}  // namespace nimbus::linux
