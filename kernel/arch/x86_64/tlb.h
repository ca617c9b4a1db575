// TLBs: loading an address space's page tables (with PCIDs where the CPU has them), and
// shootdowns that make the CPUs forget application mappings after a change.
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/arch/x86_64/pcid_slots.h"

namespace nimbus::tlb {

// What the TLBs know an address space by: its root table, an id never reused (so that a PCID
// still tagging a freed space's entries is never taken for a new space's), and a generation
// that counts the flushes asked for it (PcidSlots).
struct Context {
  explicit Context(uint64_t page_root);
  uint64_t root;
  uint64_t id;
  std::atomic<uint64_t> generation{0};
};

// Per CPU (the Cpu holds one).
struct CpuTlb {
  // The space whose tables this CPU has loaded (null: the kernel's). Others read it to find
  // the CPUs a shootdown must interrupt.
  std::atomic<Context*> loaded{nullptr};
  PcidSlots slots;
};

// Enables PCIDs (CR4.PCIDE) when the CPU reports them (CPUID.1:ECX bit 17) and `allowed`
// (the `nopcid` boot word says no). Once, on the boot CPU, with the kernel's tables loaded.
void init_bsp(bool allowed);
// The same choice on an application processor, with the kernel's tables loaded.
void init_ap();

// Loads `context`'s tables on this CPU (null: the kernel's), keeping the TLB entries its PCID
// still holds when they are up to date. Nothing to do if they are loaded already. Interrupts
// off.
void load(Context* context);

// Flushes [begin, end) of `context` on every CPU that has it loaded, and returns once all
// have; the others flush when they load it again. Call with interrupts enabled and no
// spinlock held when other CPUs run (they must be able to answer).
void flush_range_everywhere(Context& context, uintptr_t begin, uintptr_t end);
// membarrier: makes every other online CPU take an interrupt (which orders its memory
// accesses and serializes its instruction stream) and returns once all have, after a full
// fence here. The shootdown IPI with nothing to flush.
void barrier_everywhere();
// Before a space's page tables are freed: no CPU may keep them loaded. The scheduler does not
// load the kernel's tables for kernel threads (the kernel half is in every root), so a CPU
// running one may still have the space of the last process it ran; such CPUs (this one
// included) switch to the kernel's tables. The entries a PCID of another CPU may still tag
// are never used again: the id is not reused, and a PCID lent anew is flushed. Interrupts
// enabled.
void forget(Context& context);
// The IPI handler.
void on_shootdown_ipi();

}  // namespace nimbus::tlb
