// Page faults on application addresses: fill the page on first touch, or turn a bad
// access into the application's SIGSEGV (SIGBUS past the end of a mapped file). (The kernel
// touches application memory only after checking the range, so a kernel fault here is a
// kernel bug.)
#include "kernel/linux/page_fault.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/interrupt_frame.h"
#include "kernel/lib/console.h"
#include "kernel/lib/exit_status.h"
#include "kernel/platform/kvm/power.h"
#include "kernel/linux/process.h"
#include "kernel/linux/signals.h"

namespace nimbus::linux {
namespace {
constexpr uint64_t kErrorWrite = 1u << 1;
constexpr uint64_t kErrorFetch = 1u << 4;
}  // namespace

bool handle_application_page_fault(InterruptFrame& frame, uint64_t address) {
  if (address >= AddressSpace::kEnd + 4096 || !has_process()) return false;
  bool kernel_code = is_kernel_code(frame.rip);
  // Filling a page may sleep (locks, memory): only if the faulting code could be interrupted.
  if (!(frame.rflags & x86::kFlagInterrupts)) return false;
  x86::enable_interrupts();
  FaultOutcome outcome =
      address_space().handle_fault(address, frame.error_code & kErrorWrite, frame.error_code & kErrorFetch);
  x86::disable_interrupts();
  if (outcome == FaultOutcome::handled) return true;
  if (outcome == FaultOutcome::out_of_memory) {
    // Linux's OOM killer would end the program; say why, and end the VM as every OOM does.
    print("nimbus: out of memory: no page for the program at %p (give the VM more --memory)\n",
          reinterpret_cast<void*>(address));
    power::exit_vm(ExitStatus::out_of_memory);
  }
  if (kernel_code) return false;  // the kernel's own bad access: panic with the frame
  if (outcome == FaultOutcome::file_error) {
    raise_fault_signal(frame, kSigbus, kBusAdrErr, address);
  } else {
    raise_fault_signal(frame, kSigsegv, outcome == FaultOutcome::no_mapping ? kSegvMapErr : kSegvAccErr, address);
  }
  return true;
}

}  // namespace nimbus::linux
