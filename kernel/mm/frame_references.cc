// Frames with more than one owner: a count of the extra owners per frame (0: one owner), so
// that a frame nobody shares costs nothing and is freed as before.
#include "kernel/mm/frame_references.h"

#include <atomic>
#include <cstring>

#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/heap.h"
#include "kernel/mm/physical.h"
#include "kernel/sync/mutex.h"

namespace nimbus::frame_refs {
namespace {

Mutex g_init_lock;
std::atomic<uint32_t*> g_extra_owners{nullptr};

std::atomic_ref<uint32_t> count_of(uint32_t* counts, uint64_t phys) {
  return std::atomic_ref<uint32_t>(counts[phys / kPageSize]);
}

}  // namespace

Result<> init() {
  if (g_extra_owners.load(std::memory_order_acquire)) return {};
  MutexGuard guard(g_init_lock);
  if (g_extra_owners.load(std::memory_order_acquire)) return {};
  size_t bytes = frames::ram_end() / kPageSize * sizeof(uint32_t);
  auto* counts = static_cast<uint32_t*>(heap::allocate(bytes, alignof(uint32_t)));
  if (!counts) return error(Errno::enomem);
  memset(counts, 0, bytes);
  g_extra_owners.store(counts, std::memory_order_release);
  return {};
}

void share(uint64_t phys) {
  count_of(g_extra_owners.load(std::memory_order_acquire), phys).fetch_add(1, std::memory_order_relaxed);
}

void release(uint64_t phys) {
  uint32_t* counts = g_extra_owners.load(std::memory_order_acquire);
  if (counts) {
    auto count = count_of(counts, phys);
    uint32_t extra = count.load(std::memory_order_acquire);
    // Only owners change the count, and each drops its own share once.
    while (extra > 0) {
      if (count.compare_exchange_weak(extra, extra - 1, std::memory_order_acq_rel)) return;
    }
  }
  frames::free(phys, 0);
}

bool is_shared(uint64_t phys) {
  uint32_t* counts = g_extra_owners.load(std::memory_order_acquire);
  return counts && count_of(counts, phys).load(std::memory_order_acquire) > 0;
}

}  // namespace nimbus::frame_refs
