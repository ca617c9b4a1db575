// Fatal kernel errors: message, registers, backtrace, then the VM ends with a status.
#include "kernel/lib/panic.h"

#include <atomic>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/interrupt_frame.h"
#include "kernel/arch/x86_64/layout.h"
#include "kernel/arch/x86_64/local_apic.h"
#include "kernel/lib/console.h"
#include "kernel/lib/symbols.h"
#include "kernel/mm/kernel_stacks.h"
#include "kernel/platform/kvm/power.h"
#include "kernel/sched/cpu.h"

extern "C" char __kernel_start[], __kernel_end[];

namespace nimbus {
namespace {

std::atomic<bool> g_panicking{false};

// Only one CPU reports; any other that panics meanwhile stops quietly.
void enter_panic() {
  x86::disable_interrupts();
  if (g_panicking.exchange(true)) halt_this_cpu_forever();
  console_break_lock();
  if (cpus::count() > 1 && x86::rdmsr(x86::msr::kGsBase)) apic::send_ipi_all_but_self(apic::vector::kStop);
}

bool plausible_frame(uint64_t fp) {
  // Frames live in the kernel image (boot stack) or in kernel stacks; stop at anything else.
  if (fp & 7) return false;
  bool in_image = fp >= reinterpret_cast<uint64_t>(__kernel_start) && fp < reinterpret_cast<uint64_t>(__kernel_end);
  bool in_stacks = fp >= KERNEL_VRANGE_BASE && fp < KERNEL_VRANGE_BASE + KERNEL_VRANGE_SIZE;
  return in_image || in_stacks;
}

void print_address(uint64_t address) {
  symbols::Symbol s = symbols::lookup(address);
  if (s.name) print("  %p  %s+0x%lx\n", reinterpret_cast<void*>(address), s.name, s.offset);
  else print("  %p  ?\n", reinterpret_cast<void*>(address));
}

const char* current_thread_name() {
  if (!x86::rdmsr(x86::msr::kGsBase) || !current_thread()) return "(boot)";
  return current_thread()->name();
}

}  // namespace

bool panic_in_progress() { return g_panicking.load(); }

void halt_this_cpu_forever() {
  for (;;) {
    x86::disable_interrupts();
    x86::halt();
  }
}

void print_backtrace(uintptr_t frame_pointer) {
  print("backtrace:\n");
  for (int depth = 0; depth < 32 && plausible_frame(frame_pointer); depth++) {
    auto* frame = reinterpret_cast<uint64_t*>(frame_pointer);
    uint64_t return_address = frame[1];
    if (!return_address) break;
    print_address(return_address);
    frame_pointer = frame[0];
  }
}

[[noreturn]] static void vpanic(ExitStatus status, const char* format, va_list args) {
  enter_panic();
  print("\nkernel panic on cpu %u, thread %s: ",
        x86::rdmsr(x86::msr::kGsBase) ? this_cpu().index : 0, current_thread_name());
  vprint(format, args);
  print("\n");
  print_backtrace(reinterpret_cast<uintptr_t>(__builtin_frame_address(0)));
  power::exit_vm(status);
}

void panic(const char* format, ...) {
  va_list args;
  va_start(args, format);
  vpanic(ExitStatus::panic, format, args);
}

void panic_with_status(ExitStatus status, const char* format, ...) {
  va_list args;
  va_start(args, format);
  vpanic(status, format, args);
}

void panic_on_exception(const InterruptFrame& f, const char* what) {
  enter_panic();
  print("\nkernel panic on cpu %u, thread %s: %s (vector %lu, error code %lx)\n",
        x86::rdmsr(x86::msr::kGsBase) ? this_cpu().index : 0, current_thread_name(), what, f.vector,
        f.error_code);
  if (f.vector == 14) {
    uint64_t address = x86::read_cr2();
    const char* why = kernel_stacks::is_guard_page(address) ? " (stack overflow: guard page)" : "";
    print("faulting address %p%s, %s access, %s\n", reinterpret_cast<void*>(address), why,
          f.error_code & 2 ? "write" : "read", f.error_code & 1 ? "protection violation" : "page not present");
  }
  print("rip %p  rsp %p  rflags %lx  cs %lx ss %lx\n", reinterpret_cast<void*>(f.rip),
        reinterpret_cast<void*>(f.rsp), f.rflags, f.cs, f.ss);
  print("rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", f.rax, f.rbx, f.rcx, f.rdx);
  print("rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n", f.rsi, f.rdi, f.rbp, f.r8);
  print("r9  %016lx r10 %016lx r11 %016lx r12 %016lx\n", f.r9, f.r10, f.r11, f.r12);
  print("r13 %016lx r14 %016lx r15 %016lx cr2 %016lx\n", f.r13, f.r14, f.r15, x86::read_cr2());
  print("cr0 %016lx cr3 %016lx cr4 %016lx\n", x86::read_cr0(), x86::read_cr3(), x86::read_cr4());
  print("faulting instruction:\n");
  print_address(f.rip);
  print_backtrace(f.rbp);
  power::exit_vm(ExitStatus::panic);
}

}  // namespace nimbus
