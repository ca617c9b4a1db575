// The kernel's physical frame allocator.
#include "kernel/mm/frame_allocator.h"

#include <atomic>
#include <cstddef>

#include "kernel/boot/start_info.h"
#include "kernel/lib/panic.h"
#include "kernel/mm/buddy_allocator.h"
#include "kernel/mm/early_allocator.h"
#include "kernel/mm/physical.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::frames {
namespace {

Spinlock g_lock;  // guards g_buddy and g_untouched
// Gives frames back when the buddy allocator runs dry (the page cache); called without g_lock.
std::atomic<Reclaimer> g_reclaimer{nullptr};
// Frames asked back at once: more than one allocation needs, so that the next ones find some.
constexpr size_t kReclaimBatch = 32;
BuddyAllocator g_buddy;

struct Range {
  uint64_t begin;
  uint64_t end;
};
using Reserved = Range;

// Free RAM not yet handed to the buddy allocator. The buddy keeps its free lists inside
// free frames, so handing it everything at boot would touch every 4 MiB of RAM; on a host
// that backs guest RAM with transparent huge pages each first touch costs a zeroed 2 MiB
// page (about 20 ms for 128 MiB here). RAM is handed over in max-order chunks on demand.
constexpr size_t kMaxUntouched = 64;
Range g_untouched[kMaxUntouched];
size_t g_untouched_count = 0;
uint64_t g_untouched_bytes = 0;

void add_untouched(uint64_t begin, uint64_t end) {
  begin = align_up(begin, kPageSize);
  end = align_down(end, kPageSize);
  if (begin >= end) return;
  if (g_untouched_count == kMaxUntouched) {
    g_buddy.add_free_range(begin, end);  // more ranges than slots: hand over at once
    return;
  }
  g_untouched[g_untouched_count++] = {begin, end};
  g_untouched_bytes += end - begin;
}

// Hands the next chunk (up to a max-order boundary) of untouched RAM to the buddy.
bool hand_over_chunk_locked() {
  if (g_untouched_count == 0) return false;
  Range& r = g_untouched[0];
  constexpr uint64_t kChunk = BuddyAllocator::block_bytes(BuddyAllocator::kMaxOrder);
  uint64_t end = align_up(r.begin + 1, kChunk);
  if (end > r.end) end = r.end;
  g_buddy.add_free_range(r.begin, end);
  g_untouched_bytes -= end - r.begin;
  r.begin = end;
  if (r.begin == r.end) {
    for (size_t i = 1; i < g_untouched_count; i++) g_untouched[i - 1] = g_untouched[i];
    g_untouched_count--;
  }
  return true;
}

// Adds [begin, end) minus the reserved ranges (sorted, non-overlapping not required).
void add_excluding(uint64_t begin, uint64_t end, const Reserved* reserved, size_t count) {
  for (size_t i = 0; i < count && begin < end; i++) {
    const Reserved& r = reserved[i];
    if (r.end <= begin || r.begin >= end) continue;
    if (r.begin > begin) add_excluding(begin, r.begin, reserved + i + 1, count - i - 1);
    begin = r.end;
  }
  if (begin < end) add_untouched(begin, end);
}

}  // namespace

namespace {
uint64_t g_ram_end = 0;
}  // namespace

uint64_t ram_end() { return g_ram_end; }

void init(const BootInfo& info) {
  uint64_t ram_end = info.ram_end();
  g_ram_end = ram_end;
  uint64_t metadata = early::allocate(BuddyAllocator::metadata_bytes(ram_end));
  if (!metadata) panic_with_status(ExitStatus::out_of_memory, "out of memory for frame allocator metadata");
  g_buddy.init(ram_end, phys_to_virt(metadata), DIRECT_MAP_BASE);

  Reserved reserved[2 + BootInfo::kMaxModules];
  size_t count = 0;
  reserved[count++] = {0, 1ull << 20};  // BIOS areas, the AP trampoline
  reserved[count++] = {KERNEL_PHYS_BASE, early::used_end()};
  for (size_t i = 0; i < info.module_count; i++)
    reserved[count++] = {align_down(info.modules[i].begin, kPageSize), align_up(info.modules[i].end, kPageSize)};

  for (size_t i = 0; i < info.range_count; i++) {
    if (info.ranges[i].type == MemoryType::usable)
      add_excluding(info.ranges[i].begin, info.ranges[i].end, reserved, count);
  }
}

Result<uint64_t> allocate(unsigned order) {
  Result<uint64_t> frame = error(Errno::enomem);
  {
    SpinlockGuard guard(g_lock);
    for (;;) {
      frame = g_buddy.allocate(order);
      if (frame || frame.error() != Errno::enomem || !hand_over_chunk_locked()) break;
    }
  }
  if (frame || frame.error() != Errno::enomem) return frame;
  // Low memory: clean cached file pages go back before anyone is refused.
  Reclaimer reclaimer = g_reclaimer.load(std::memory_order_acquire);
  size_t wanted = (size_t{1} << order) > kReclaimBatch ? size_t{1} << order : kReclaimBatch;
  while (reclaimer && reclaimer(wanted) > 0) {
    SpinlockGuard guard(g_lock);
    frame = g_buddy.allocate(order);
    if (frame || frame.error() != Errno::enomem) return frame;
  }
  return frame;
}

void set_reclaimer(Reclaimer reclaimer) { g_reclaimer.store(reclaimer, std::memory_order_release); }

void free(uint64_t phys, unsigned order) {
  SpinlockGuard guard(g_lock);
  if (!g_buddy.free(phys, order)) panic("frame allocator: bad free of %lx (order %u)", phys, order);
}

uint64_t free_bytes() {
  SpinlockGuard guard(g_lock);
  return g_buddy.free_bytes() + g_untouched_bytes;
}
uint64_t total_bytes() {
  SpinlockGuard guard(g_lock);
  return g_buddy.total_bytes() + g_untouched_bytes;
}

}  // namespace nimbus::frames
