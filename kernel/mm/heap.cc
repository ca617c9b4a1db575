// The kernel heap. Every slab has the same size (kSlabOrder), so free() finds an object's
// cache from its address alone; a large block carries a header at the same aligned spot.
#include "kernel/mm/heap.h"

#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/lib/panic.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/physical.h"
#include "kernel/mm/size_classes.h"
#include "kernel/mm/slab.h"
#include "kernel/sched/cpu.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::heap {
namespace {

constexpr unsigned kSlabOrder = 2;
constexpr uintptr_t kSlabBytes = kPageSize << kSlabOrder;
constexpr uint32_t kLargeMagic = 0x1a59eb10;

// At the start of a large block, which is at least a slab in size and alignment.
struct LargeHeader {
  uint32_t magic;
  uint32_t order;
};

class BuddyFrameSource final : public FrameSource {
 public:
  Result<uintptr_t> allocate_frames(unsigned order) override {
    uint64_t phys = TRY(frames::allocate(order));
    m_frames.fetch_add(1ull << order, std::memory_order_relaxed);
    return DIRECT_MAP_BASE + phys;
  }
  void free_frames(uintptr_t virt, unsigned order) override {
    m_frames.fetch_sub(1ull << order, std::memory_order_relaxed);
    frames::free(virt - DIRECT_MAP_BASE, order);
  }
  uint64_t frames_in_use() const { return m_frames.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> m_frames{0};
};

struct ClassCache {
  Spinlock lock;
  SlabCache* cache;
};

BuddyFrameSource g_frame_source;
alignas(SlabCache) char g_cache_storage[kSizeClassCount][sizeof(SlabCache)];
ClassCache g_classes[kSizeClassCount];
// Each CPU's magazines, one per size class, allocated when the CPU comes up.
CpuCache* g_magazines[cpus::kMax];
std::atomic<uint64_t> g_large_allocations{0};
std::atomic<uint64_t> g_large_frames{0};

// nullptr until this CPU's caches exist: then allocations go straight to the slabs. (The
// GS base is set before the first allocation on every CPU.)
CpuCache* this_cpu_magazines() { return g_magazines[this_cpu().index]; }

void* allocate_small(int size_class) {
  bool interrupts = x86::save_and_disable_interrupts();
  void* object = nullptr;
  ClassCache& c = g_classes[size_class];
  if (CpuCache* magazines = this_cpu_magazines()) {
    CpuCache& magazine = magazines[size_class];
    object = magazine.pop();
    if (!object) {
      c.lock.lock_raw();
      auto refilled = magazine.refill_from(*c.cache);
      c.lock.unlock_raw();
      if (refilled) object = magazine.pop();
    }
  } else {
    c.lock.lock_raw();
    auto result = c.cache->allocate();
    c.lock.unlock_raw();
    if (result) object = *result;
  }
  x86::restore_interrupts(interrupts);
  return object;
}

void free_small(SlabCache* cache, void* pointer) {
  int size_class = cache->size_class();
  bool interrupts = x86::save_and_disable_interrupts();
  ClassCache& c = g_classes[size_class];
  bool ok = true;
  CpuCache* magazines = this_cpu_magazines();
  if (magazines && magazines[size_class].push(pointer)) {
    x86::restore_interrupts(interrupts);
    return;
  }
  c.lock.lock_raw();
  if (magazines) ok = magazines[size_class].drain_to(*c.cache) && magazines[size_class].push(pointer);
  else ok = c.cache->free(pointer);
  c.lock.unlock_raw();
  x86::restore_interrupts(interrupts);
  if (!ok) panic("heap: bad free of %p", pointer);
}

void* allocate_large(size_t size, size_t alignment) {
  size_t offset = alignment > sizeof(LargeHeader) ? alignment : 64;
  size_t bytes = size + offset;
  unsigned order = kSlabOrder;
  while ((kPageSize << order) < bytes) order++;
  auto phys = frames::allocate(order);
  if (!phys) return nullptr;
  auto* header = phys_to_virt<LargeHeader>(*phys);
  header->magic = kLargeMagic;
  header->order = order;
  g_large_allocations.fetch_add(1, std::memory_order_relaxed);
  g_large_frames.fetch_add(uint64_t{1} << order, std::memory_order_relaxed);
  return reinterpret_cast<char*>(header) + offset;
}

}  // namespace

void init() {
  for (int i = 0; i < kSizeClassCount; i++) {
    g_classes[i].cache = new (g_cache_storage[i]) SlabCache(i, g_frame_source, kSlabOrder, 1);
  }
}

void init_this_cpu() {
  void* memory = allocate(sizeof(CpuCache) * kSizeClassCount, alignof(CpuCache));
  if (!memory) panic_with_status(ExitStatus::out_of_memory, "out of memory for heap caches");
  auto* magazines = static_cast<CpuCache*>(memory);
  for (int i = 0; i < kSizeClassCount; i++) new (&magazines[i]) CpuCache();
  g_magazines[this_cpu().index] = magazines;
}

void* allocate(size_t size, size_t alignment) {
  ASSERT(alignment && (alignment & (alignment - 1)) == 0 && alignment <= kPageSize);
  if (size == 0) size = 1;
  int size_class = size_class_for(size, alignment);
  if (size_class >= 0) return allocate_small(size_class);
  return allocate_large(size, alignment);
}

void free(void* pointer) {
  if (!pointer) return;
  if (SlabCache* cache = SlabCache::owner_of(pointer, kSlabOrder)) {
    free_small(cache, pointer);
    return;
  }
  auto* header = reinterpret_cast<LargeHeader*>(reinterpret_cast<uintptr_t>(pointer) & ~(kSlabBytes - 1));
  if (header->magic != kLargeMagic) panic("heap: free of unknown pointer %p", pointer);
  header->magic = 0;
  g_large_allocations.fetch_sub(1, std::memory_order_relaxed);
  g_large_frames.fetch_sub(uint64_t{1} << header->order, std::memory_order_relaxed);
  frames::free(virt_to_phys(header), header->order);
}

Stats stats() {
  return Stats{g_large_allocations.load(std::memory_order_relaxed), g_frame_source.frames_in_use(),
               g_large_frames.load(std::memory_order_relaxed)};
}

}  // namespace nimbus::heap

// The object that selects `new (std::nothrow)`, which libstdc++ would otherwise define.
const std::nothrow_t std::nothrow{};

// The C++ allocation operators for kernel code. A failed plain `new` is out of memory for
// the whole kernel; code that can cope uses heap::allocate or `new (std::nothrow)`.
void* operator new(size_t size) {
  void* p = nimbus::heap::allocate(size);
  if (!p) nimbus::panic_with_status(nimbus::ExitStatus::out_of_memory, "out of memory (%zu bytes)", size);
  return p;
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new(size_t size, std::align_val_t alignment) {
  void* p = nimbus::heap::allocate(size, static_cast<size_t>(alignment));
  if (!p) nimbus::panic_with_status(nimbus::ExitStatus::out_of_memory, "out of memory (%zu bytes)", size);
  return p;
}
void* operator new(size_t size, const std::nothrow_t&) noexcept { return nimbus::heap::allocate(size); }
void* operator new[](size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void operator delete(void* p) noexcept { nimbus::heap::free(p); }
void operator delete[](void* p) noexcept { nimbus::heap::free(p); }
void operator delete(void* p, size_t) noexcept { nimbus::heap::free(p); }
void operator delete[](void* p, size_t) noexcept { nimbus::heap::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { nimbus::heap::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { nimbus::heap::free(p); }
