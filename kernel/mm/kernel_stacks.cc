// Thread stacks in the kernel virtual range: [guard][exception][guard][interrupt][guard][main].
//
// Freed sets are cached, still mapped, for the next thread. Beyond the cache, a set's frames
// are freed and its virtual range retired rather than reused: another CPU, or another PCID
// of this one (the mapping is not global, and invlpg reaches only the loaded PCID), may still
// hold a stale TLB entry for it, and without a TLB shootdown a reuse could alias a new frame.
// The window (256 GiB) covers millions of retired sets.
#include "kernel/mm/kernel_stacks.h"

#include <new>

#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/lib/panic.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/heap.h"
#include "kernel/mm/heap_node_source.h"
#include "kernel/mm/physical.h"
#include "kernel/mm/virtual_range_allocator.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::kernel_stacks {
namespace {

constexpr size_t kGuard = kPageSize;
constexpr size_t kExceptionOffset = kGuard;
constexpr size_t kInterruptOffset = kExceptionOffset + kExceptionSize + kGuard;
constexpr size_t kMainOffset = kInterruptOffset + kInterruptSize + kGuard;
constexpr size_t kSetSize = kMainOffset + kMainSize;
constexpr size_t kCacheCapacity = 64;

HeapNodeSource g_nodes;
Spinlock g_lock;  // guards g_ranges and g_cache
alignas(VirtualRangeAllocator) char g_ranges_storage[sizeof(VirtualRangeAllocator)];
VirtualRangeAllocator* g_ranges = nullptr;
uintptr_t g_cache[kCacheCapacity];
size_t g_cached = 0;

StackSet describe(uintptr_t region) {
  return StackSet{region, region + kMainOffset + kMainSize, region + kInterruptOffset + kInterruptSize,
                  region + kExceptionOffset + kExceptionSize};
}

void unmap_and_free(uintptr_t begin, uintptr_t end) {
  for (uintptr_t va = begin; va < end; va += kPageSize) {
    if (uint64_t phys = mmu::unmap_page(va)) frames::free(phys, 0);
  }
}

Result<> map_fresh(uintptr_t begin, size_t size) {
  constexpr uint64_t kFlags = mmu::pte::kWritable | mmu::pte::kNoExecute;
  for (uintptr_t va = begin; va < begin + size; va += kPageSize) {
    auto phys = frames::allocate(0);
    if (!phys) {
      unmap_and_free(begin, va);
      return error(Errno::enomem);
    }
    if (auto mapped = mmu::map_page(va, *phys, kFlags); !mapped) {
      frames::free(*phys, 0);
      unmap_and_free(begin, va);
      return error(Errno::enomem);
    }
  }
  return {};
}

}  // namespace

void init() {
  auto ranges = VirtualRangeAllocator::try_create(KERNEL_VRANGE_BASE, KERNEL_VRANGE_BASE + KERNEL_VRANGE_SIZE, g_nodes);
  if (!ranges) panic_with_status(ExitStatus::out_of_memory, "out of memory for kernel virtual ranges");
  g_ranges = new (g_ranges_storage) VirtualRangeAllocator(static_cast<VirtualRangeAllocator&&>(*ranges));
}

Result<StackSet> try_allocate() {
  uintptr_t region;
  {
    SpinlockGuard guard(g_lock);
    if (g_cached) return describe(g_cache[--g_cached]);
    region = TRY(g_ranges->allocate(kSetSize, kPageSize));
  }
  auto release_range = [&] {
    SpinlockGuard guard(g_lock);
    (void)g_ranges->free(region, kSetSize);
  };
  // The guard pages stay unmapped.
  for (auto [offset, size] : {std::pair{kExceptionOffset, kExceptionSize}, std::pair{kInterruptOffset, kInterruptSize},
                              std::pair{kMainOffset, kMainSize}}) {
    if (auto mapped = map_fresh(region + offset, size); !mapped) {
      if (offset > kExceptionOffset) unmap_and_free(region + kExceptionOffset, region + offset);
      release_range();
      return error(Errno::enomem);
    }
  }
  return describe(region);
}

void free(const StackSet& stacks) {
  {
    SpinlockGuard guard(g_lock);
    if (g_cached < kCacheCapacity) {
      g_cache[g_cached++] = stacks.region;
      return;
    }
  }
  unmap_and_free(stacks.region, stacks.region + kSetSize);
}

bool is_guard_page(uintptr_t address) {
  if (address < KERNEL_VRANGE_BASE || address >= KERNEL_VRANGE_BASE + KERNEL_VRANGE_SIZE) return false;
  if (mmu::is_mapped(address)) return false;
  // Stack regions are allocated page-aligned and contiguous in the window, so an unmapped
  // page right below a mapped one is a guard.
  uintptr_t page = align_down(address, kPageSize);
  return mmu::is_mapped(page + kPageSize);
}

}  // namespace nimbus::kernel_stacks
