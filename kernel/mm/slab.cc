// SlabCache and CpuCache: carving objects out of slabs, and moving them in batches.
#include "kernel/mm/slab.h"

#include <algorithm>
#include <cstddef>
#include <new>

namespace nimbus {

SlabCache::SlabCache(int size_class, FrameSource& frames, unsigned slab_order, size_t reserve_slabs)
    : m_frames(frames),
      m_size_class(size_class),
      m_object_size(class_size(size_class)),
      m_first_object_offset(first_object_offset(size_class)),
      m_slab_order(slab_order),
      m_slab_capacity(objects_per_slab(size_class, slab_order)),
      m_reserve_slabs(reserve_slabs) {}

Result<void*> SlabCache::allocate() {
  Slab* slab = TRY(slab_with_free_object());
  return take(slab);
}

Result<size_t> SlabCache::allocate_batch(std::span<void*> out) {
  size_t taken = 0;
  while (taken < out.size()) {
    auto slab = slab_with_free_object();
    if (!slab) {
      if (taken == 0) return error(slab.error());
      break;
    }
    // Drain one slab before looking at the next; take() unlists it once it is full.
    do {
      out[taken++] = take(*slab);
    } while (taken < out.size() && (*slab)->m_in_use < m_slab_capacity);
  }
  return taken;
}

bool SlabCache::free(void* object) {
  if (!owns(object)) return false;
  Slab* slab = Slab::containing(object, m_slab_order);
  if (slab->m_in_use == 0 || slab->m_free == object) return false;
  bool was_full = slab->m_in_use == m_slab_capacity;
  slab->m_free = new (object) Slab::FreeObject{slab->m_free};
  slab->m_in_use--;
  m_objects_in_use--;
  if (slab->m_in_use == 0) {
    if (!was_full) m_partial.remove(slab);
    if (m_empty.size() < m_reserve_slabs) {
      m_empty.push_front(slab);
    } else {
      release(slab);
    }
  } else if (was_full) {
    // The fullest slabs go first, so the emptier ones get a chance to drain and be released.
    m_partial.push_front(slab);
  }
  return true;
}

bool SlabCache::free_batch(std::span<void* const> objects) {
  bool all_freed = true;
  for (void* object : objects) all_freed &= free(object);
  return all_freed;
}

bool SlabCache::owns(const void* object) const {
  if (object == nullptr) return false;
  const Slab* slab = Slab::containing(object, m_slab_order);
  if (slab->m_magic != Slab::kMagic || slab->m_cache != this) return false;
  uintptr_t offset = reinterpret_cast<uintptr_t>(object) - slab->base();
  if (offset < m_first_object_offset) return false;
  offset -= m_first_object_offset;
  return offset % m_object_size == 0 && offset / m_object_size < slab->m_carved;
}

void SlabCache::release_empty_slabs() {
  while (Slab* slab = m_empty.pop_front()) release(slab);
}

SlabCache* SlabCache::owner_of(const void* object, unsigned slab_order) {
  static_assert(offsetof(Slab, m_magic) == 0);
  const Slab* slab = Slab::containing(object, slab_order);
  if (slab->m_magic != Slab::kMagic) return nullptr;
  return slab->m_cache->owns(object) ? slab->m_cache : nullptr;
}

Result<Slab*> SlabCache::slab_with_free_object() {
  if (Slab* slab = m_partial.front()) return slab;
  Slab* slab = m_empty.pop_front();
  if (slab == nullptr) slab = TRY(grow());
  m_partial.push_front(slab);
  return slab;
}

Result<Slab*> SlabCache::grow() {
  if (m_slab_capacity == 0) return error(Errno::einval);
  uintptr_t base = TRY(m_frames.allocate_frames(m_slab_order));
  uintptr_t slab_bytes = uintptr_t{kSlabFrameBytes} << m_slab_order;
  if ((base & (slab_bytes - 1)) != 0) {
    m_frames.free_frames(base, m_slab_order);
    return error(Errno::einval);
  }
  m_slab_count++;
  return new (reinterpret_cast<void*>(base)) Slab(this);
}

void* SlabCache::take(Slab* slab) {
  void* object;
  if (slab->m_free != nullptr) {
    object = slab->m_free;
    slab->m_free = slab->m_free->next;
  } else {
    object = reinterpret_cast<void*>(slab->base() + m_first_object_offset +
                                     slab->m_carved * m_object_size);
    slab->m_carved++;
  }
  slab->m_in_use++;
  m_objects_in_use++;
  if (slab->m_in_use == m_slab_capacity) m_partial.remove(slab);
  return object;
}

void SlabCache::release(Slab* slab) {
  // A stale pointer into the returned frames must not pass for a live slab.
  slab->m_magic = 0;
  m_slab_count--;
  m_frames.free_frames(slab->base(), m_slab_order);
}

Result<size_t> CpuCache::refill_from(SlabCache& cache, size_t count) {
  count = std::min(count, kCapacity - m_count);
  size_t taken = TRY(cache.allocate_batch(std::span<void*>(m_objects.data() + m_count, count)));
  m_count += taken;
  return taken;
}

bool CpuCache::drain_to(SlabCache& cache, size_t count) {
  count = std::min(count, m_count);
  // The bottom of the stack holds the objects freed longest ago.
  bool all_freed = cache.free_batch(std::span<void* const>(m_objects.data(), count));
  std::copy(m_objects.begin() + count, m_objects.begin() + m_count, m_objects.begin());
  m_count -= count;
  return all_freed;
}

}  // namespace nimbus
