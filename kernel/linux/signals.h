// Signals: actions, masks, and delivery to the application on its own stack, with the
// siginfo and ucontext Linux gives (x86-64 rt_sigframe), so runtimes that catch faults work.
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus {
struct InterruptFrame;
class Thread;
}  // namespace nimbus

namespace nimbus::linux {

struct SyscallFrame;

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
constexpr int kSigterm = 15;
constexpr int kSigchld = 17;
constexpr int kSigcont = 18;
constexpr int kSigstop = 19;
constexpr int kSigurg = 23;
constexpr int kSigwinch = 28;
constexpr int kSignalCount = 64;

// si_code values.
constexpr int kSegvMapErr = 1;
constexpr int kSegvAccErr = 2;
constexpr int kBusAdrErr = 2;
constexpr int kSiUser = 0;
constexpr int kSiTkill = -6;
constexpr int kSiKernel = 0x80;

// A CPU exception in application code: runs the application's handler if it has one
// (rewriting `frame` to enter it), otherwise ends the VM with status 128 + signal.
void raise_fault_signal(InterruptFrame& frame, int signal, int code, uint64_t address);
// Whether `rip` is kernel code (else it is the application's).
bool is_kernel_code(uint64_t rip);
// Ends the VM as if killed by `signal` (status 128 + signal).
[[noreturn]] void die_by_signal(int signal);
// Makes `signal` pending for one thread (tid) or, with tid 0, the process.
Result<> send_signal(uint32_t tid, int signal, int code);
// Delivery points: on the way back from a syscall, and from an interrupt that hit
// application code.
void deliver_pending_signals(SyscallFrame& frame);
void deliver_pending_signals(InterruptFrame& frame);

}  // namespace nimbus::linux
