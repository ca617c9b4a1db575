// The kernel heap: size classes from 16 bytes to 4 KiB served by slabs through per-CPU
// caches, larger blocks straight from the frame allocator.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus::heap {

void init();
// Gives this CPU its object caches (each CPU calls it once, the bootstrap CPU included).
void init_this_cpu();
// nullptr when out of memory. `alignment` is a power of two up to 4096.
void* allocate(size_t size, size_t alignment = 16);
void free(void* pointer);

struct Stats {
  uint64_t large_allocations;
  uint64_t slab_frames;
  uint64_t large_frames;  // frames held by large allocations (rounded up to a power of two)
};
Stats stats();

}  // namespace nimbus::heap
