// Thin wrappers over x86-64 instructions: port and MSR I/O, control registers, CPUID, TSC.
#pragma once

#include <cstdint>

namespace nimbus::x86 {

inline void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
inline void outw(uint16_t port, uint16_t value) { asm volatile("outw %0, %1" : : "a"(value), "Nd"(port)); }
inline void outl(uint16_t port, uint32_t value) { asm volatile("outl %0, %1" : : "a"(value), "Nd"(port)); }
inline uint8_t inb(uint16_t port) {
  uint8_t v;
  asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline uint32_t inl(uint16_t port) {
  uint32_t v;
  asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

inline uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}
inline void wrmsr(uint32_t msr, uint64_t value) {
  asm volatile("wrmsr" : : "c"(msr), "a"(static_cast<uint32_t>(value)),
               "d"(static_cast<uint32_t>(value >> 32)) : "memory");
}

inline uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

struct CpuidResult {
  uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0) {
  CpuidResult r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
  return r;
}

inline uint64_t read_cr0() { uint64_t v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
inline uint64_t read_cr2() { uint64_t v; asm volatile("mov %%cr2, %0" : "=r"(v)); return v; }
inline uint64_t read_cr3() { uint64_t v; asm volatile("mov %%cr3, %0" : "=r"(v)); return v; }
inline uint64_t read_cr4() { uint64_t v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }
inline void write_cr0(uint64_t v) { asm volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
inline void write_cr3(uint64_t v) { asm volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
inline void write_cr4(uint64_t v) { asm volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
inline void xsetbv(uint32_t index, uint64_t value) {
  asm volatile("xsetbv" : : "c"(index), "a"(static_cast<uint32_t>(value)),
               "d"(static_cast<uint32_t>(value >> 32)));
}

inline void invlpg(uintptr_t address) { asm volatile("invlpg (%0)" : : "r"(address) : "memory"); }
inline void pause() { asm volatile("pause"); }
inline void halt() { asm volatile("hlt"); }
inline void enable_interrupts() { asm volatile("sti" ::: "memory"); }
inline void disable_interrupts() { asm volatile("cli" ::: "memory"); }
// sti takes effect after the next instruction, so "sti; hlt" sleeps without a lost wake-up.
inline void enable_interrupts_and_halt() { asm volatile("sti; hlt" ::: "memory"); }

inline uint64_t read_flags() {
  uint64_t flags;
  asm volatile("pushfq; popq %0" : "=r"(flags) : : "memory");
  return flags;
}
constexpr uint64_t kFlagInterrupts = 1 << 9;
inline bool interrupts_enabled() { return read_flags() & kFlagInterrupts; }

// Disables interrupts and returns whether they were on, for a matching restore.
inline bool save_and_disable_interrupts() {
  bool was = interrupts_enabled();
  disable_interrupts();
  return was;
}
inline void restore_interrupts(bool were_enabled) {
  if (were_enabled) enable_interrupts();
}

namespace msr {
constexpr uint32_t kApicBase = 0x1b;
constexpr uint32_t kTscDeadline = 0x6e0;
constexpr uint32_t kEfer = 0xc0000080;
constexpr uint32_t kFsBase = 0xc0000100;
constexpr uint32_t kGsBase = 0xc0000101;
constexpr uint32_t kKernelGsBase = 0xc0000102;
constexpr uint32_t kKvmWallClock = 0x4b564d00;
constexpr uint32_t kKvmSystemTime = 0x4b564d01;
}  // namespace msr

}  // namespace nimbus::x86
