// Signals: actions, masks, pending sets, and delivery on the application's stack with an
// x86-64 rt_sigframe (arch/x86/kernel/signal.c's layout), so handlers see siginfo and a
// ucontext they can inspect and modify, and rt_sigreturn resumes exactly where they left.
#include "kernel/linux/signals.h"

#include <cstddef>
#include <cstring>
#include <limits>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/fpu.h"
#include "kernel/arch/x86_64/interrupt_frame.h"
#include "kernel/arch/x86_64/local_apic.h"
#include "kernel/lib/console.h"
#include "kernel/linux/credentials.h"
#include "kernel/linux/page_fault.h"
#include "kernel/linux/ptrace.h"
#include "kernel/linux/process.h"
#include "kernel/linux/syscall_frame.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/poll_queue.h"
#include "kernel/sync/spinlock.h"
#include "kernel/time/clock.h"

extern "C" char __kernel_start[], __kernel_end[];
extern "C" [[noreturn]] void resume_full_registers(const void* registers);
extern "C" [[noreturn]] void signal_delivery_entry(void* request);

namespace nimbus::linux {
namespace {

constexpr uint64_t kSigDfl = 0;
constexpr uint64_t kSigIgn = 1;
constexpr uint64_t kSaSiginfo = 4;
constexpr uint64_t kSaOnstack = 0x08000000;
constexpr uint64_t kSaRestorer = 0x04000000;
constexpr uint64_t kSaNodefer = 0x40000000;
constexpr uint64_t kSaResethand = 0x80000000;
constexpr int kSsOnstack = 1;
constexpr int kSsDisable = 2;
constexpr int kSsAutodisarm = 1 << 31;
constexpr uint64_t kUcFpXstate = 1;
constexpr uint64_t kUcSigcontextSs = 2;
constexpr uint32_t kFpXstateMagic1 = 0x46505853;
constexpr uint32_t kFpXstateMagic2 = 0x46505845;
constexpr uint64_t kRedZone = 128;

// struct _fpx_sw_bytes (uapi/asm/sigcontext.h): in the FXSAVE area's software-reserved bytes,
// it says that an XSAVE area of xstate_size bytes follows, ended by FP_XSTATE_MAGIC2.
struct FpxSwBytes {
  uint32_t magic1;
  uint32_t extended_size;  // xstate_size + the 4 bytes of FP_XSTATE_MAGIC2
  uint64_t xfeatures;
  uint32_t xstate_size;
  uint32_t padding[7];
};
static_assert(sizeof(FpxSwBytes) == 48);
constexpr uint64_t kFxsaveSwBytesOffset = 464;
constexpr uint64_t kFxsaveMxcsrOffset = 24;
constexpr size_t kFxsaveSize = 512;

// The XSAVE header (Intel SDM vol. 1, 13.4.2), after the legacy area.
struct XsaveHeader {
  uint64_t xstate_bv;
  uint64_t xcomp_bv;
  uint64_t reserved[6];
};
static_assert(sizeof(XsaveHeader) == 64);

// Guards the pending signals' details (every process's and every thread's).
Spinlock g_details_lock;
PollQueue g_signal_poll_queue;

ProcessSignals& own_signals() { return current_process().signals; }

constexpr uint64_t bit(int signal) { return 1ull << (signal - 1); }
bool valid(int signal) { return signal >= 1 && signal <= kSignalCount; }
// SIGKILL and SIGSTOP cannot be caught or blocked.
constexpr uint64_t kUnblockable = (1ull << (kSigkill - 1)) | (1ull << (kSigstop - 1));

// Default action: ignore for these, stop for the stop signals, terminate for the rest.
bool ignored_by_default(int signal) {
  return signal == kSigchld || signal == kSigurg || signal == kSigwinch || signal == kSigcont;
}
bool is_stop_signal(int signal) {
  return signal == kSigstop || signal == kSigtstp || signal == kSigttin || signal == kSigttou;
}
constexpr uint64_t kStopSignals = bit(kSigstop) | bit(kSigtstp) | bit(kSigttin) | bit(kSigttou);
// si_code of SIGCHLD for a stop and a continue; the parent's SA_NOCLDSTOP silences both.
constexpr int kCldStopped = 5;
constexpr int kCldContinued = 6;
constexpr uint64_t kSaNocldstop = 1;

struct SigInfo {
  int32_t signo;
  int32_t errno_value;
  int32_t code;
  int32_t pad;
  union {
    uint64_t address;  // SIGSEGV, SIGBUS, SIGILL, SIGFPE
    struct {
      int32_t pid_or_timer;  // si_pid, si_timerid
      int32_t uid_or_overrun;  // si_uid, si_overrun
      uint64_t value;  // si_value
    } sender;
    uint8_t bytes[112];
  };
};
static_assert(sizeof(SigInfo) == 128);

struct StackT {
  uint64_t sp;
  int32_t flags;
  int32_t pad;
  uint64_t size;
};

// struct sigcontext (uapi/asm/sigcontext.h, x86-64).
struct SigContext {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2;
  uint64_t fpstate;
  uint64_t reserved[8];
};
static_assert(sizeof(SigContext) == 256);

struct UContext {
  uint64_t flags;
  uint64_t link;
  StackT stack;
  SigContext mcontext;
  uint64_t sigmask;
};

struct RtSigframe {
  uint64_t return_address;  // sa_restorer
  UContext uc;
  SigInfo info;
};

// All registers of the interrupted application context.
struct Registers {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t rip, rflags, rsp;
};

bool on_alternate_stack(const LinuxThread& t, uint64_t sp) {
  // With SS_AUTODISARM the stack is disarmed while a handler runs on it, so code is on it only
  // if it set the flag from there (Linux's on_sig_stack).
  if (t.alternate_stack_flags & kSsAutodisarm) return false;
  return !t.alternate_stack_disabled && sp > t.alternate_stack && sp <= t.alternate_stack + t.alternate_stack_size;
}

// sigaltstack's setting (Linux's do_sigaltstack): EPERM while running on the current stack,
// EINVAL for an unknown mode (0, SS_ONSTACK and SS_DISABLE, with SS_AUTODISARM), ENOMEM below
// MINSIGSTKSZ.
Result<> set_alternate_stack(LinuxThread& self, const StackT& wanted, uint64_t sp) {
  if (on_alternate_stack(self, sp)) return error(Errno::eperm);
  int32_t mode = wanted.flags & ~kSsAutodisarm;
  if (mode != 0 && mode != kSsOnstack && mode != kSsDisable) return error(Errno::einval);
  if (mode == kSsDisable) {
    self.alternate_stack_disabled = true;
    self.alternate_stack = 0;
    self.alternate_stack_size = 0;
  } else {
    if (wanted.size < 2048) return error(Errno::enomem);  // MINSIGSTKSZ
    self.alternate_stack_disabled = false;
    self.alternate_stack = wanted.sp;
    self.alternate_stack_size = wanted.size;
  }
  self.alternate_stack_flags = wanted.flags;
  return {};
}

// Builds the frame for `signal` on the application's stack and points `regs` at the
// handler. False if the stack cannot take it (the caller then kills the process).
bool setup_frame(Registers& regs, int signal, const SigInfo& info, const KernelSigaction& action, uint64_t trapno,
                 uint64_t error_code, uint64_t cr2) {
  LinuxThread& self = current_linux_thread();
  uint64_t sp = regs.rsp - kRedZone;
  bool nested = on_alternate_stack(self, regs.rsp);
  bool entering = false;
  if ((action.flags & kSaOnstack) && !self.alternate_stack_disabled && !nested) {
    sp = self.alternate_stack + self.alternate_stack_size;
    entering = true;
  }
  size_t fp_size = fpu::state_size();
  sp = (sp - fp_size - 64) & ~uint64_t{63};
  uint64_t fpstate = sp;
  sp -= sizeof(RtSigframe);
  sp = ((sp + 8) & ~uint64_t{15}) - 8;  // as if `call`ed: (sp + 8) % 16 == 0
  // A frame that would overflow the alternate stack it is on is not built below it: as
  // Linux's get_sigframe, the signal is then fatal (SIGSEGV), however deep handlers nest.
  if ((nested || entering) &&
      !(sp > self.alternate_stack && sp - self.alternate_stack <= self.alternate_stack_size))
    return false;
  if (!user::writable(UserPtr<void>::from_address(sp), fpstate + fp_size - sp)) return false;

  // The application's extended state is still live in the registers: the kernel never
  // touches them. XSAVE leaves parts of the header alone: they must be zero. Every write
  // goes through the checked accesses: another thread may unmap this stack meanwhile.
  if (!user::clear(UserPtr<void>::from_address(fpstate), fp_size)) return false;
  if (!fpu::save_checked(reinterpret_cast<void*>(fpstate))) return false;
  FpxSwBytes sw{kFpXstateMagic1, static_cast<uint32_t>(fp_size + 4), fpu::enabled_components(),
                static_cast<uint32_t>(fp_size), {}};
  if (!user::write(UserPtr<FpxSwBytes>::from_address(fpstate + kFxsaveSwBytesOffset), sw)) return false;
  if (!user::write(UserPtr<uint32_t>::from_address(fpstate + fp_size), kFpXstateMagic2)) return false;

  RtSigframe frame{};
  frame.return_address = action.restorer;
  frame.uc.flags = kUcFpXstate | kUcSigcontextSs;
  // The setting as sigaltstack made it, which sigreturn restores; SS_AUTODISARM disarms the
  // stack while the handler runs (Linux's __save_altstack).
  frame.uc.stack = StackT{self.alternate_stack, self.alternate_stack_flags, 0, self.alternate_stack_size};
  SigContext& c = frame.uc.mcontext;
  c.r8 = regs.r8; c.r9 = regs.r9; c.r10 = regs.r10; c.r11 = regs.r11;
  c.r12 = regs.r12; c.r13 = regs.r13; c.r14 = regs.r14; c.r15 = regs.r15;
  c.rdi = regs.rdi; c.rsi = regs.rsi; c.rbp = regs.rbp; c.rbx = regs.rbx;
  c.rdx = regs.rdx; c.rax = regs.rax; c.rcx = regs.rcx; c.rsp = regs.rsp;
  c.rip = regs.rip; c.eflags = regs.rflags;
  c.cs = 0x33;  // what Linux programs expect to see for user code
  c.ss = 0x2b;
  c.err = error_code;
  c.trapno = trapno;
  // After ppoll or sigsuspend, the handler's sigreturn restores the mask from before the call.
  uint64_t restored_mask = self.has_saved_signal_mask ? self.saved_signal_mask : self.signal_mask;
  self.has_saved_signal_mask = false;
  c.oldmask = restored_mask;
  c.cr2 = cr2;
  c.fpstate = fpstate;
  frame.uc.sigmask = restored_mask;
  frame.info = info;
  if (!user::write(UserPtr<RtSigframe>::from_address(sp), frame)) return false;
  if (self.alternate_stack_flags & kSsAutodisarm) {
    self.alternate_stack_disabled = true;
    self.alternate_stack = 0;
    self.alternate_stack_size = 0;
    self.alternate_stack_flags = kSsDisable;
  }

  self.signal_mask |= action.mask | ((action.flags & kSaNodefer) ? 0 : bit(signal));
  self.signal_mask &= ~kUnblockable;
  regs.rsp = sp;
  regs.rip = action.handler;
  regs.rdi = static_cast<uint64_t>(signal);
  regs.rsi = sp + offsetof(RtSigframe, info);
  regs.rdx = sp + offsetof(RtSigframe, uc);
  regs.rax = 0;
  regs.rflags &= ~((1ull << 10) | (1ull << 8));  // DF and TF clear in the handler
  return true;
}

// Takes the action for `signal`: false = deliver nothing (ignored); true with a handler.
bool take_action(int signal, KernelSigaction& action) {
  ProcessSignals& signals = own_signals();
  SpinlockGuard guard(signals.actions_lock);
  action = signals.actions[signal];
  if (action.handler > kSigIgn && (action.flags & kSaResethand)) signals.actions[signal].handler = kSigDfl;
  return true;
}

constexpr uint64_t kSaRestart = 0x10000000;
constexpr int64_t kNoSyscall = -1;

bool is_restart_request(uint64_t rax) {
  auto result = static_cast<int64_t>(rax);
  return result == -static_cast<int64_t>(Errno::erestartsys) ||
         result == -static_cast<int64_t>(Errno::erestartnointr) ||
         result == -static_cast<int64_t>(Errno::erestartnohand);
}

// Makes the interrupted syscall run again when the application resumes at `regs`.
void restart_syscall(Registers& regs, int64_t number) {
  regs.rax = static_cast<uint64_t>(number);
  regs.rip -= 2;  // back onto the two-byte `syscall` instruction
}

// A handler is about to run after a syscall that a signal interrupted: restart the call
// after the handler, or make it fail with EINTR (kernel/signal.c's handle_signal rules).
void settle_interrupted_syscall(Registers& regs, const KernelSigaction& action, int64_t number) {
  if (number == kNoSyscall || !is_restart_request(regs.rax)) return;
  auto request = static_cast<Errno>(-static_cast<int64_t>(regs.rax));
  if (request == Errno::erestartnointr || (request == Errno::erestartsys && (action.flags & kSaRestart)))
    restart_syscall(regs, number);
  else
    regs.rax = static_cast<uint64_t>(-static_cast<int64_t>(Errno::eintr));
}

bool is_ignored(const KernelSigaction& action, int signal) {
  return action.handler == kSigIgn || (action.handler == kSigDfl && ignored_by_default(signal));
}

void stop_current_process(int signal);
void obey_job_control(LinuxThread& self);

// Delivers one signal to the current thread at `regs`: true once a handler's frame is set
// up, false if the signal was ignored or stopped the process. Ends the process for fatal
// defaults.
bool deliver(Registers& regs, int signal, const SigInfo& info, uint64_t trapno, uint64_t error_code, uint64_t cr2,
             bool synchronous, int64_t syscall_number = kNoSyscall) {
  KernelSigaction action;
  take_action(signal, action);
  if (action.handler == kSigIgn && !synchronous) return false;
  if (action.handler == kSigDfl || action.handler == kSigIgn) {
    if (ignored_by_default(signal) && !synchronous) return false;
    if (is_stop_signal(signal) && !synchronous) {
      stop_current_process(signal);
      return false;
    }
    die_by_signal(signal);
  }
  settle_interrupted_syscall(regs, action, syscall_number);
  if (!(action.flags & kSaRestorer) || !setup_frame(regs, signal, info, action, trapno, error_code, cr2)) {
    // No way back from the handler, or no stack for the frame: as Linux, a forced SIGSEGV.
    die_by_signal(kSigsegv);
  }
  return true;
}

// Takes one signal of `set` pending for `self` (its own first, then the process's) and its
// details; 0 if there is none.
int take_from(LinuxThread& self, uint64_t set, SigInfo& info) {
  for (;;) {
    ProcessSignals& signals = self.process->signals;
    uint64_t candidates = (self.pending.load() | signals.pending.load()) & set;
    if (!candidates) return 0;
    int signal = __builtin_ctzll(candidates) + 1;
    SignalDetails details;
    bool taken = false;
    {
      SpinlockGuard guard(g_details_lock);
      if (self.pending.fetch_and(~bit(signal)) & bit(signal)) {
        details = self.pending_details[signal - 1];
        taken = true;
      } else if (signals.pending.fetch_and(~bit(signal)) & bit(signal)) {
        details = signals.details[signal - 1];
        taken = true;
      }
    }
    if (!taken) continue;  // taken by another thread meanwhile: look again
    info = SigInfo{};
    info.signo = signal;
    info.code = details.code;
    info.sender.pid_or_timer = details.pid_or_timer;
    info.sender.uid_or_overrun = details.uid_or_overrun;
    info.sender.value = details.value;
    return signal;
  }
}

// A thread of a stopped process has to come out of its waits too, to stop.
bool deliverable(const LinuxThread& t) {
  return ((t.pending.load() | t.process->signals.pending.load()) & ~t.signal_mask) ||
         t.process->stopped.load(std::memory_order_relaxed);
}

// Interruptible waits of `t` end while it has a signal to deliver, and only then. Cleared
// before the check, so a signal sent meanwhile sets it again.
void refresh_interrupt_request(LinuxThread& t) {
  t.thread->interrupt_requested.store(false, std::memory_order_seq_cst);
  if (deliverable(t)) t.thread->interrupt_requested.store(true, std::memory_order_seq_cst);
}

void deliver_pending(Registers& regs, int64_t syscall_number = kNoSyscall) {
  LinuxThread* self = current_thread()->linux_thread;
  if (!self) return;
  // Ignored signals and stops are passed over; one handler's frame at a time (the next is
  // delivered when this handler returns).
  for (;;) {
    obey_job_control(*self);
    SigInfo info;
    int signal = take_from(*self, ~self->signal_mask, info);
    if (!signal) return;
    // A traced process stops for its tracer first, which may change or discard the signal.
    if (signal != kSigkill && self->process->tracer.load(std::memory_order_relaxed)) {
      int given = stop_for_tracer(*self, signal);
      if (!given) continue;
      if (given != signal) {
        info = SigInfo{};
        info.signo = given;
        info.code = kSiUser;
        signal = given;
      }
    }
    if (deliver(regs, signal, info, 0, 0, 0, false, syscall_number)) return;
  }
}

Registers from_interrupt(const InterruptFrame& f) {
  return Registers{f.r15, f.r14, f.r13, f.r12, f.r11, f.r10, f.r9, f.r8, f.rbp, f.rdi, f.rsi, f.rdx,
                   f.rcx, f.rbx, f.rax, f.rip, f.rflags, f.rsp};
}
Registers from_syscall(const SyscallFrame& f) {
  // After a syscall %rcx and %r11 hold the return address and flags, as on Linux.
  return Registers{f.r15, f.r14, f.r13, f.r12, f.rflags, f.r10, f.r9, f.r8, f.rbp, f.rdi, f.rsi, f.rdx,
                   f.rip, f.rbx, f.rax, f.rip, f.rflags, f.rsp};
}
void to_syscall(const Registers& r, SyscallFrame& f) {
  f.r15 = r.r15; f.r14 = r.r14; f.r13 = r.r13; f.r12 = r.r12; f.r10 = r.r10; f.r9 = r.r9; f.r8 = r.r8;
  f.rbp = r.rbp; f.rdi = r.rdi; f.rsi = r.rsi; f.rdx = r.rdx; f.rbx = r.rbx; f.rax = r.rax;
  f.rip = r.rip; f.rflags = r.rflags; f.rsp = r.rsp;
}

// Makes `thread` act on `signal` soon, unless it blocks it: running application code, an
// IPI makes it pass through an interrupt exit, where the signal is delivered; waiting in an
// interruptible syscall, it wakes and the syscall ends (EINTR) or restarts.
void kick_thread(LinuxThread& thread) {
  Thread* t = thread.thread;
  if (!t) return;
  t->interrupt();
  if (t->state == ThreadState::running && t->cpu && t->cpu != &this_cpu())
    apic::send_ipi(t->cpu->apic_id, apic::vector::kReschedule);
}

void kick(LinuxThread& thread, int signal) {
  if (thread.signal_mask & bit(signal)) return;
  kick_thread(thread);
}

// --- job control ---

void notify_parent_locked(Process& process, int code, int status) {
  if (process.parent) notify_stop_locked(*process.parent, process, code, status);
}

// A stop signal's default action: the process stops (each thread at its next return to the
// program), and its parent learns of it. SIGTSTP, SIGTTIN and SIGTTOU are discarded in an
// orphaned process group, as on Linux; PID 1 is never stopped (Linux's init ignores
// signals it has no handler for, and a stopped PID 1 would hang the VM).
void stop_current_process(int signal) {
  Process& process = current_process();
  if (process.pid == kInitPid) return;
  SpinlockGuard tree(process_tree_lock());
  if (process.exiting.load()) return;
  if (signal != kSigstop && group_is_orphaned_locked(process.pgid)) return;
  {
    SpinlockGuard guard(process.stop_lock);
    if (process.stopped.load()) return;
    process.stopped.store(true);
  }
  process.stop_signal = signal;
  process.stop_unreported = true;
  process.continue_unreported = false;
  notify_parent_locked(process, kCldStopped, signal);
  with_threads(process, [](LinuxThread& t, void*) { kick_thread(t); }, nullptr);
}

// At every return to the program: a thread of a stopped process sleeps until SIGCONT or
// SIGKILL; SIGKILL ends it at once; the first thread a SIGCONT woke tells the parent.
void obey_job_control(LinuxThread& self) {
  Process& process = *self.process;
  if (process.stopped.load()) {
    bool interrupts = process.stop_lock.lock();
    while (process.stopped.load() && !kill_pending(self)) process.stop_wait.wait(process.stop_lock);
    process.stop_lock.unlock(interrupts);
  }
  if (kill_pending(self)) die_by_signal(kSigkill);
  if (process.continue_to_announce.load() && process.continue_to_announce.exchange(false)) {
    SpinlockGuard tree(process_tree_lock());
    process.stop_unreported = false;
    process.continue_unreported = true;
    notify_parent_locked(process, kCldContinued, kSigcont);
  }
}

void wake_stopped_threads(Process& process) {
  SpinlockGuard guard(process.stop_lock);
  process.stop_wait.wake_all();
}

void discard_pending(Process& process, uint64_t signals) {
  process.signals.pending.fetch_and(~signals);
  with_threads(
      process, [](LinuxThread& t, void* set) { t.pending.fetch_and(~*static_cast<uint64_t*>(set)); }, &signals);
}

// What sending does before the signal is queued (Linux's prepare_signal): SIGCONT discards
// pending stop signals and continues a stopped process, whatever its action for SIGCONT;
// a stop signal discards a pending SIGCONT.
void prepare_signal(Process& process, int signal) {
  if (signal == kSigcont) {
    discard_pending(process, kStopSignals);
    SpinlockGuard guard(process.stop_lock);
    if (process.stopped.load()) {
      process.stopped.store(false);
      process.continue_to_announce.store(true);
      process.stop_wait.wake_all();
    }
  } else if (is_stop_signal(signal)) {
    discard_pending(process, bit(kSigcont));
  }
}

// A synchronous fault to deliver (nullptr: deliver whatever is pending).
struct Fault {
  int signal;
  int code;
  uint64_t address;
  uint64_t trapno;
  uint64_t error_code;
};

// What the delivery trampoline finds on the thread's kernel stack.
struct DeliveryRequest {
  Registers registers;
  Fault fault;
  bool has_fault;
};

// Building a signal frame writes to the application's stack, which may fault (a page not yet
// touched, or a bad stack). That cannot happen in interrupt or exception context (interrupts
// off, IST stacks that a nested fault would reuse), so the interrupt returns into
// signal_delivery_entry instead, on the thread's own kernel stack with interrupts on, and
// that builds the frame and resumes the application.
void redirect_to_delivery(InterruptFrame& frame, const Fault* fault) {
  uintptr_t top = current_thread()->stacks.main_top;
  auto* request = reinterpret_cast<DeliveryRequest*>((top - sizeof(DeliveryRequest)) & ~uintptr_t{15});
  request->registers = from_interrupt(frame);
  request->has_fault = fault != nullptr;
  if (fault) request->fault = *fault;
  frame.rip = reinterpret_cast<uint64_t>(signal_delivery_entry);
  frame.rsp = reinterpret_cast<uint64_t>(request) - 8;  // as after a call: (rsp + 8) % 16 == 0
  frame.rdi = reinterpret_cast<uint64_t>(request);
  frame.rflags |= x86::kFlagInterrupts;
}

struct Sending {
  int signal;
  const SignalDetails* details;
  bool blocked;  // by some thread (for process-directed signals)
};

void mark_pending(LinuxThread& thread, void* context) {
  auto* sending = static_cast<Sending*>(context);
  {
    SpinlockGuard guard(g_details_lock);
    thread.pending_details[sending->signal - 1] = *sending->details;
    thread.pending.fetch_or(bit(sending->signal));
  }
  kick(thread, sending->signal);
}

void note_blocked(LinuxThread& thread, void* context) {
  auto* sending = static_cast<Sending*>(context);
  if (thread.signal_mask & bit(sending->signal)) sending->blocked = true;
}

void kick_for_process_signal(LinuxThread& thread, void* context) {
  kick(thread, static_cast<Sending*>(context)->signal);
}

bool ignored_now(Process& process, int signal) {
  SpinlockGuard guard(process.signals.actions_lock);
  return is_ignored(process.signals.actions[signal], signal);
}

void mark_killed(LinuxThread& thread, void* context) {
  if (&thread == static_cast<LinuxThread*>(context)) return;
  thread.pending.fetch_or(bit(kSigkill));
  kick(thread, kSigkill);
  wake_stopped_threads(*thread.process);  // a stopped thread must wake to end
}

}  // namespace

bool kill_pending(const LinuxThread& t) {
  return (t.pending.load() | t.process->signals.pending.load()) & bit(kSigkill);
}

void notify_stop_locked(Process& to, Process& about, int code, int status) {
  to.child_events.wake_all();
  uint64_t handler, flags;
  {
    SpinlockGuard guard(to.signals.actions_lock);
    handler = to.signals.actions[kSigchld].handler;
    flags = to.signals.actions[kSigchld].flags;
  }
  if (handler == kSigIgn || (flags & kSaNocldstop)) return;
  SignalDetails details;
  details.code = code;
  details.pid_or_timer = static_cast<int32_t>(about.pid);
  details.value = static_cast<uint64_t>(status);
  (void)send_process_signal(to, kSigchld, details);
}

bool is_kernel_code(uint64_t rip) {
  return rip >= reinterpret_cast<uint64_t>(__kernel_start) && rip < reinterpret_cast<uint64_t>(__kernel_end);
}

void die_by_signal(int signal) {
  if (current_process().pid == 1) log("nimbus: program killed by signal %d\n", signal);
  exit_process(killed_status(signal));
}

void raise_fault_signal(InterruptFrame& frame, int signal, int code, uint64_t address) {
  LinuxThread* self = current_thread()->linux_thread;
  // A fault while the signal is blocked, or without a handler, is fatal.
  if (!self || (self->signal_mask & bit(signal))) die_by_signal(signal);
  Fault fault{signal, code, address, frame.vector, frame.error_code};
  redirect_to_delivery(frame, &fault);
}

Result<> send_signal(uint32_t tid, int signal, int code) {
  SignalDetails details;
  details.code = code;
  if ((code == kSiUser || code == kSiTkill) && current_thread()->linux_thread)
    details.pid_or_timer = static_cast<int32_t>(current_process().pid);
  return send_signal(tid, signal, details);
}

Result<> send_process_signal(Process& process, int signal, const SignalDetails& details) {
  if (signal == 0) return {};
  if (!valid(signal)) return error(Errno::einval);
  if (signal == kSigkill && current_thread()->linux_thread && &current_process() == &process)
    die_by_signal(kSigkill);
  prepare_signal(process, signal);
  Sending sending{signal, &details, false};
  with_threads(process, note_blocked, &sending);
  if (!sending.blocked && ignored_now(process, signal)) return {};
  {
    SpinlockGuard guard(g_details_lock);
    process.signals.details[signal - 1] = details;
    process.signals.pending.fetch_or(bit(signal));
  }
  with_threads(process, kick_for_process_signal, &sending);  // whichever thread gets there first takes it
  if (signal == kSigkill) wake_stopped_threads(process);
  g_signal_poll_queue.notify(0);
  return {};
}

void reset_caught_signal_actions(Process& process) {
  SpinlockGuard guard(process.signals.actions_lock);
  for (auto& action : process.signals.actions) {
    if (action.handler != kSigIgn) action = KernelSigaction{kSigDfl, 0, 0, 0};
  }
}

void kill_other_threads(Process& process) {
  LinuxThread* self = current_thread()->linux_thread;
  with_threads(process, mark_killed, self);
}

Result<> send_signal_to_pid(uint32_t pid, int signal, const SignalDetails& details) {
  SpinlockGuard guard(process_tree_lock());
  Process* process = find_process_locked(pid);
  if (!process) return error(Errno::esrch);
  return send_process_signal(*process, signal, details);
}

Result<> send_signal(uint32_t tid, int signal, const SignalDetails& details) {
  if (tid == 0) return send_process_signal(current_process(), signal, details);
  if (signal == 0) {
    if (!with_thread(tid, [](LinuxThread&, void*) {}, nullptr)) return error(Errno::esrch);
    return {};
  }
  if (!valid(signal)) return error(Errno::einval);
  struct Lookup {
    Sending sending;
    Process* target;
  } lookup{{signal, &details, false}, nullptr};
  with_thread(
      tid,
      [](LinuxThread& t, void* context) {
        auto* found = static_cast<Lookup*>(context);
        note_blocked(t, &found->sending);
        found->target = t.process;
      },
      &lookup);
  Process* target = lookup.target;
  Sending& sending = lookup.sending;
  if (!target) return error(Errno::esrch);
  if (signal == kSigkill && current_thread()->linux_thread && target == &current_process()) die_by_signal(kSigkill);
  prepare_signal(*target, signal);
  if (!sending.blocked && ignored_now(*target, signal)) return {};
  if (!with_thread(tid, mark_pending, &sending)) return error(Errno::esrch);
  if (signal == kSigkill) wake_stopped_threads(*target);
  g_signal_poll_queue.notify(0);
  return {};
}

namespace {

// The syscall-exit work when there is some: kept out of line so that the common case in
// deliver_pending_signals() below costs a few loads and no stack frame.
[[gnu::noinline]] void finish_syscall_with_signals(LinuxThread& self, SyscallFrame& frame, uint64_t number) {
  Registers regs = from_syscall(frame);
  deliver_pending(regs, static_cast<int64_t>(number));
  // No handler ran: a syscall that a signal interrupted starts again (the signal went to
  // another thread, or was ignored), and a temporary mask ends.
  if (is_restart_request(regs.rax)) restart_syscall(regs, static_cast<int64_t>(number));
  if (self.has_saved_signal_mask) {
    self.signal_mask = self.saved_signal_mask;
    self.has_saved_signal_mask = false;
  }
  to_syscall(regs, frame);
  refresh_interrupt_request(self);
}

}  // namespace

void deliver_pending_signals(SyscallFrame& frame, uint64_t number) {
  LinuxThread* self = current_thread()->linux_thread;
  if (!self) return;
  // The common case: nothing to deliver, restart or restore, and no interrupt request left.
  if (deliverable(*self) || is_restart_request(frame.rax) || self->has_saved_signal_mask ||
      self->thread->interrupt_requested.load(std::memory_order_relaxed))
    finish_syscall_with_signals(*self, frame, number);
}

int take_signal(uint64_t set, void* siginfo) {
  SigInfo info;
  int signal = take_from(current_linux_thread(), set, info);
  if (signal && siginfo) memcpy(siginfo, &info, sizeof(info));
  return signal;
}

uint64_t pending_signals() { return current_linux_thread().pending.load() | own_signals().pending.load(); }

PollQueue& signal_poll_queue() { return g_signal_poll_queue; }

bool signal_ends_wait() {
  LinuxThread& self = current_linux_thread();
  refresh_interrupt_request(self);
  return deliverable(self);
}

void use_temporary_signal_mask(uint64_t mask) {
  LinuxThread& self = current_linux_thread();
  if (!self.has_saved_signal_mask) self.saved_signal_mask = self.signal_mask;
  self.has_saved_signal_mask = true;
  self.signal_mask = mask & ~kUnblockable;
  refresh_interrupt_request(self);
}

Result<> use_temporary_signal_mask(UserPtr<const uint64_t> user_mask, size_t size) {
  if (size != 8) return error(Errno::einval);
  use_temporary_signal_mask(TRY(user::read(user_mask)));
  return {};
}

size_t minimum_signal_stack_size() {
  // What setup_frame() takes from an alternate stack's top: the XSAVE area with its trailing
  // magic and 64-byte alignment, the frame, and the call alignment.
  return fpu::state_size() + 64 + sizeof(RtSigframe) + 16;
}

void deliver_pending_signals(InterruptFrame& frame) {
  if (is_kernel_code(frame.rip) || !(frame.rflags & x86::kFlagInterrupts)) return;
  LinuxThread* self = current_thread()->linux_thread;
  if (!self || !deliverable(*self)) return;
  redirect_to_delivery(frame, nullptr);
}

bool handle_application_exception(InterruptFrame& frame) {
  if (!has_process()) return false;
  // XRSTOR of a program's signal frame refuses a bad header with #GP: EFAULT by its fix-up.
  if (is_kernel_code(frame.rip)) return frame.vector == 13 && fix_up_kernel_fault(frame, false);
  // raise_fault_signal only redirects the frame; the signal frame is built after the
  // exception returns (signal_delivery_entry), so nothing here touches application memory.
  switch (frame.vector) {
    case 0: raise_fault_signal(frame, kSigfpe, 1 /* FPE_INTDIV */, frame.rip); return true;
    case 1:
    case 3: raise_fault_signal(frame, kSigtrap, kSiKernel, 0); return true;
    case 6: raise_fault_signal(frame, kSigill, 2 /* ILL_ILLOPN */, frame.rip); return true;
    case 13: raise_fault_signal(frame, kSigsegv, kSiKernel, 0); return true;
    case 16:
    case 19: raise_fault_signal(frame, kSigfpe, 0, frame.rip); return true;
    case 17: raise_fault_signal(frame, kSigbus, 1 /* BUS_ADRALN */, 0); return true;
    default: return false;
  }
}

// --- system calls ---

Result<long> sys_rt_sigaction(int signal, UserPtr<const void> new_action, UserPtr<void> old_action, size_t size) {
  if (size != 8 || !valid(signal)) return error(Errno::einval);
  KernelSigaction wanted{};
  if (new_action) {
    if (signal == kSigkill || signal == kSigstop) return error(Errno::einval);
    wanted = TRY(user::read(new_action.cast<const KernelSigaction>()));
    wanted.mask &= ~kUnblockable;
  }
  KernelSigaction previous;
  {
    ProcessSignals& signals = own_signals();
    SpinlockGuard guard(signals.actions_lock);
    previous = signals.actions[signal];
    if (new_action) signals.actions[signal] = wanted;
  }
  if (old_action) TRY(user::write(old_action.cast<KernelSigaction>(), previous));
  return 0;
}

Result<long> sys_rt_sigprocmask(int how, UserPtr<const uint64_t> set, UserPtr<uint64_t> old_set, size_t size) {
  if (size != 8) return error(Errno::einval);
  LinuxThread& self = current_linux_thread();
  uint64_t previous = self.signal_mask;
  if (set) {
    uint64_t value = TRY(user::read(set));
    switch (how) {
      case 0: self.signal_mask |= value; break;   // SIG_BLOCK
      case 1: self.signal_mask &= ~value; break;  // SIG_UNBLOCK
      case 2: self.signal_mask = value; break;    // SIG_SETMASK
      default: return error(Errno::einval);
    }
    self.signal_mask &= ~kUnblockable;
  }
  if (old_set) TRY(user::write(old_set, previous));
  return 0;
}

Result<long> sys_rt_sigpending(UserPtr<uint64_t> set, size_t size) {
  if (size != 8) return error(Errno::einval);
  LinuxThread& self = current_linux_thread();
  TRY(user::write(set, uint64_t{(self.pending.load() | own_signals().pending.load()) & self.signal_mask}));
  return 0;
}

Result<long> sys_sigaltstack(UserPtr<const void> new_stack, UserPtr<void> old_stack) {
  LinuxThread& self = current_linux_thread();
  uint64_t sp = current_syscall_frame()->rsp;
  int32_t state = self.alternate_stack_size == 0 ? kSsDisable : on_alternate_stack(self, sp) ? kSsOnstack : 0;
  StackT previous{self.alternate_stack, state | (self.alternate_stack_flags & kSsAutodisarm), 0,
                  self.alternate_stack_size};
  if (new_stack) TRY(set_alternate_stack(self, TRY(user::read(new_stack.cast<const StackT>())), sp));
  if (old_stack) TRY(user::write(old_stack.cast<StackT>(), previous));
  return 0;
}

namespace {

// Restores the extended state saved at `fpstate` in a signal frame the program may have
// changed (arch/x86/kernel/fpu/signal.c's rules). A complete XSAVE area, announced by the
// software bytes and ended by the second magic, is loaded whole once its header is valid:
// only enabled components, the standard (not compacted) format, zero reserved bytes. Any
// other area counts as FXSAVE only, and the remaining components start afresh. False for a
// frame that faults or that the CPU would refuse (reserved MXCSR bits); XRSTOR's own #GP is
// caught by its exception-table entry too.
bool restore_extended_state(uint64_t fpstate) {
  if (fpstate & 63) return false;
  size_t size = fpu::state_size();
  // Reserved MXCSR bits make XRSTOR fault (#GP) on hardware; refused here too, so every CPU
  // (and emulator) answers alike.
  Result<uint32_t> mxcsr = user::read(UserPtr<const uint32_t>::from_address(fpstate + kFxsaveMxcsrOffset));
  if (!mxcsr || (*mxcsr & ~fpu::mxcsr_mask())) return false;
  if (fpu::uses_xsave()) {
    Result<FpxSwBytes> sw = user::read(UserPtr<const FpxSwBytes>::from_address(fpstate + kFxsaveSwBytesOffset));
    if (!sw) return false;
    bool complete = sw->magic1 == kFpXstateMagic1 && sw->xstate_size >= kFxsaveSize + sizeof(XsaveHeader) &&
                    sw->xstate_size <= size && sw->extended_size == sw->xstate_size + 4;
    if (complete) {
      Result<uint32_t> magic2 = user::read(UserPtr<const uint32_t>::from_address(fpstate + sw->xstate_size));
      complete = magic2 && *magic2 == kFpXstateMagic2;
    }
    if (complete) {
      if (!user::readable(UserPtr<const void>::from_address(fpstate), size)) return false;
      Result<XsaveHeader> header = user::read(UserPtr<const XsaveHeader>::from_address(fpstate + kFxsaveSize));
      if (!header || (header->xstate_bv & ~fpu::enabled_components()) || header->xcomp_bv) return false;
      for (uint64_t word : header->reserved) {
        if (word) return false;
      }
      return fpu::restore_checked(reinterpret_cast<const void*>(fpstate));
    }
  }
  // The legacy area alone, through a kernel copy whose header selects x87 and SSE only.
  alignas(64) uint8_t area[kFxsaveSize + sizeof(XsaveHeader)] = {};
  if (!user::copy_from(area, UserPtr<const void>::from_address(fpstate), kFxsaveSize)) return false;
  reinterpret_cast<XsaveHeader*>(area + kFxsaveSize)->xstate_bv = 0b11;
  return fpu::restore_checked(area);
}

}  // namespace

Result<long> sys_rt_sigreturn() {
  SyscallFrame* frame = current_syscall_frame();
  // The handler returned into sa_restorer, which popped the return address: rsp is at uc.
  // A frame that cannot be read or restored is the program's SIGSEGV, as on Linux.
  Result<UContext> read_uc = user::read(UserPtr<const UContext>::from_address(frame->rsp));
  if (!read_uc) die_by_signal(kSigsegv);
  const UContext& uc = *read_uc;
  const SigContext& c = uc.mcontext;
  if (c.fpstate && !restore_extended_state(c.fpstate)) die_by_signal(kSigsegv);
  LinuxThread& self = current_linux_thread();
  self.signal_mask = uc.sigmask & ~kUnblockable;
  refresh_interrupt_request(self);  // the restored mask may unblock a pending signal
  // The handler's frame holds the alternate stack's setting (re-arming an SS_AUTODISARM one);
  // Linux ignores a setting it refuses here.
  (void)set_alternate_stack(self, uc.stack, frame->rsp);
  // Flags the program may change: the arithmetic ones, DF, TF, AC; interrupts stay on.
  constexpr uint64_t kUserFlags = 0xcd5 | (1ull << 10) | (1ull << 8) | (1ull << 18);
  Registers regs{c.r15, c.r14, c.r13, c.r12, c.r11, c.r10, c.r9, c.r8, c.rbp, c.rdi, c.rsi, c.rdx, c.rcx, c.rbx,
                 c.rax, c.rip, (frame->rflags & ~kUserFlags) | (c.eflags & kUserFlags) | x86::kFlagInterrupts, c.rsp};
  if (regs.rip >= AddressSpace::kEnd) die_by_signal(kSigsegv);
  // Every register comes back, %rcx and %r11 included: not the syscall return path.
  x86::disable_interrupts();
  resume_full_registers(&regs);
}

Result<long> sys_rt_sigsuspend(UserPtr<const uint64_t> mask, size_t size) {
  TRY(use_temporary_signal_mask(mask, size));
  while (sleep_interruptible(kNoDeadline) != WaitResult::interrupted) {
  }
  return error(Errno::erestartnohand);
}

Result<long> sys_pause() {
  while (sleep_interruptible(kNoDeadline) != WaitResult::interrupted) {
  }
  return error(Errno::erestartnohand);
}

Result<long> sys_rt_sigtimedwait(UserPtr<const uint64_t> set, UserPtr<void> info, const Timespec* timeout, size_t size) {
  if (size != 8) return error(Errno::einval);
  uint64_t wanted = TRY(user::read(set)) & ~kUnblockable;
  if (info && !user::writable(info, sizeof(SigInfo))) return error(Errno::efault);
  uint64_t deadline = kNoDeadline;
  if (timeout) deadline = clock::monotonic_ns() + TRY(read_duration_ns(timeout));
  PollWaiter waiter;
  waiter.watch(g_signal_poll_queue);  // before looking, so no signal slips in unseen
  for (;;) {
    SigInfo taken;
    if (int signal = take_signal(wanted, &taken)) {
      if (info) TRY(user::write(info.cast<SigInfo>(), taken));
      return signal;
    }
    if (clock::monotonic_ns() >= deadline) return error(Errno::eagain);
    if (waiter.wait(deadline) == WaitResult::interrupted && signal_ends_wait()) return error(Errno::eintr);
  }
}

namespace {
// rt_sigqueueinfo: the application chooses the siginfo, but may not pose as the kernel.
Result<SignalDetails> queued_details(UserPtr<const void> user_info) {
  SigInfo info = TRY(user::read(user_info.cast<const SigInfo>()));
  if (info.code >= 0 || info.code == kSiTkill) return error(Errno::eperm);
  SignalDetails details;
  details.code = info.code;
  details.pid_or_timer = info.sender.pid_or_timer;
  details.uid_or_overrun = info.sender.uid_or_overrun;
  details.value = info.sender.value;
  return details;
}
}  // namespace

namespace {

// Sends to the process `pid`: a thread-group id, or the id of any of its threads (Linux's
// kill finds the task by either and signals its whole thread group); ESRCH if there is
// none, EPERM if the caller's credentials do not allow it.
Result<> send_to_pid(int pid, int signal, const SignalDetails& details) {
  if (pid <= 0) return error(Errno::esrch);
  uint32_t owner = static_cast<uint32_t>(pid);
  with_thread(
      owner, [](LinuxThread& t, void* out) { *static_cast<uint32_t*>(out) = t.process->pid; }, &owner);
  // A SIGKILL to oneself ends the process: not under the tree lock.
  if (owner == current_process().pid) return send_process_signal(current_process(), signal, details);
  SpinlockGuard guard(process_tree_lock());
  Process* process = find_process_locked(owner);
  if (!process) return error(Errno::esrch);
  if (!may_send_signal_locked(*process, signal)) return error(Errno::eperm);
  return send_process_signal(*process, signal, details);
}

// kill's permission check for the process of thread `tid` (tgkill, tkill): ESRCH if there is
// no such thread, EPERM if the caller may not signal its process.
Result<> check_permission_for_thread(int tid, int signal) {
  uint32_t pid = 0;
  with_thread(
      static_cast<uint32_t>(tid), [](LinuxThread& t, void* out) { *static_cast<uint32_t*>(out) = t.process->pid; },
      &pid);
  if (!pid) return error(Errno::esrch);
  SpinlockGuard guard(process_tree_lock());
  Process* process = find_process_locked(pid);
  if (!process) return error(Errno::esrch);
  if (!may_send_signal_locked(*process, signal)) return error(Errno::eperm);
  return {};
}

// Whether `tid` is a thread of the process `tgid`.
bool thread_of(int tgid, int tid) {
  struct Check {
    int tgid;
    bool matches;
  } check{tgid, false};
  with_thread(
      static_cast<uint32_t>(tid),
      [](LinuxThread& t, void* context) {
        auto* c = static_cast<Check*>(context);
        c->matches = t.process->pid == static_cast<uint32_t>(c->tgid);
      },
      &check);
  return check.matches;
}

struct GroupKill {
  int pgid;  // 0: every process but init and the caller (kill -1)
  int signal;
  const SignalDetails* details;
  Process* caller;
  bool found;
  bool caller_too;
  bool sent;  // to at least one process
  Result<> outcome;
};

}  // namespace

Result<long> sys_rt_sigqueueinfo(int pid, int signal, UserPtr<const void> info) {
  TRY(send_to_pid(pid, signal, TRY(queued_details(info))));
  return 0;
}

Result<long> sys_rt_tgsigqueueinfo(int tgid, int tid, int signal, UserPtr<const void> info) {
  if (tgid <= 0 || tid <= 0) return error(Errno::einval);
  if (!thread_of(tgid, tid)) return error(Errno::esrch);
  SignalDetails details = TRY(queued_details(info));
  TRY(check_permission_for_thread(tid, signal));
  TRY(send_signal(static_cast<uint32_t>(tid), signal, details));
  return 0;
}

Result<long> sys_kill(int pid, int signal) {
  if (signal < 0 || signal > kSignalCount) return error(Errno::einval);
  SignalDetails details;
  details.code = kSiUser;
  details.pid_or_timer = static_cast<int32_t>(current_process().pid);
  if (pid > 0) {
    TRY(send_to_pid(pid, signal, details));
    return 0;
  }
  if (pid == std::numeric_limits<int>::min()) return error(Errno::esrch);
  // 0: the caller's group; -1: every process but init and the caller; -N: group N.
  GroupKill kill{0, signal, &details, &current_process(), false, false, false, {}};
  if (pid == 0) {
    SpinlockGuard guard(process_tree_lock());
    kill.pgid = static_cast<int>(current_process().pgid);
  } else if (pid < -1) {
    kill.pgid = -pid;
  }
  with_processes(
      [](Process& p, void* context) {
        auto* k = static_cast<GroupKill*>(context);
        if (p.state != ProcessState::alive) return;
        if (k->pgid ? p.pgid != static_cast<uint32_t>(k->pgid) : (p.pid == 1 || &p == k->caller)) return;
        k->found = true;
        if (&p == k->caller) {
          k->caller_too = true;
          return;
        }
        // As Linux: kill -1 passes over the processes it may not signal; a group kill
        // succeeds if it reached any member, and fails with EPERM if it could reach none.
        if (!may_send_signal_locked(p, k->signal)) {
          if (k->pgid) k->outcome = error(Errno::eperm);
          return;
        }
        if (auto sent = send_process_signal(p, k->signal, *k->details); !sent) k->outcome = sent;
        else k->sent = true;
      },
      &kill);
  if (kill.caller_too) {
    TRY(send_process_signal(current_process(), signal, details));
    kill.sent = true;
  }
  if (!kill.found) return error(Errno::esrch);
  if (kill.sent) return 0;
  TRY(kill.outcome);
  return 0;
}

Result<long> sys_tgkill(int tgid, int tid, int signal) {
  if (tgid <= 0 || tid <= 0) return error(Errno::einval);
  if (!thread_of(tgid, tid)) return error(Errno::esrch);
  if (!valid(signal) && signal != 0) return error(Errno::einval);
  TRY(check_permission_for_thread(tid, signal));
  TRY(send_signal(static_cast<uint32_t>(tid), signal, kSiTkill));
  return 0;
}

Result<long> sys_tkill(int tid, int signal) {
  if (tid <= 0) return error(Errno::einval);
  if (!valid(signal) && signal != 0) return error(Errno::einval);
  TRY(check_permission_for_thread(tid, signal));
  TRY(send_signal(static_cast<uint32_t>(tid), signal, kSiTkill));
  return 0;
}

}  // namespace nimbus::linux

extern "C" [[noreturn]] void signal_delivery_entry(void* argument) {
  using namespace nimbus::linux;
  auto* request = static_cast<DeliveryRequest*>(argument);
  Registers regs = request->registers;
  if (request->has_fault) {
    const Fault& f = request->fault;
    SigInfo info{};
    info.signo = f.signal;
    info.code = f.code;
    info.address = f.address;
    deliver(regs, f.signal, info, f.trapno, f.error_code, f.address, true);
  } else {
    deliver_pending(regs);
  }
  nimbus::x86::disable_interrupts();
  resume_full_registers(&regs);
}
