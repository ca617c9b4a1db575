// Tests for BuddyAllocator over fake physical memory (a host buffer behind a fake direct map).
#include "kernel/mm/buddy_allocator.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <vector>

namespace nimbus {
namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t GiB = 1024 * MiB;
constexpr uint64_t kFrame = BuddyAllocator::kFrameSize;
constexpr unsigned kMaxOrder = BuddyAllocator::kMaxOrder;

// Physical [phys_base, phys_base + bytes) backed by a host buffer; metadata covers [0, end).
class FakeMemory {
 public:
  FakeMemory(uint64_t phys_base, uint64_t bytes) : m_phys_base(phys_base), m_bytes(bytes) {
    m_buffer = static_cast<std::byte*>(std::aligned_alloc(kFrame, bytes));
    // Garbage, so the test sees whether init really zeroes the metadata.
    m_metadata.assign(BuddyAllocator::metadata_bytes(phys_end()) / sizeof(uint64_t), ~0ull);
    allocator.init(phys_end(), m_metadata.data(), direct_map_offset());
  }
  ~FakeMemory() { std::free(m_buffer); }
  FakeMemory(const FakeMemory&) = delete;
  FakeMemory& operator=(const FakeMemory&) = delete;

  uint64_t phys_base() const { return m_phys_base; }
  uint64_t phys_end() const { return m_phys_base + m_bytes; }
  uint64_t bytes() const { return m_bytes; }
  std::byte* buffer() const { return m_buffer; }
  uintptr_t direct_map_offset() const {
    return reinterpret_cast<uintptr_t>(m_buffer) - m_phys_base;
  }
  std::byte* virt(uint64_t phys) const { return m_buffer + (phys - m_phys_base); }
  void add_all() { allocator.add_free_range(phys_base(), phys_end()); }

  BuddyAllocator allocator;

