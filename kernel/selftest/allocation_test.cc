// Self-test: the heap and frame allocator under mixed sizes, with content checks.
#include <cstdint>

#include "kernel/lib/console.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/heap.h"
#include "kernel/selftest/selftest.h"

namespace nimbus::selftest {

bool allocation() {
  constexpr int kRounds = 4;
  constexpr int kCount = 256;
  static void* blocks[kCount];
  static size_t sizes[kCount];
  uint64_t free_before = frames::free_bytes();
  uint64_t large_before = heap::stats().large_allocations;
  uint64_t seed = 12345;
  for (int round = 0; round < kRounds; round++) {
    for (int i = 0; i < kCount; i++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      size_t size = 1 + (seed >> 33) % (i % 8 == 0 ? 40000 : 1500);
      size_t alignment = size_t{16} << ((seed >> 20) % 4);
      blocks[i] = heap::allocate(size, alignment);
      sizes[i] = size;
      if (!blocks[i] || reinterpret_cast<uintptr_t>(blocks[i]) % alignment) {
        print("alloc: FAILED (allocation %d of %zu bytes)\n", i, size);
        return false;
      }
      __builtin_memset(blocks[i], i & 0xff, size);
    }
    for (int i = 0; i < kCount; i++) {
      auto* bytes = static_cast<uint8_t*>(blocks[i]);
      for (size_t b = 0; b < sizes[i]; b++) {
        if (bytes[b] != (i & 0xff)) {
          print("alloc: FAILED (block %d overwritten at byte %zu)\n", i, b);
          return false;
        }
      }
      heap::free(blocks[i]);
    }
  }
  // Large blocks go back to the frame allocator at once; slabs may stay cached.
  uint64_t free_after = frames::free_bytes();
  uint64_t cached = free_before > free_after ? free_before - free_after : 0;
  uint64_t leaked = heap::stats().large_allocations - large_before;
  if (leaked != 0 || cached > (1u << 20)) {
    print("alloc: FAILED (%lu large blocks leaked, %lu bytes not returned)\n", leaked, cached);
    return false;
  }
  print("alloc: ok (%d allocations)\n", kRounds * kCount);
  return true;
}

}  // namespace nimbus::selftest
