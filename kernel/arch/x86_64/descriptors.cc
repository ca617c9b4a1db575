// Per-CPU GDT and TSS, and the shared IDT.
#include "kernel/arch/x86_64/descriptors.h"

extern "C" char interrupt_stubs_start[];

namespace nimbus::x86 {
namespace {

struct [[gnu::packed]] IdtGate {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t ist;
  uint8_t type_attributes;
  uint16_t offset_middle;
  uint32_t offset_high;
  uint32_t reserved;
};

struct [[gnu::packed]] DescriptorPointer {
  uint16_t limit;
  uint64_t base;
};

alignas(16) IdtGate g_idt[256];

constexpr uint8_t kInterruptGate = 0x8e;  // present, DPL 0, 64-bit interrupt gate (clears IF)
constexpr int kStubSize = 16;

IstSlot slot_for_vector(int vector) {
  switch (vector) {
    case 2:   // NMI
    case 8:   // double fault
    case 18:  // machine check
      return IstSlot::critical;
    default:
      return vector < 32 ? IstSlot::exception : IstSlot::interrupt;
  }
}

}  // namespace

void build_idt() {
  for (int vector = 0; vector < 256; vector++) {
    uint64_t handler = reinterpret_cast<uint64_t>(interrupt_stubs_start) + vector * kStubSize;
    g_idt[vector] = IdtGate{
        .offset_low = static_cast<uint16_t>(handler),
        .selector = kKernelCode,
        .ist = static_cast<uint8_t>(slot_for_vector(vector)),
        .type_attributes = kInterruptGate,
        .offset_middle = static_cast<uint16_t>(handler >> 16),
        .offset_high = static_cast<uint32_t>(handler >> 32),
        .reserved = 0,
    };
  }
}

void set_ist(CpuDescriptors& descriptors, IstSlot slot, uintptr_t stack_top) {
  descriptors.tss.ist[static_cast<int>(slot) - 1] = stack_top;
}

void load_descriptors(CpuDescriptors& d) {
  d.gdt[0] = 0;
  d.gdt[1] = 0x00af9a000000ffff;  // 64-bit code, DPL 0
  d.gdt[2] = 0x00cf92000000ffff;  // data
  uint64_t tss_base = reinterpret_cast<uint64_t>(&d.tss);
  uint64_t tss_limit = sizeof(Tss) - 1;
  d.gdt[3] = (tss_limit & 0xffff) | ((tss_base & 0xffffff) << 16) | (0x89ull << 40) |
             (((tss_limit >> 16) & 0xf) << 48) | (((tss_base >> 24) & 0xff) << 56);
  d.gdt[4] = tss_base >> 32;
  d.tss.iomap_base = sizeof(Tss);
  set_ist(d, IstSlot::critical, reinterpret_cast<uintptr_t>(d.critical_stack + sizeof(d.critical_stack)));

  DescriptorPointer gdt_pointer{sizeof(d.gdt) - 1, reinterpret_cast<uint64_t>(d.gdt)};
  DescriptorPointer idt_pointer{sizeof(g_idt) - 1, reinterpret_cast<uint64_t>(g_idt)};
  asm volatile(
      "lgdt %0\n"
      "lidt %1\n"
      "pushq %2\n"
      "leaq 1f(%%rip), %%rax\n"
      "pushq %%rax\n"
      "lretq\n"
      "1:\n"
      "movl %3, %%eax\n"
      "movl %%eax, %%ds\n"
      "movl %%eax, %%es\n"
      "movl %%eax, %%ss\n"
      "ltr %w4\n"
      :
      : "m"(gdt_pointer), "m"(idt_pointer), "i"(static_cast<uint64_t>(kKernelCode)),
        "i"(static_cast<uint32_t>(kKernelData)), "r"(kTssSelector)
      : "rax", "memory");
}

}  // namespace nimbus::x86
