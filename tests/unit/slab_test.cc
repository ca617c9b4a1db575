// Tests for SlabCache and the CpuCache magazines, over a host FrameSource that tracks slabs.
#include "kernel/mm/slab.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

namespace nimbus {
namespace {

// Hands out naturally aligned host memory, remembers what is outstanding, and can run dry.
class FakeFrameSource final : public FrameSource {
 public:
  explicit FakeFrameSource(size_t limit = SIZE_MAX) : m_limit(limit) {}
  ~FakeFrameSource() {
    for (auto [virt, order] : m_outstanding) std::free(reinterpret_cast<void*>(virt));
  }

  Result<uintptr_t> allocate_frames(unsigned order) override {
    if (m_outstanding.size() >= m_limit) return error(Errno::enomem);
    size_t bytes = kSlabFrameBytes << order;
    auto virt = reinterpret_cast<uintptr_t>(std::aligned_alloc(bytes, bytes));
    m_outstanding[virt] = order;
    allocations++;
    return virt;
  }
  void free_frames(uintptr_t virt, unsigned order) override {
    auto it = m_outstanding.find(virt);
    ASSERT_NE(it, m_outstanding.end());
    EXPECT_EQ(it->second, order);
    m_outstanding.erase(it);
    // Freed for real, so AddressSanitizer catches any later touch of a returned slab.
    std::free(reinterpret_cast<void*>(virt));
  }

  size_t outstanding() const { return m_outstanding.size(); }
  void set_limit(size_t limit) { m_limit = limit; }

  size_t allocations = 0;

