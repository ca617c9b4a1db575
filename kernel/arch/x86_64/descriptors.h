// Per-CPU GDT and TSS, and the shared IDT; the IST stack slots each vector uses.
#pragma once

#include <cstdint>

namespace nimbus::x86 {

struct [[gnu::packed]] Tss {
  uint32_t reserved0;
  uint64_t rsp[3];
  uint64_t reserved1;
  uint64_t ist[7];
  uint64_t reserved2;
  uint16_t reserved3;
  uint16_t iomap_base;
};

// IST slots (1-based as in the IDT gate). Interrupts and recoverable exceptions use
// per-thread stacks that the scheduler swaps in on every switch, so a handler may switch
// threads; the fatal ones use a per-CPU stack that is always valid.
enum class IstSlot : uint8_t { interrupt = 1, exception = 2, critical = 3 };

constexpr uint16_t kKernelCode = 0x08;
constexpr uint16_t kKernelData = 0x10;
constexpr uint16_t kTssSelector = 0x18;

struct CpuDescriptors {
  alignas(16) uint64_t gdt[5];
  alignas(16) Tss tss;
  // Stack for NMI, double fault and machine check on this CPU.
  alignas(16) uint8_t critical_stack[8192];
};

void build_idt();
// Loads this CPU's GDT, TSS and the IDT. The critical IST slot is set; the per-thread
// slots are set by set_thread_ist_stacks().
void load_descriptors(CpuDescriptors& descriptors);
void set_ist(CpuDescriptors& descriptors, IstSlot slot, uintptr_t stack_top);

}  // namespace nimbus::x86
