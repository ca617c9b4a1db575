// Physical <-> virtual translation through the direct map, and page-size helpers.
#pragma once

#include <cstdint>

#include "kernel/arch/x86_64/layout.h"

namespace nimbus {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kLargePageSize = 2ull << 20;
constexpr uint64_t kHugePageSize = 1ull << 30;

constexpr uint64_t align_down(uint64_t value, uint64_t alignment) { return value & ~(alignment - 1); }
constexpr uint64_t align_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

template <typename T = void>
inline T* phys_to_virt(uint64_t phys) {
  return reinterpret_cast<T*>(DIRECT_MAP_BASE + phys);
}
inline uint64_t virt_to_phys(const void* virt) {
  auto address = reinterpret_cast<uint64_t>(virt);
  // Kernel image addresses are not in the direct map.
  if (address >= KERNEL_VIRT_BASE) return address - KERNEL_VIRT_BASE;
  return address - DIRECT_MAP_BASE;
}

}  // namespace nimbus
