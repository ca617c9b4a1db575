// Page faults: fill a program page on first touch, turn the program's bad access into its
// SIGSEGV (SIGBUS past the end of a mapped file), and let the kernel's checked accesses to
// program memory (the exception table) fail with EFAULT instead of faulting. Any fault taken
// while program code runs is the program's, kernel half included; a fault in kernel code that
// no table entry covers is a kernel bug and panics.
#include "kernel/linux/page_fault.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/exception_table.h"
#include "kernel/arch/x86_64/interrupt_frame.h"
#include "kernel/lib/console.h"
#include "kernel/lib/exit_status.h"
#include "kernel/fs/page_cache.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/heap.h"
#include "kernel/platform/kvm/power.h"
#include "kernel/linux/process.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/vdso_mapping.h"
#include "kernel/mm/physical.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/thread.h"

namespace nimbus::linux {
namespace {
constexpr uint64_t kErrorWrite = 1u << 1;
constexpr uint64_t kErrorFetch = 1u << 4;

using exception_table::FixupKind;

// The legacy vsyscall page, as Linux's default vsyscall=xonly has it: nothing there can be
// read, but a call to one of its three entries (old static binaries call time() there) runs
// the vDSO's version of that function, which returns to the caller as the entry would.
constexpr uint64_t kVsyscallPage = 0xffffffffff600000;

bool emulate_vsyscall(InterruptFrame& frame, uint64_t address) {
  if (frame.rip != address) return false;  // a read or a write, not a call
  const char* function = address == kVsyscallPage           ? "__vdso_gettimeofday"
                         : address == kVsyscallPage + 0x400 ? "__vdso_time"
                         : address == kVsyscallPage + 0x800 ? "__vdso_getcpu"
                                                            : nullptr;
  const ProcessInfo& info = current_process().info;
  uintptr_t target = function && info.vdso_begin ? vdso_function(info.vdso_begin + kPageSize, function) : 0;
  if (!target) return false;
  frame.rip = target;
  return true;
}

}  // namespace

bool fix_up_kernel_fault(InterruptFrame& frame, bool program_address) {
  const exception_table::Entry* entry = exception_table::find(frame.rip);
  if (!entry) return false;
  if (entry->kind == FixupKind::note_and_skip) {
    // memcpy and friends copy kernel memory too: only a program address is the program's.
    if (!program_address) return false;
    if (LinuxThread* self = current_thread()->linux_thread) self->user_access_faulted = true;
  }
  frame.rip = entry->fixup_rip;
  return true;
}

bool handle_application_page_fault(InterruptFrame& frame, uint64_t address) {
  if (!has_process()) return false;
  bool kernel_code = is_kernel_code(frame.rip);
  if (address >= AddressSpace::kEnd + 4096) {
    // The checked accesses reject kernel addresses before touching them: a kernel fault on
    // one is a kernel bug, whatever the instruction.
    if (kernel_code) return false;
    // Program code read, wrote or jumped into the kernel half (HotSpot's crash reporter
    // probes such addresses; the legacy vsyscall page is execute-only): its SIGSEGV, with
    // SEGV_MAPERR as Linux gives for any user access to a kernel address.
    if (emulate_vsyscall(frame, address)) return true;
    raise_fault_signal(frame, kSigsegv, kSegvMapErr, address);
    return true;
  }
  // Program code always runs with interrupts on; kernel code may not, and then the page
  // cannot be filled (that may sleep): a checked access fails instead.
  FaultOutcome outcome = FaultOutcome::no_mapping;
  if (frame.rflags & x86::kFlagInterrupts) {
    x86::enable_interrupts();
    outcome = address_space().handle_fault(address, frame.error_code & kErrorWrite, frame.error_code & kErrorFetch);
    x86::disable_interrupts();
    if (outcome == FaultOutcome::handled) return true;
    if (outcome == FaultOutcome::out_of_memory) {
      // Linux's OOM killer would end the program; say why, and end the VM as every OOM does.
      print("nimbus: out of memory: no page for the program at %p (give the VM more --memory)\n",
            reinterpret_cast<void*>(address));
      // Where the memory is, for sizing --memory and for finding what to make smaller.
      heap::Stats heap = heap::stats();
      print("nimbus: memory: %lu KiB of %lu KiB free; kernel heap %lu KiB in slabs and %lu KiB in %lu "
            "large blocks; page cache %lu KiB\n",
            frames::free_bytes() >> 10, frames::total_bytes() >> 10, heap.slab_frames * 4, heap.large_frames * 4,
            heap.large_allocations, fs::page_cache_statistics().pages * 4);
      power::exit_vm(ExitStatus::out_of_memory);
    }
  } else if (!kernel_code) {
    return false;
  }
  if (kernel_code) {
    if (fix_up_kernel_fault(frame, true)) return true;
    print("nimbus: kernel code at %p touched program memory at %p without a checked access\n",
          reinterpret_cast<void*>(frame.rip), reinterpret_cast<void*>(address));
    return false;  // panic with the frame
  }
  if (outcome == FaultOutcome::file_error) {
    raise_fault_signal(frame, kSigbus, kBusAdrErr, address);
  } else {
    raise_fault_signal(frame, kSigsegv, outcome == FaultOutcome::no_mapping ? kSegvMapErr : kSegvAccErr, address);
  }
  return true;
}

}  // namespace nimbus::linux
