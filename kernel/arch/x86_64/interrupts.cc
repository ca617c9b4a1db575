// Interrupt and exception dispatch: CPU exceptions taken by program code become its signals,
// kernel accesses to program memory that fault resume at their exception-table fix-up, and
// any other exception in kernel code ends in a panic with registers and a backtrace; device
// and IPI vectors go to their handlers, and a due reschedule happens on the way out.
#include "kernel/arch/x86_64/interrupt_frame.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/interrupt_vectors.h"
#include "kernel/arch/x86_64/local_apic.h"
#include "kernel/arch/x86_64/tlb.h"
#include "kernel/drivers/serial_input.h"
#include "kernel/lib/panic.h"
#include "kernel/linux/page_fault.h"
#include "kernel/linux/process.h"
#include "kernel/linux/signals.h"
#include "kernel/sched/scheduler.h"

namespace nimbus {
namespace {

constexpr const char* kExceptionNames[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range exceeded",
    "invalid opcode", "device not available", "double fault", "coprocessor segment overrun",
    "invalid TSS", "segment not present", "stack-segment fault", "general protection fault",
    "page fault", "reserved", "x87 floating-point error", "alignment check", "machine check",
    "SIMD floating-point error", "virtualization exception", "control protection exception",
    "reserved", "reserved", "reserved", "reserved", "reserved", "reserved",
    "hypervisor injection exception", "VMM communication exception", "security exception",
    "reserved"};

}  // namespace
}  // namespace nimbus

extern "C" void interrupt_dispatch(nimbus::InterruptFrame* frame) {
  using namespace nimbus;
  uint64_t vector = frame->vector;
  if (vector < 32) {
    if (vector == 2 && panic_in_progress()) halt_this_cpu_forever();
    if (vector == 14 && linux::handle_application_page_fault(*frame, x86::read_cr2())) return;
    if (linux::handle_application_exception(*frame)) return;
    panic_on_exception(*frame, kExceptionNames[vector]);
  }
  switch (vector) {
    case apic::vector::kTimer:
      apic::end_of_interrupt();
      scheduler::on_timer_interrupt();
      break;
    case apic::vector::kReschedule:
      apic::end_of_interrupt();
      scheduler::on_reschedule_ipi();
      break;
    case apic::vector::kTlbShootdown:
      tlb::on_shootdown_ipi();
      apic::end_of_interrupt();
      break;
    case serial_input::kVector:
      serial_input::on_interrupt();
      apic::end_of_interrupt();
      break;
    case apic::vector::kStop:
      halt_this_cpu_forever();
    case apic::vector::kSpurious:
      return;  // no EOI for spurious interrupts
    default:
      // Registered handlers acknowledge their device first: a level line drops before EOI.
      interrupt_vectors::dispatch(static_cast<uint8_t>(vector));
      apic::end_of_interrupt();
      break;
  }
  scheduler::preempt_if_needed();
  if (linux::has_process()) linux::deliver_pending_signals(*frame);
}