 private:
  size_t m_limit;
  std::map<uintptr_t, unsigned> m_outstanding;
};

// Breaks the FrameSource promise: addresses one frame past a slab-size boundary.
class MisalignedFrameSource final : public FrameSource {
 public:
  Result<uintptr_t> allocate_frames(unsigned order) override {
    size_t bytes = kSlabFrameBytes << order;
    m_block = std::aligned_alloc(bytes, 2 * bytes);
    return reinterpret_cast<uintptr_t>(m_block) + kSlabFrameBytes;
  }
  void free_frames(uintptr_t virt, unsigned) override {
    EXPECT_EQ(virt, reinterpret_cast<uintptr_t>(m_block) + kSlabFrameBytes);
    std::free(m_block);
    m_block = nullptr;
  }
  void* m_block = nullptr;
};

TEST(SlabCache, ObjectsOfEveryClassAreUniqueAlignedAndOwned) {
  std::mt19937 random(7);
  for (int size_class = 0; size_class < kSizeClassCount; size_class++) {
    SCOPED_TRACE(class_size(size_class));
    FakeFrameSource frames;
    SlabCache cache(size_class, frames);
    size_t count = 3 * cache.slab_capacity() + 1;
    std::vector<void*> objects;
    for (size_t i = 0; i < count; i++) {
      auto object = cache.allocate();
      ASSERT_TRUE(object);
      ASSERT_EQ(reinterpret_cast<uintptr_t>(*object) % class_alignment(size_class), 0u);
      ASSERT_TRUE(cache.owns(*object));
      ASSERT_EQ(SlabCache::owner_of(*object, cache.slab_order()), &cache);
      // All of it is usable (AddressSanitizer would see a write past the slab).
      std::memset(*object, 0x5a, cache.object_size());
      objects.push_back(*object);
    }
    EXPECT_EQ(cache.slab_count(), 4u);
    EXPECT_EQ(frames.outstanding(), 4u);
    EXPECT_EQ(cache.objects_in_use(), count);

    std::vector<uintptr_t> sorted;
    for (void* object : objects) sorted.push_back(reinterpret_cast<uintptr_t>(object));
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 1; i < sorted.size(); i++) {
      ASSERT_GE(sorted[i] - sorted[i - 1], cache.object_size());
    }

    std::shuffle(objects.begin(), objects.end(), random);
    for (void* object : objects) ASSERT_TRUE(cache.free(object));
    EXPECT_EQ(cache.objects_in_use(), 0u);
    // One empty slab stays in reserve; the rest went back.
    EXPECT_EQ(cache.slab_count(), SlabCache::kDefaultReserveSlabs);
    EXPECT_EQ(cache.empty_slab_count(), SlabCache::kDefaultReserveSlabs);
    EXPECT_EQ(frames.outstanding(), SlabCache::kDefaultReserveSlabs);
    cache.release_empty_slabs();
    EXPECT_EQ(frames.outstanding(), 0u);
    EXPECT_EQ(cache.slab_count(), 0u);
  }
}

TEST(SlabCache, FreedObjectsAreReusedBeforeNewSlabs) {
  FakeFrameSource frames;
  SlabCache cache(size_class_for(64, 16), frames);
  std::vector<void*> objects;
  for (size_t i = 0; i < cache.slab_capacity(); i++) objects.push_back(*cache.allocate());
  ASSERT_TRUE(cache.free(objects[10]));
  EXPECT_EQ(*cache.allocate(), objects[10]);
  EXPECT_EQ(frames.allocations, 1u);
  // Full again: the next object needs a second slab.
  ASSERT_TRUE(cache.allocate());
  EXPECT_EQ(frames.allocations, 2u);
}

TEST(SlabCache, ReserveKeepsEmptySlabsUpToItsSize) {
  FakeFrameSource frames;
  int size_class = size_class_for(256, 16);
  SlabCache cache(size_class, frames, default_slab_order(size_class), 2);
  std::vector<void*> objects;
  for (size_t i = 0; i < 5 * cache.slab_capacity(); i++) objects.push_back(*cache.allocate());
  EXPECT_EQ(frames.outstanding(), 5u);
  for (void* object : objects) ASSERT_TRUE(cache.free(object));
  EXPECT_EQ(frames.outstanding(), 2u);
  // Reserve slabs are reused without asking the FrameSource.
  size_t allocations = frames.allocations;
  for (size_t i = 0; i < 2 * cache.slab_capacity(); i++) ASSERT_TRUE(cache.allocate());
  EXPECT_EQ(frames.allocations, allocations);
  EXPECT_EQ(cache.empty_slab_count(), 0u);
}

TEST(SlabCache, MisuseIsDetected) {
  FakeFrameSource frames;
  SlabCache cache(size_class_for(32, 16), frames);
  SlabCache other(size_class_for(32, 16), frames);
  void* a = *cache.allocate();
  void* b = *cache.allocate();
  void* foreign = *other.allocate();
  EXPECT_FALSE(cache.free(nullptr));
  EXPECT_FALSE(cache.free(static_cast<char*>(a) + 8));
  EXPECT_FALSE(cache.free(foreign));
  // Never handed out: the object right after the last carved one.
  EXPECT_FALSE(cache.free(static_cast<char*>(b) + cache.object_size()));
  // Inside the header.
  EXPECT_FALSE(cache.free(Slab::containing(a, cache.slab_order())));
  EXPECT_EQ(cache.objects_in_use(), 2u);

  ASSERT_TRUE(cache.free(a));
  EXPECT_FALSE(cache.free(a));  // The most recently freed object.
  ASSERT_TRUE(cache.free(b));
  EXPECT_FALSE(cache.free(b));  // The slab is empty.
  EXPECT_FALSE(cache.free(a));
  EXPECT_EQ(cache.objects_in_use(), 0u);
  EXPECT_EQ(SlabCache::owner_of(foreign, other.slab_order()), &other);
  EXPECT_FALSE(other.owns(a));
}

TEST(SlabCache, FrameSourceFailureIsEnomemAndRecoverable) {
  FakeFrameSource frames(1);
  SlabCache cache(size_class_for(512, 16), frames);
  std::vector<void*> objects;
  for (size_t i = 0; i < cache.slab_capacity(); i++) objects.push_back(*cache.allocate());
  auto failed = cache.allocate();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error(), Errno::enomem);
  ASSERT_TRUE(cache.free(objects.back()));
  EXPECT_EQ(*cache.allocate(), objects.back());
}

TEST(SlabCache, SlabTooSmallForOneObjectIsEinval) {
  FakeFrameSource frames;
  SlabCache cache(size_class_for(4096, 16), frames, 0, 1);
  EXPECT_EQ(cache.slab_capacity(), 0u);
  EXPECT_EQ(cache.allocate().error(), Errno::einval);
  EXPECT_EQ(frames.allocations, 0u);
}

TEST(SlabCache, MisalignedFrameSourceIsEinvalAndGetsItsFramesBack) {
  MisalignedFrameSource frames;
  SlabCache cache(size_class_for(1024, 16), frames);
  ASSERT_GE(cache.slab_order(), 1u);  // So one frame past a boundary is misaligned.
  auto object = cache.allocate();
  ASSERT_FALSE(object);
  EXPECT_EQ(object.error(), Errno::einval);
  EXPECT_EQ(frames.m_block, nullptr);
  EXPECT_EQ(cache.slab_count(), 0u);
}

