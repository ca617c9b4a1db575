// TLB shootdown: after changing or removing application mappings, make every CPU forget them.
#pragma once

#include <cstdint>

namespace nimbus::tlb {

// Flushes [begin, end) on this CPU and every other online CPU, and returns once all have.
// Call with interrupts enabled and no spinlock held (other CPUs must be able to answer).
void flush_range_everywhere(uintptr_t begin, uintptr_t end);
// membarrier: makes every other online CPU take an interrupt (which orders its memory
// accesses and serializes its instruction stream) and returns once all have, after a full
// fence here. The shootdown IPI with nothing to flush.
void barrier_everywhere();
// Before a process's page tables are freed: no CPU may keep `root` loaded. The scheduler does
// not load the kernel's tables for kernel threads (the kernel half is in every root), so a CPU
// running one may still have the root of the last process it ran; this CPU and every other
// online one that has `root` loaded switch to the kernel's tables. Interrupts enabled.
void forget_page_root(uint64_t root);
// The IPI handler.
void on_shootdown_ipi();

}  // namespace nimbus::tlb
