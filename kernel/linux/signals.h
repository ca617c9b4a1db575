// Signals: actions, masks, and delivery to the application on its own stack, with the
// siginfo and ucontext Linux gives (x86-64 rt_sigframe), so runtimes that catch faults work.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.h"
#include "kernel/linux/user_ptr.h"

namespace nimbus {
struct InterruptFrame;
class Thread;
class PollQueue;
}  // namespace nimbus

namespace nimbus::linux {

struct SyscallFrame;
struct LinuxThread;
struct SignalDetails;
struct Process;

constexpr int kSighup = 1;
constexpr int kSigint = 2;
constexpr int kSigquit = 3;
constexpr int kSigill = 4;
constexpr int kSigtrap = 5;
constexpr int kSigabrt = 6;
constexpr int kSigbus = 7;
constexpr int kSigfpe = 8;
constexpr int kSigkill = 9;
constexpr int kSigusr1 = 10;
constexpr int kSigsegv = 11;
constexpr int kSigpipe = 13;
constexpr int kSigalrm = 14;
constexpr int kSigvtalrm = 26;
constexpr int kSigprof = 27;
constexpr int kSigterm = 15;
constexpr int kSigchld = 17;
constexpr int kSigcont = 18;
constexpr int kSigstop = 19;
constexpr int kSigtstp = 20;
constexpr int kSigttin = 21;
constexpr int kSigttou = 22;
constexpr int kSigurg = 23;
constexpr int kSigxfsz = 25;
constexpr int kSigwinch = 28;
constexpr int kSigio = 29;
constexpr int kSignalCount = 64;

// si_code values.
constexpr int kSegvMapErr = 1;
constexpr int kSegvAccErr = 2;
constexpr int kBusAdrErr = 2;
constexpr int kSiUser = 0;
constexpr int kSiTkill = -6;
constexpr int kSiKernel = 0x80;
constexpr int kSiQueue = -1;
constexpr int kSiTimer = -2;

// A CPU exception in application code: runs the application's handler if it has one
// (rewriting `frame` to enter it), otherwise ends the VM with status 128 + signal.
void raise_fault_signal(InterruptFrame& frame, int signal, int code, uint64_t address);
// Whether `rip` is kernel code (else it is the application's).
bool is_kernel_code(uint64_t rip);
// Ends the process as if killed by `signal` (PID 1: the VM, with status 128 + signal).
[[noreturn]] void die_by_signal(int signal);
// Makes `signal` pending for one thread (tid) or, with tid 0, the process, and interrupts
// a thread that does not block it if it waits. A signal the program ignores is dropped, as
// Linux does, unless it is blocked. Safe from interrupt handlers (timers send signals).
Result<> send_signal(uint32_t tid, int signal, int code);
Result<> send_signal(uint32_t tid, int signal, const SignalDetails& details);
// A process-directed signal (kill) to `process`, which may be another than the caller's.
// Safe under the process tree lock.
Result<> send_process_signal(Process& process, int signal, const SignalDetails& details);
// A process-directed signal to the process `pid` (ESRCH if none); not to the caller's own
// process with SIGKILL (that one ends the caller: use send_process_signal). Interrupt-safe.
Result<> send_signal_to_pid(uint32_t pid, int signal, const SignalDetails& details);
// Tells `to` (the parent, or the tracer) that `about` stopped, continued or stopped for its
// tracer: wakes its waits and sends SIGCHLD with `code` (CLD_STOPPED, CLD_CONTINUED,
// CLD_TRAPPED) and `status`, unless its SIGCHLD action has SA_NOCLDSTOP. Under the tree lock.
void notify_stop_locked(Process& to, Process& about, int code, int status);
// Whether SIGKILL is pending for `thread` (or its process).
bool kill_pending(const LinuxThread& thread);
// exit_group: every thread of `process` but the caller gets SIGKILL.
void kill_other_threads(Process& process);
// Caught signals go back to their default action; ignored ones stay ignored (execve, and
// clone3's CLONE_CLEAR_SIGHAND).
void reset_caught_signal_actions(Process& process);
// Delivery points: on the way back from syscall `number` (whose result may ask for a
// restart: Errno::erestart*), and from an interrupt that hit application code.
void deliver_pending_signals(SyscallFrame& frame, uint64_t number);
void deliver_pending_signals(InterruptFrame& frame);
// The stack a signal frame needs on this CPU (AT_MINSIGSTKSZ): it grows with the XSAVE area.
size_t minimum_signal_stack_size();

// Takes one pending signal of `set` (own, then process-wide) for the current thread, with
// its siginfo (128 bytes, may be nullptr); 0 if none. For rt_sigtimedwait and signalfd.
int take_signal(uint64_t set, void* siginfo);
// Signals pending for the current thread (its own and the process's).
uint64_t pending_signals();
// Told whenever a signal becomes pending (signalfd and rt_sigtimedwait wait on it).
PollQueue& signal_poll_queue();
// For the duration of the current syscall (ppoll, pselect6, epoll_pwait, sigsuspend), the
// thread's mask is `*user_mask`; the syscall's exit puts the original back.
Result<> use_temporary_signal_mask(UserPtr<const uint64_t> user_mask, size_t size);
void use_temporary_signal_mask(uint64_t mask);
// After an interrupted wait: whether a signal really awaits delivery (the call then returns
// its restart code), or the interruption was stale (the signal went to another thread) and
// the wait may go on. Resets the thread's interrupt request either way.
bool signal_ends_wait();

}  // namespace nimbus::linux