TEST(SlabCache, UniformSlabOrderLetsUnsizedFreesFindTheirCache) {
  FakeFrameSource frames;
  constexpr unsigned kOrder = 3;
  std::vector<std::unique_ptr<SlabCache>> caches;
  for (int c = 0; c < kSizeClassCount; c++) {
    caches.push_back(std::make_unique<SlabCache>(c, frames, kOrder, 1));
  }
  std::mt19937 random(3);
  std::vector<void*> objects;
  for (int i = 0; i < 2000; i++) objects.push_back(*caches[random() % kSizeClassCount]->allocate());
  std::shuffle(objects.begin(), objects.end(), random);
  for (void* object : objects) {
    SlabCache* owner = SlabCache::owner_of(object, kOrder);
    ASSERT_NE(owner, nullptr);
    ASSERT_TRUE(owner->free(object));
  }
  for (auto& cache : caches) EXPECT_EQ(cache->objects_in_use(), 0u);
}

// The kernel heap keeps large blocks at slab-aligned addresses with its own magic first.
TEST(SlabCache, OwnerOfDecidesByTheFirstWordAlone) {
  FakeFrameSource frames;
  constexpr unsigned kOrder = 2;
  constexpr size_t kBytes = kSlabFrameBytes << kOrder;
  SlabCache cache(size_class_for(64, 16), frames, kOrder, 1);
  void* object = *cache.allocate();
  auto* slab = reinterpret_cast<std::byte*>(Slab::containing(object, kOrder));
  auto* large = static_cast<std::byte*>(std::aligned_alloc(kBytes, kBytes));
  // A stale copy of a live slab header, but another magic in the first word.
  std::memcpy(large, slab, kSlabHeaderBytes);
  const uint32_t kLargeMagic = 0x1a59eb10;
  std::memcpy(large, &kLargeMagic, sizeof kLargeMagic);
  std::byte* same_offset = large + (static_cast<std::byte*>(object) - slab);
  EXPECT_EQ(SlabCache::owner_of(same_offset, kOrder), nullptr);
  EXPECT_FALSE(cache.owns(same_offset));
  EXPECT_EQ(SlabCache::owner_of(object, kOrder), &cache);
  std::free(large);
}

TEST(SlabCache, AllocateBatchFillsFromSeveralSlabs) {
  FakeFrameSource frames;
  SlabCache cache(size_class_for(1024, 16), frames);
  std::vector<void*> objects(2 * cache.slab_capacity() + 3);
  auto taken = cache.allocate_batch(objects);
  ASSERT_TRUE(taken);
  EXPECT_EQ(*taken, objects.size());
  EXPECT_EQ(cache.slab_count(), 3u);
  EXPECT_EQ(std::set<void*>(objects.begin(), objects.end()).size(), objects.size());
  EXPECT_TRUE(cache.free_batch(objects));
  EXPECT_EQ(cache.objects_in_use(), 0u);

  frames.set_limit(frames.outstanding());
  std::vector<void*> more(3 * cache.slab_capacity());
  taken = cache.allocate_batch(more);
  ASSERT_TRUE(taken);
  EXPECT_EQ(*taken, cache.slab_capacity());  // The reserve slab, then the source ran dry.
  std::vector<void*> none(1);
  EXPECT_EQ(cache.allocate_batch(none).error(), Errno::enomem);
}

TEST(CpuCache, IsALifoStackOfFixedCapacity) {
  CpuCache magazine;
  int items[CpuCache::kCapacity];
  EXPECT_EQ(magazine.pop(), nullptr);
  for (int& item : items) EXPECT_TRUE(magazine.push(&item));
  EXPECT_TRUE(magazine.full());
  int extra;
  EXPECT_FALSE(magazine.push(&extra));
  for (size_t i = CpuCache::kCapacity; i-- > 0;) EXPECT_EQ(magazine.pop(), &items[i]);
  EXPECT_TRUE(magazine.empty());
}