 private:
  uint64_t m_phys_base;
  uint64_t m_bytes;
  std::byte* m_buffer;
  std::vector<uint64_t> m_metadata;
};

void expect_only_max_order_blocks(const BuddyAllocator& allocator, size_t count) {
  for (unsigned order = 0; order < kMaxOrder; order++) {
    EXPECT_EQ(allocator.free_block_count(order), 0u) << "order " << order;
  }
  EXPECT_EQ(allocator.free_block_count(kMaxOrder), count);
}

TEST(BuddyAllocator, MetadataIsAboutTwoBitsPerFrame) {
  // One bitmap per order; each is a whole number of 64-bit words.
  EXPECT_EQ(BuddyAllocator::metadata_bytes(0), 0u);
  EXPECT_EQ(BuddyAllocator::metadata_bytes(kFrame), 8u * BuddyAllocator::kOrderCount);
  EXPECT_EQ(BuddyAllocator::metadata_bytes(kFrame + 4095), 8u * BuddyAllocator::kOrderCount);
  // 128 MiB = 32768 frames: 512 + 256 + ... + 1 words for orders 0..9, one for order 10.
  EXPECT_EQ(BuddyAllocator::metadata_bytes(128 * MiB), 1024u * 8);
  // 16 GiB = 4 Mi frames: (65536 + 32768 + ... + 64) words.
  EXPECT_EQ(BuddyAllocator::metadata_bytes(16 * GiB), (2 * 65536u - 64) * 8);
  for (uint64_t end : {16 * GiB, 64 * GiB, 64 * GiB + 12345 * kFrame}) {
    uint64_t frames = end / kFrame;
    size_t bytes = BuddyAllocator::metadata_bytes(end);
    EXPECT_LE(bytes * 8, frames * 2 + 64 * BuddyAllocator::kOrderCount);
    EXPECT_GE(bytes * 8, frames);
  }
  EXPECT_LE(BuddyAllocator::metadata_bytes(64 * GiB), 4 * MiB);
}

TEST(BuddyAllocator, BootRangeBecomesMaxOrderBlocks) {
  FakeMemory memory(0, 128 * MiB);
  memory.add_all();
  // O(blocks) boot: 32 blocks of 4 MiB, nothing split.
  expect_only_max_order_blocks(memory.allocator, 32);
  EXPECT_EQ(memory.allocator.free_bytes(), 128 * MiB);
  EXPECT_EQ(memory.allocator.total_bytes(), 128 * MiB);
}

TEST(BuddyAllocator, UnalignedRangeShrinksInwardIntoLargestAlignedBlocks) {
  FakeMemory memory(0, 8 * MiB);
  memory.allocator.add_free_range(kFrame + 5, 8 * MiB - 3);
  // [0x2000, 8 MiB - 4 KiB): blocks of orders 1..9 climbing to 4 MiB, then 9..0 descending.
  EXPECT_EQ(memory.allocator.free_block_count(0), 1u);
  for (unsigned order = 1; order <= 9; order++) {
    EXPECT_EQ(memory.allocator.free_block_count(order), 2u) << "order " << order;
  }
  EXPECT_EQ(memory.allocator.free_block_count(kMaxOrder), 0u);
  EXPECT_EQ(memory.allocator.total_bytes(), 8 * MiB - 3 * kFrame);
  EXPECT_EQ(memory.allocator.free_bytes(), memory.allocator.total_bytes());
}

TEST(BuddyAllocator, RangesOutsideTheManagedMemoryAreClippedOrIgnored) {
  FakeMemory memory(0, 4 * MiB);
  memory.allocator.add_free_range(3 * MiB, 100 * GiB);
  EXPECT_EQ(memory.allocator.total_bytes(), 1 * MiB);
  memory.allocator.add_free_range(5 * MiB, 6 * MiB);
  memory.allocator.add_free_range(100, 200);
  memory.allocator.add_free_range(~0ull - 10, ~0ull);
  EXPECT_EQ(memory.allocator.total_bytes(), 1 * MiB);
}

TEST(BuddyAllocator, NeighbouringRangesMerge) {
  FakeMemory memory(0, 8 * MiB);
  memory.allocator.add_free_range(2 * MiB, 4 * MiB);
  memory.allocator.add_free_range(0, 1 * MiB);
  memory.allocator.add_free_range(1 * MiB, 2 * MiB);
  expect_only_max_order_blocks(memory.allocator, 1);
}

TEST(BuddyAllocator, InitZeroesMetadataSoNothingIsFreeYet) {
  FakeMemory memory(0, 4 * MiB);
  EXPECT_EQ(memory.allocator.free_bytes(), 0u);
  EXPECT_EQ(memory.allocator.allocate(0).error(), Errno::enomem);
  // Garbage in the bitmaps would make this look like a double free.
  memory.add_all();
  auto block = memory.allocator.allocate(0);
  ASSERT_TRUE(block);
  EXPECT_TRUE(memory.allocator.free(*block, 0));
}

TEST(BuddyAllocator, AllocateEverythingThenFreeInRandomOrderCoalesces) {
  FakeMemory memory(1 * GiB, 64 * MiB);
  memory.add_all();
  std::vector<uint64_t> blocks;
  while (auto block = memory.allocator.allocate(0)) blocks.push_back(*block);
  ASSERT_EQ(blocks.size(), 64 * MiB / kFrame);
  EXPECT_EQ(memory.allocator.free_bytes(), 0u);
  EXPECT_EQ(memory.allocator.allocate(0).error(), Errno::enomem);

  std::vector<uint64_t> sorted = blocks;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  EXPECT_EQ(sorted.front(), memory.phys_base());
  EXPECT_EQ(sorted.back(), memory.phys_end() - kFrame);

  std::mt19937 random(1234);
  std::shuffle(blocks.begin(), blocks.end(), random);
  for (uint64_t block : blocks) ASSERT_TRUE(memory.allocator.free(block, 0));
  expect_only_max_order_blocks(memory.allocator, 16);
  EXPECT_EQ(memory.allocator.free_bytes(), 64 * MiB);
}

TEST(BuddyAllocator, RandomMixedOrdersStayAlignedDisjointAndCoalesce) {
  FakeMemory memory(1 * GiB, 64 * MiB);
  memory.add_all();
  BuddyAllocator& allocator = memory.allocator;
  std::mt19937 random(42);
  std::map<uint64_t, unsigned> allocated;  // phys -> order
  uint64_t allocated_bytes = 0;
  // Stamps the first and last word of a block, to catch the allocator writing into it.
  auto stamp = [&](uint64_t phys, unsigned order) {
    uint64_t last = phys + BuddyAllocator::block_bytes(order) - sizeof(uint64_t);
    std::memcpy(memory.virt(phys), &phys, sizeof phys);
    std::memcpy(memory.virt(last), &last, sizeof last);
  };
  auto check_stamp = [&](uint64_t phys, unsigned order) {
    uint64_t last = phys + BuddyAllocator::block_bytes(order) - sizeof(uint64_t);
    uint64_t first_word, last_word;
    std::memcpy(&first_word, memory.virt(phys), sizeof first_word);
    std::memcpy(&last_word, memory.virt(last), sizeof last_word);
    EXPECT_EQ(first_word, phys);
    EXPECT_EQ(last_word, last);
  };

  for (int step = 0; step < 30000; step++) {
    bool do_allocate = allocated.empty() || random() % 100 < 55;
    if (do_allocate) {
      // Small orders are the common case; big ones exercise splitting.
      unsigned order = random() % 4 == 0 ? random() % (kMaxOrder + 1) : random() % 3;
      auto result = allocator.allocate(order);
      if (!result) {
        ASSERT_EQ(result.error(), Errno::enomem);
        continue;
      }
      uint64_t phys = *result;
      uint64_t size = BuddyAllocator::block_bytes(order);
      ASSERT_EQ(phys % size, 0u);
      ASSERT_GE(phys, memory.phys_base());
      ASSERT_LE(phys + size, memory.phys_end());
      auto next = allocated.lower_bound(phys);
      if (next != allocated.end()) {
        ASSERT_GE(next->first, phys + size);
      }
      if (next != allocated.begin()) {
        auto previous = std::prev(next);
        ASSERT_LE(previous->first + BuddyAllocator::block_bytes(previous->second), phys);
      }
      allocated[phys] = order;
      allocated_bytes += size;
      stamp(phys, order);
    } else {
      auto it = allocated.begin();
      std::advance(it, random() % allocated.size());
      check_stamp(it->first, it->second);
      ASSERT_TRUE(allocator.free(it->first, it->second));
      allocated_bytes -= BuddyAllocator::block_bytes(it->second);
      allocated.erase(it);
    }
    ASSERT_EQ(allocator.free_bytes(), memory.bytes() - allocated_bytes);
  }

  std::vector<std::pair<uint64_t, unsigned>> rest(allocated.begin(), allocated.end());
  std::shuffle(rest.begin(), rest.end(), random);
  for (auto [phys, order] : rest) {
    check_stamp(phys, order);
    ASSERT_TRUE(allocator.free(phys, order));
  }
  expect_only_max_order_blocks(allocator, 16);
  EXPECT_EQ(allocator.free_bytes(), 64 * MiB);
}

TEST(BuddyAllocator, ExhaustionAndFragmentationGiveEnomem) {
  FakeMemory memory(0, 4 * MiB);
  memory.add_all();
  auto whole = memory.allocator.allocate(kMaxOrder);
  ASSERT_TRUE(whole);
  EXPECT_EQ(memory.allocator.allocate(0).error(), Errno::enomem);
  ASSERT_TRUE(memory.allocator.free(*whole, kMaxOrder));

  auto frame = memory.allocator.allocate(0);
  ASSERT_TRUE(frame);
  EXPECT_EQ(memory.allocator.allocate(kMaxOrder).error(), Errno::enomem);
  auto half = memory.allocator.allocate(kMaxOrder - 1);
  ASSERT_TRUE(half);
  EXPECT_EQ(*half, 2 * MiB);
  EXPECT_EQ(memory.allocator.free_bytes(), 2 * MiB - kFrame);
}

TEST(BuddyAllocator, BadOrderIsEinval) {
  FakeMemory memory(0, 4 * MiB);
  memory.add_all();
  EXPECT_EQ(memory.allocator.allocate(kMaxOrder + 1).error(), Errno::einval);
}

TEST(BuddyAllocator, MisuseIsDetectedAndChangesNothing) {
  FakeMemory memory(0, 4 * MiB);
  memory.add_all();
  BuddyAllocator& allocator = memory.allocator;
  uint64_t a = *allocator.allocate(0);
  uint64_t b = *allocator.allocate(0);
  uint64_t big = *allocator.allocate(2);
  // Splitting hands out the lowest halves first; the cases below rely on this layout.
  ASSERT_EQ(a, 0u);
  ASSERT_EQ(b, kFrame);
  ASSERT_EQ(big, 4 * kFrame);
  uint64_t free_before = allocator.free_bytes();

  EXPECT_FALSE(allocator.free(a + 8, 0));
  EXPECT_FALSE(allocator.free(big + kFrame, 2));
  EXPECT_FALSE(allocator.free(a, kMaxOrder + 1));
  EXPECT_FALSE(allocator.free(4 * MiB, 0));
  EXPECT_FALSE(allocator.free(~0ull & ~(kFrame - 1), 0));
  EXPECT_EQ(allocator.free_bytes(), free_before);

  // A plain double free.
  ASSERT_TRUE(allocator.free(a, 0));
  EXPECT_FALSE(allocator.free(a, 0));
  // a and b merge into a free order-2 block at 0: both halves are inside a free block now,
  // and a larger block starting there starts with a free one.
  ASSERT_TRUE(allocator.free(b, 0));
  EXPECT_FALSE(allocator.free(a, 0));
  EXPECT_FALSE(allocator.free(b, 0));
  EXPECT_FALSE(allocator.free(0, 3));
  ASSERT_TRUE(allocator.free(big, 2));
  EXPECT_FALSE(allocator.free(big + kFrame, 0));
  expect_only_max_order_blocks(allocator, 1);
}

TEST(BuddyAllocator, DirectMapCanMoveUnderTheFreeLists) {
  FakeMemory memory(0, 8 * MiB);
  memory.add_all();
  std::vector<uint64_t> blocks;
  for (int i = 0; i < 100; i++) blocks.push_back(*memory.allocator.allocate(i % 3));
  for (int i = 0; i < 100; i += 2) ASSERT_TRUE(memory.allocator.free(blocks[i], i % 3));

  // The same frames seen through a different mapping: the lists hold physical addresses.
  auto* moved = static_cast<std::byte*>(std::aligned_alloc(kFrame, memory.bytes()));
  std::memcpy(moved, memory.buffer(), memory.bytes());
  std::memset(memory.buffer(), 0xee, memory.bytes());
  memory.allocator.set_direct_map_offset(reinterpret_cast<uintptr_t>(moved));

  for (int i = 1; i < 100; i += 2) ASSERT_TRUE(memory.allocator.free(blocks[i], i % 3));
  expect_only_max_order_blocks(memory.allocator, 2);
  std::vector<uint64_t> frames;
  while (auto frame = memory.allocator.allocate(0)) frames.push_back(*frame);
  EXPECT_EQ(frames.size(), 8 * MiB / kFrame);
  std::free(moved);
}

// A 16 GiB guest: metadata is 1 MiB and handing the memory over writes one header per 4 MiB.
TEST(BuddyAllocator, SixteenGiBGuest) {
  constexpr uint64_t kBytes = 16 * GiB;
  void* mapping = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mapping == MAP_FAILED) GTEST_SKIP() << "cannot reserve 16 GiB of address space";
  std::vector<uint64_t> metadata(BuddyAllocator::metadata_bytes(kBytes) / sizeof(uint64_t));
  BuddyAllocator allocator;
  allocator.init(kBytes, metadata.data(), reinterpret_cast<uintptr_t>(mapping));
  allocator.add_free_range(1 * MiB, kBytes);
  EXPECT_EQ(allocator.free_block_count(8), 1u);
  EXPECT_EQ(allocator.free_block_count(9), 1u);
  EXPECT_EQ(allocator.free_block_count(kMaxOrder), kBytes / (4 * MiB) - 1);
  EXPECT_EQ(allocator.free_bytes(), kBytes - 1 * MiB);

  std::vector<std::pair<uint64_t, unsigned>> blocks;
  for (unsigned i = 0; i < 2000; i++) {
    unsigned order = i % (kMaxOrder + 1);
    auto block = allocator.allocate(order);
    ASSERT_TRUE(block);
    ASSERT_EQ(*block % BuddyAllocator::block_bytes(order), 0u);
    blocks.emplace_back(*block, order);
  }
  for (auto [phys, order] : blocks) ASSERT_TRUE(allocator.free(phys, order));
  EXPECT_EQ(allocator.free_bytes(), kBytes - 1 * MiB);
  EXPECT_EQ(allocator.free_block_count(kMaxOrder), kBytes / (4 * MiB) - 1);
  munmap(mapping, kBytes);
}

}  // namespace
}  // namespace nimbus
