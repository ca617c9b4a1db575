// Signals. Today: synchronous faults and default actions (the program ends with status
// 128 + signal, as a shell reports it). Handlers, masks and asynchronous delivery come with
// the signal syscalls.
#include "kernel/linux/signals.h"

#include "kernel/arch/x86_64/interrupt_frame.h"
#include "kernel/lib/console.h"
#include "kernel/linux/page_fault.h"
#include "kernel/linux/process.h"

extern "C" char __kernel_start[], __kernel_end[];

namespace nimbus::linux {

void die_by_signal(int signal) { exit_process(128 + signal); }

void raise_fault_signal(InterruptFrame& frame, int signal, int code, uint64_t address) {
  log("nimbus: signal %d (code %d) at rip %lx, address %lx\n", signal, code, frame.rip, address);
  die_by_signal(signal);
}

bool handle_application_exception(InterruptFrame& frame) {
  if (!has_process()) return false;
  bool kernel_code = frame.rip >= reinterpret_cast<uint64_t>(__kernel_start) &&
                     frame.rip < reinterpret_cast<uint64_t>(__kernel_end);
  if (kernel_code) return false;
  switch (frame.vector) {
    case 0: raise_fault_signal(frame, kSigfpe, 1 /* FPE_INTDIV */, frame.rip); return true;
    case 3: raise_fault_signal(frame, kSigtrap, 0x80 /* SI_KERNEL */, 0); return true;
    case 6: raise_fault_signal(frame, kSigill, 2 /* ILL_ILLOPN */, frame.rip); return true;
    case 13: raise_fault_signal(frame, kSigsegv, 0x80 /* SI_KERNEL */, 0); return true;
    case 16:
    case 19: raise_fault_signal(frame, kSigfpe, 0, frame.rip); return true;
    case 17: raise_fault_signal(frame, kSigbus, 1 /* BUS_ADRALN */, 0); return true;
    default: return false;
  }
}

void deliver_pending_signals(SyscallFrame&) {}

}  // namespace nimbus::linux