TEST(CpuCache, RefillAndDrainMoveBatches) {
  FakeFrameSource frames;
  SlabCache cache(size_class_for(128, 16), frames);
  CpuCache magazine;
  auto taken = magazine.refill_from(cache);
  ASSERT_TRUE(taken);
  EXPECT_EQ(*taken, CpuCache::kBatch);
  EXPECT_EQ(magazine.size(), CpuCache::kBatch);
  EXPECT_EQ(*magazine.refill_from(cache, 1000), CpuCache::kCapacity - CpuCache::kBatch);
  EXPECT_TRUE(magazine.full());
  EXPECT_EQ(*magazine.refill_from(cache), 0u);
  EXPECT_EQ(cache.objects_in_use(), CpuCache::kCapacity);

  // Draining gives back the bottom of the stack; the newest objects stay.
  std::vector<void*> stack;
  while (void* object = magazine.pop()) stack.insert(stack.begin(), object);
  for (void* object : stack) ASSERT_TRUE(magazine.push(object));
  EXPECT_TRUE(magazine.drain_to(cache));
  EXPECT_EQ(magazine.size(), CpuCache::kCapacity - CpuCache::kBatch);
  EXPECT_EQ(cache.objects_in_use(), CpuCache::kCapacity - CpuCache::kBatch);
  for (size_t i = CpuCache::kCapacity; i-- > CpuCache::kBatch;) {
    EXPECT_EQ(magazine.pop(), stack[i]);
  }
  EXPECT_TRUE(magazine.empty());
}

TEST(CpuCache, RefillReportsTheCacheError) {
  FakeFrameSource frames(0);
  SlabCache cache(0, frames);
  CpuCache magazine;
  EXPECT_EQ(magazine.refill_from(cache).error(), Errno::enomem);
  EXPECT_TRUE(magazine.empty());
}

TEST(CpuCache, DrainReportsRejectedObjects) {
  FakeFrameSource frames;
  SlabCache cache(0, frames);
  CpuCache magazine;
  void* object = *cache.allocate();
  ASSERT_TRUE(magazine.push(object));
  ASSERT_TRUE(magazine.push(object));  // A double free the magazine cannot see.
  EXPECT_FALSE(magazine.drain_to(cache, CpuCache::kCapacity));
  EXPECT_TRUE(magazine.empty());
}

// The kernel's fast path on two CPUs: the shared cache is touched once per batch only.
TEST(CpuCache, PerCpuFastPathTouchesTheSharedCacheOncePerBatch) {
  FakeFrameSource frames;
  SlabCache cache(size_class_for(64, 16), frames);
  CpuCache magazines[2];
  size_t shared_calls = 0;
  auto allocate = [&](CpuCache& magazine) -> void* {
    if (void* object = magazine.pop()) return object;
    shared_calls++;
    EXPECT_TRUE(magazine.refill_from(cache));
    return magazine.pop();
  };
  auto release = [&](CpuCache& magazine, void* object) {
    if (magazine.push(object)) return;
    shared_calls++;
    EXPECT_TRUE(magazine.drain_to(cache));
    EXPECT_TRUE(magazine.push(object));
  };

  std::mt19937 random(99);
  std::vector<void*> live;
  std::set<void*> live_set;
  size_t operations = 0;
  for (int round = 0; round < 20; round++) {
    CpuCache& magazine = magazines[round % 2];
    for (int i = 0; i < 400; i++, operations++) {
      void* object = allocate(magazine);
      ASSERT_NE(object, nullptr);
      ASSERT_TRUE(live_set.insert(object).second) << "handed out twice";
      live.push_back(object);
    }
    // Objects migrate: free on the other CPU, in random order.
    std::shuffle(live.begin(), live.end(), random);
    CpuCache& other = magazines[(round + 1) % 2];
    for (int i = 0; i < 300; i++, operations++) {
      live_set.erase(live.back());
      release(other, live.back());
      live.pop_back();
    }
  }
  EXPECT_LE(shared_calls, operations / CpuCache::kBatch + 2);
  EXPECT_EQ(cache.objects_in_use(), live.size() + magazines[0].size() + magazines[1].size());

  for (void* object : live) ASSERT_TRUE(cache.free(object));
  for (CpuCache& magazine : magazines) EXPECT_TRUE(magazine.drain_to(cache, CpuCache::kCapacity));
  EXPECT_EQ(cache.objects_in_use(), 0u);
  EXPECT_EQ(frames.outstanding(), SlabCache::kDefaultReserveSlabs);
}

}  // namespace
}  // namespace nimbus
