// The kernel's physical frame allocator: a buddy allocator over all usable RAM, locked.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus {
struct BootInfo;
}

namespace nimbus::frames {

// Takes every usable range of the memory map except low memory, the kernel image, what
// the early allocator handed out, and the boot modules.
void init(const BootInfo& info);
// 2^order contiguous frames, aligned to their size. When none are free, the reclaimer (if set)
// is asked for frames back until it has none left to give.
Result<uint64_t> allocate(unsigned order);
// Frees up to `wanted` frames it holds (clean cached pages), returning how many; it must not
// allocate, and is called from any context that allocates (it try-locks what it needs).
using Reclaimer = size_t (*)(size_t wanted);
void set_reclaimer(Reclaimer reclaimer);
void free(uint64_t phys, unsigned order);
uint64_t free_bytes();
uint64_t total_bytes();
// The end of the highest RAM range: every frame lies below it.
uint64_t ram_end();

}  // namespace nimbus::frames
