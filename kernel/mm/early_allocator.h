// A bump allocator of zeroed frames for boot, before the frame allocator exists.
#pragma once

#include <cstdint>

namespace nimbus {
struct BootInfo;
}

namespace nimbus::early {

// Starts handing out frames after the kernel image (and anything the loader placed
// there). Must precede any call to allocate_frame().
void init(const BootInfo& info);
// Physical address of a zeroed 4 KiB frame, or 0 when the region is exhausted.
uint64_t allocate_frame();
// Contiguous zeroed bytes (page-rounded); 0 when exhausted.
uint64_t allocate(uint64_t bytes);
// [begin, end) physical range used so far; the frame allocator must not hand it out.
uint64_t used_begin();
uint64_t used_end();

}  // namespace nimbus::early
