// Slab caches for the kernel heap's size classes, and the per-CPU magazines in front of them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/result.h"
#include "kernel/mm/size_classes.h"

namespace nimbus {

// Where slabs come from. Returns *virtual* addresses of 2^order frames aligned to their
// size (a slab's header is found by rounding an object's address down to the slab size).
class FrameSource {
 public:
  virtual Result<uintptr_t> allocate_frames(unsigned order) = 0;
  virtual void free_frames(uintptr_t virt, unsigned order) = 0;

 protected:
  ~FrameSource() = default;
};

class SlabCache;

// The header at the start of every slab.
class Slab {
 public:
  // The slab that would hold `object` if slabs are 2^slab_order frames.
  static Slab* containing(const void* object, unsigned slab_order) {
    uintptr_t slab_bytes = uintptr_t{kSlabFrameBytes} << slab_order;
    return reinterpret_cast<Slab*>(reinterpret_cast<uintptr_t>(object) & ~(slab_bytes - 1));
  }

 private:
  friend class SlabCache;
  // Catches frees of pointers whose slab-sized rounding does not land on a live slab header.
  static constexpr uint32_t kMagic = 0x51ab51ab;

  struct FreeObject {
    FreeObject* next;
  };

  explicit Slab(SlabCache* cache) : m_cache(cache) {}
  uintptr_t base() const { return reinterpret_cast<uintptr_t>(this); }

  // The first word of every live slab (and cleared when the slab is released), so a heap
  // that stores its own magic first in other slab-aligned blocks can tell the two apart.
  uint32_t m_magic = kMagic;
  uint32_t m_in_use = 0;
  ListNode m_link;
  SlabCache* m_cache;
  FreeObject* m_free = nullptr;
  // Objects below this index have been handed out at least once; the rest of the slab has
  // never been touched, so a new slab costs one header write instead of threading a list.
  uint32_t m_carved = 0;
};

// The objects of one size class, carved from slabs. Partially used slabs sit on a list the
// allocator takes from; full slabs sit on no list; empty slabs are kept up to a reserve and
// returned to the FrameSource beyond it. Pure logic without locking: the kernel wraps each
// cache in its own lock and puts a CpuCache per CPU in front of it.
class SlabCache {
 public:
  static constexpr size_t kDefaultReserveSlabs = 1;

  SlabCache(int size_class, FrameSource& frames)
      : SlabCache(size_class, frames, default_slab_order(size_class), kDefaultReserveSlabs) {}
  // Any slab order works; a heap that must free objects without knowing their class can give
  // every class the same order and find the cache with owner_of().
  SlabCache(int size_class, FrameSource& frames, unsigned slab_order, size_t reserve_slabs);
  SlabCache(const SlabCache&) = delete;
  SlabCache& operator=(const SlabCache&) = delete;

  // One object of class_size() bytes aligned to class_alignment(). Errno::enomem when the
  // FrameSource fails; Errno::einval when no object fits in a slab of this order, or the
  // FrameSource broke its alignment promise.
  Result<void*> allocate();
  // Fills `out` from as few slabs as possible; returns how many it got (at least one) or the
  // error that stopped it before the first.
  Result<size_t> allocate_batch(std::span<void*> out);

  // Returns false, changing nothing, when `object` is detected as not a live object of this
  // cache: foreign or misaligned pointers, and double frees when the slab is empty or the
  // object is the slab's most recently freed one.
  [[nodiscard]] bool free(void* object);
  // Frees them all; false if any was rejected.
  [[nodiscard]] bool free_batch(std::span<void* const> objects);
  bool owns(const void* object) const;

  // Gives the reserve back too, for memory pressure.
  void release_empty_slabs();

  // The cache whose live slab holds `object`, or nullptr. Reads the 32-bit word at the
  // slab-aligned base below `object` (the slab magic); the memory must be readable.
  static SlabCache* owner_of(const void* object, unsigned slab_order);

  int size_class() const { return m_size_class; }
  size_t object_size() const { return m_object_size; }
  unsigned slab_order() const { return m_slab_order; }
  size_t slab_capacity() const { return m_slab_capacity; }
  size_t slab_count() const { return m_slab_count; }
  size_t empty_slab_count() const { return m_empty.size(); }
  // Objects handed out and not yet freed (including those sitting in CPU magazines).
  size_t objects_in_use() const { return m_objects_in_use; }

 private:
  Result<Slab*> slab_with_free_object();
  Result<Slab*> grow();
  void* take(Slab* slab);
  void release(Slab* slab);

  FrameSource& m_frames;
  IntrusiveList<Slab, &Slab::m_link> m_partial;
  IntrusiveList<Slab, &Slab::m_link> m_empty;
  int m_size_class;
  size_t m_object_size;
  size_t m_first_object_offset;
  unsigned m_slab_order;
  size_t m_slab_capacity;
  size_t m_reserve_slabs;
  size_t m_slab_count = 0;
  size_t m_objects_in_use = 0;
};

static_assert(sizeof(Slab) <= kSlabHeaderBytes);

// A per-CPU magazine: a small stack of free objects of one class. The kernel's fast path
// pops and pushes with only preemption off; it takes the SlabCache lock once per batch, when
// the magazine runs empty (refill_from) or full (drain_to).
class CpuCache {
 public:
  static constexpr size_t kCapacity = 32;
  static constexpr size_t kBatch = kCapacity / 2;

  // nullptr when empty.
  void* pop() { return m_count == 0 ? nullptr : m_objects[--m_count]; }
  // false when full.
  bool push(void* object) {
    if (m_count == kCapacity) return false;
    m_objects[m_count++] = object;
    return true;
  }

  // Takes up to `count` objects, limited by the free room; returns how many it got (at least
  // one unless there was no room) or the cache's error.
  Result<size_t> refill_from(SlabCache& cache, size_t count = kBatch);
  // Gives back the `count` oldest objects (the coldest in the CPU's caches); false if the
  // cache rejected any of them. drain_to(cache, kCapacity) empties the magazine.
  [[nodiscard]] bool drain_to(SlabCache& cache, size_t count = kBatch);

  size_t size() const { return m_count; }
  bool empty() const { return m_count == 0; }
  bool full() const { return m_count == kCapacity; }

 private:
  std::array<void*, kCapacity> m_objects{};
  size_t m_count = 0;
};

}  // namespace nimbus
