// Tests for VirtualRangeAllocator, including a randomised comparison with a page-bitmap model.
#include "kernel/mm/virtual_range_allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <random>
#include <utility>
#include <vector>

namespace nimbus {
namespace {

using Node = VirtualRangeAllocator::Node;
constexpr uintptr_t kPage = VirtualRangeAllocator::kPageSize;

// Counts live nodes so the tests see leaks, and can run dry on demand.
class CountingNodeSource final : public VirtualRangeAllocator::NodeSource {
 public:
  ~CountingNodeSource() { EXPECT_EQ(live, 0u); }
  Result<void*> allocate_node() override {
    if (live >= limit) return error(Errno::enomem);
    live++;
    return std::malloc(sizeof(Node));  // malloc alignment covers alignof(Node).
  }
  void free_node(void* node) override {
    ASSERT_GT(live, 0u);
    live--;
    std::free(node);
  }

  size_t live = 0;
  size_t limit = SIZE_MAX;
};

TEST(VirtualRangeAllocator, WindowShrinksInwardToWholePages) {
  CountingNodeSource nodes;
  auto ranges = VirtualRangeAllocator::try_create(0x1001, 0x10fff, nodes);
  ASSERT_TRUE(ranges);
  EXPECT_EQ(ranges->begin(), 0x2000u);
  EXPECT_EQ(ranges->end(), 0x10000u);
  EXPECT_EQ(ranges->free_bytes(), 0xe000u);
  EXPECT_EQ(ranges->free_range_count(), 1u);
  EXPECT_EQ(VirtualRangeAllocator::try_create(0x1001, 0x1fff, nodes).error(), Errno::einval);
  EXPECT_EQ(VirtualRangeAllocator::try_create(0x5000, 0x4000, nodes).error(), Errno::einval);
  EXPECT_EQ(VirtualRangeAllocator::try_create(UINTPTR_MAX - 10, UINTPTR_MAX, nodes).error(),
            Errno::einval);
  // The highest window there is ends one page short of the top.
  auto top = VirtualRangeAllocator::try_create(0xffffc00000000000, UINTPTR_MAX, nodes);
  ASSERT_TRUE(top);
  EXPECT_EQ(top->end(), UINTPTR_MAX - kPage + 1);
  EXPECT_EQ(*top->allocate(kPage, 1ull << 46), 0xffffc00000000000u);
  // The next 2^62-aligned address would be 2^64.
  EXPECT_EQ(top->allocate(kPage, 1ull << 62).error(), Errno::enomem);
  nodes.limit = 0;
  EXPECT_EQ(VirtualRangeAllocator::try_create(0, 0x10000, nodes).error(), Errno::enomem);
}

TEST(VirtualRangeAllocator, AllocateIsFirstFitPageGranularAndAligned) {
  CountingNodeSource nodes;
  auto ranges = *VirtualRangeAllocator::try_create(0x100000, 0x200000, nodes);
  EXPECT_EQ(*ranges.allocate(1, 0), 0x100000u);
  EXPECT_EQ(*ranges.allocate(kPage, 0x10000), 0x110000u);
  // The hole below the aligned allocation is found first.
  EXPECT_EQ(*ranges.allocate(2 * kPage + 1, 1), 0x101000u);
  EXPECT_EQ(*ranges.allocate(0xc000, kPage), 0x104000u);
  EXPECT_EQ(*ranges.allocate(kPage, 0), 0x111000u);
  EXPECT_EQ(ranges.free_bytes(), 0x100000u - 0x12000);
  EXPECT_EQ(ranges.allocate(0, kPage).error(), Errno::einval);
  EXPECT_EQ(ranges.allocate(kPage, 3 * kPage).error(), Errno::einval);
  EXPECT_EQ(ranges.allocate(0x100000, kPage).error(), Errno::enomem);
  EXPECT_EQ(ranges.allocate(SIZE_MAX, kPage).error(), Errno::enomem);
  EXPECT_EQ(ranges.allocate(kPage, 0x200000).error(), Errno::enomem);
}

TEST(VirtualRangeAllocator, FixedAllocationsRejectOverlapAndBadRanges) {
  CountingNodeSource nodes;
  auto ranges = *VirtualRangeAllocator::try_create(0x100000, 0x200000, nodes);
  ASSERT_TRUE(ranges.allocate_fixed(0x150000, 0x3000));
  EXPECT_FALSE(ranges.is_free(0x150000, 1));
  EXPECT_TRUE(ranges.is_free(0x14f000, kPage));
  EXPECT_FALSE(ranges.is_free(0x14f000, 2 * kPage));
  EXPECT_EQ(ranges.allocate_fixed(0x152000, kPage).error(), Errno::eexist);
  EXPECT_EQ(ranges.allocate_fixed(0x14f000, 2 * kPage).error(), Errno::eexist);
  EXPECT_EQ(ranges.allocate_fixed(0x140000, 0x20000).error(), Errno::eexist);
  EXPECT_EQ(ranges.allocate_fixed(0x150800, kPage).error(), Errno::einval);
  EXPECT_EQ(ranges.allocate_fixed(0x160000, 0).error(), Errno::einval);
  EXPECT_EQ(ranges.allocate_fixed(0x0ff000, 2 * kPage).error(), Errno::einval);
  EXPECT_EQ(ranges.allocate_fixed(0x1ff000, 2 * kPage).error(), Errno::einval);
  EXPECT_EQ(ranges.allocate_fixed(0x1ff000, SIZE_MAX).error(), Errno::einval);
  EXPECT_EQ(ranges.free_bytes(), 0x100000u - 0x3000);
  // Edges of the window are fine.
  EXPECT_TRUE(ranges.allocate_fixed(0x100000, kPage));
  EXPECT_TRUE(ranges.allocate_fixed(0x1ff000, kPage));
  EXPECT_EQ(ranges.free_range_count(), 2u);
  EXPECT_FALSE(ranges.is_free(0x1ff000, kPage));
  EXPECT_FALSE(ranges.is_free(0x200000, kPage));
}

TEST(VirtualRangeAllocator, PartialFreeSplitsAndNeighboursMerge) {
  CountingNodeSource nodes;
  auto ranges = *VirtualRangeAllocator::try_create(0x100000, 0x200000, nodes);
  ASSERT_TRUE(ranges.allocate_fixed(0x100000, 0x10000));
  EXPECT_EQ(ranges.free_range_count(), 1u);
  // The middle of an allocation.
  ASSERT_TRUE(ranges.free(0x104000, 0x2000));
  EXPECT_TRUE(ranges.is_free(0x104000, 0x2000));
  EXPECT_FALSE(ranges.is_free(0x103000, kPage));
  EXPECT_FALSE(ranges.is_free(0x106000, kPage));
  EXPECT_EQ(ranges.free_range_count(), 2u);
  // Just below the hole: merges with it.
  ASSERT_TRUE(ranges.free(0x103000, 1));
  EXPECT_EQ(ranges.free_range_count(), 2u);
  // Just below the big free range: merges with it.
  ASSERT_TRUE(ranges.free(0x10f000, kPage));
  EXPECT_EQ(ranges.free_range_count(), 2u);
  // Bridging both.
  ASSERT_TRUE(ranges.free(0x106000, 0x9000));
  EXPECT_EQ(ranges.free_range_count(), 1u);
  EXPECT_TRUE(ranges.is_free(0x103000, 0xfd000));
  ASSERT_TRUE(ranges.free(0x100000, 0x3000));
  EXPECT_EQ(ranges.free_range_count(), 1u);
  EXPECT_EQ(ranges.free_bytes(), 0x100000u);
  EXPECT_EQ(nodes.live, 1u);
}

TEST(VirtualRangeAllocator, DoubleFreeAndStrayFreesAreEinvalAndChangeNothing) {
  CountingNodeSource nodes;
  auto ranges = *VirtualRangeAllocator::try_create(0x100000, 0x200000, nodes);
  uintptr_t a = *ranges.allocate(0x4000, 0);
  uintptr_t b = *ranges.allocate(0x4000, 0);
  ASSERT_TRUE(ranges.free(a, 0x4000));
  uintptr_t free_before = ranges.free_bytes();
  EXPECT_EQ(ranges.free(a, 0x4000).error(), Errno::einval);
  EXPECT_EQ(ranges.free(a + kPage, kPage).error(), Errno::einval);
  EXPECT_EQ(ranges.free(b, 0x5000).error(), Errno::einval);          // Runs into free space.
  EXPECT_EQ(ranges.free(b - kPage, 0x2000).error(), Errno::einval);  // Starts in free space.
  EXPECT_EQ(ranges.free(b + 1, kPage).error(), Errno::einval);
  EXPECT_EQ(ranges.free(0x200000, kPage).error(), Errno::einval);
  EXPECT_EQ(ranges.free(0xff000, kPage).error(), Errno::einval);
  EXPECT_EQ(ranges.free(b, 0).error(), Errno::einval);
  EXPECT_EQ(ranges.free_bytes(), free_before);
  EXPECT_FALSE(ranges.is_free(b, 0x4000));
}

TEST(VirtualRangeAllocator, NodeExhaustionIsEnomemAndChangesNothing) {
  CountingNodeSource nodes;
  auto ranges = *VirtualRangeAllocator::try_create(0x100000, 0x200000, nodes);
  ASSERT_TRUE(ranges.allocate_fixed(0x100000, 0x10000));
  nodes.limit = nodes.live;
  // Splitting the free range in two needs a node.
  EXPECT_EQ(ranges.allocate_fixed(0x180000, kPage).error(), Errno::enomem);
  EXPECT_EQ(ranges.allocate(kPage, 0x80000).error(), Errno::enomem);
  // A hole inside an allocation needs a node; freeing next to free space does not.
  EXPECT_EQ(ranges.free(0x104000, kPage).error(), Errno::enomem);
  EXPECT_EQ(ranges.free_bytes(), 0xf0000u);
  EXPECT_TRUE(ranges.is_free(0x110000, 0xf0000));
  EXPECT_FALSE(ranges.is_free(0x104000, kPage));
  EXPECT_TRUE(ranges.free(0x10f000, kPage));
  EXPECT_EQ(*ranges.allocate(kPage, 0), 0x10f000u);
}

// Brute force over a page bitmap: the allocator must agree on every answer, including which
// address first fit picks.
class PageModel {
 public:
  PageModel(uintptr_t begin, size_t pages) : m_begin(begin), m_free(pages, true) {}

  uintptr_t end() const { return m_begin + m_free.size() * kPage; }
  bool is_free(uintptr_t addr, size_t pages) const {
    size_t first = (addr - m_begin) / kPage;
    for (size_t i = first; i < first + pages; i++) {
      if (!m_free[i]) return false;
    }
    return true;
  }
  void set(uintptr_t addr, size_t pages, bool free) {
    size_t first = (addr - m_begin) / kPage;
    std::fill(m_free.begin() + first, m_free.begin() + first + pages, free);
  }
  std::optional<uintptr_t> first_fit(size_t pages, uintptr_t align) const {
    for (uintptr_t addr = (m_begin + align - 1) / align * align; addr + pages * kPage <= end();
         addr += align) {
      if (is_free(addr, pages)) return addr;
    }
    return std::nullopt;
  }
  size_t free_bytes() const { return std::count(m_free.begin(), m_free.end(), true) * kPage; }
  size_t runs() const {
    size_t runs = 0;
    for (size_t i = 0; i < m_free.size(); i++) runs += m_free[i] && (i == 0 || !m_free[i - 1]);
    return runs;
  }

 private:
  uintptr_t m_begin;
  std::vector<bool> m_free;
};

TEST(VirtualRangeAllocator, RandomOperationsMatchAPageModel) {
  constexpr uintptr_t kBegin = 0x7f0000003000;  // Not aligned beyond 4 KiB.
  constexpr size_t kPages = 2048;
  CountingNodeSource nodes;
  auto ranges = *VirtualRangeAllocator::try_create(kBegin, kBegin + kPages * kPage, nodes);
  PageModel model(kBegin, kPages);
  std::vector<std::pair<uintptr_t, size_t>> allocations;  // addr, pages
  std::mt19937 random(2024);

  for (int step = 0; step < 20000; step++) {
    int operation = random() % 10;
    if (operation < 4) {
      size_t pages = 1 + random() % 16;
      size_t size = pages * kPage - random() % kPage;
      size_t align =
          std::vector<size_t>{0, 1, kPage, 2 * kPage, 8 * kPage, 64 * kPage}[random() % 6];
      auto expected = model.first_fit(pages, std::max(align, kPage));
      auto got = ranges.allocate(size, align);
      ASSERT_EQ(got.has_value(), expected.has_value()) << "step " << step;
      if (got) {
        ASSERT_EQ(*got, *expected) << "step " << step;
        model.set(*got, pages, false);
        allocations.emplace_back(*got, pages);
      } else {
        ASSERT_EQ(got.error(), Errno::enomem);
      }
    } else if (operation < 6) {
      size_t pages = 1 + random() % 8;
      uintptr_t addr = kBegin + (random() % kPages) * kPage;
      auto got = ranges.allocate_fixed(addr, pages * kPage);
      if (addr + pages * kPage > model.end()) {
        ASSERT_EQ(got.error(), Errno::einval);
      } else if (!model.is_free(addr, pages)) {
        ASSERT_EQ(got.error(), Errno::eexist);
      } else {
        ASSERT_TRUE(got) << "step " << step;
        model.set(addr, pages, false);
        allocations.emplace_back(addr, pages);
      }
    } else if (operation < 9 && !allocations.empty()) {
      // Free a random part of a random allocation; the rest stays allocated.
      size_t index = random() % allocations.size();
      auto [addr, pages] = allocations[index];
      size_t first = random() % pages;
      size_t count = 1 + random() % (pages - first);
      ASSERT_TRUE(ranges.free(addr + first * kPage, count * kPage)) << "step " << step;
      model.set(addr + first * kPage, count, true);
      allocations.erase(allocations.begin() + index);
      if (first > 0) allocations.emplace_back(addr, first);
      if (first + count < pages) {
        allocations.emplace_back(addr + (first + count) * kPage, pages - first - count);
      }
    } else {
      // A free that overlaps free space must be refused.
      uintptr_t addr = kBegin + (random() % kPages) * kPage;
      size_t pages = 1 + random() % 4;
      if (addr + pages * kPage <= model.end() && !model.is_free(addr, pages)) {
        bool any_free = false;
        for (size_t i = 0; i < pages; i++) any_free |= model.is_free(addr + i * kPage, 1);
        if (any_free) {
          ASSERT_EQ(ranges.free(addr, pages * kPage).error(), Errno::einval);
        }
      }
    }
    uintptr_t query = kBegin + (random() % kPages) * kPage;
    size_t query_pages = 1 + random() % 8;
    if (query + query_pages * kPage <= model.end()) {
      ASSERT_EQ(ranges.is_free(query, query_pages * kPage), model.is_free(query, query_pages));
    }
    ASSERT_EQ(ranges.free_bytes(), model.free_bytes()) << "step " << step;
    ASSERT_EQ(ranges.free_range_count(), model.runs()) << "step " << step;
    ASSERT_EQ(nodes.live, ranges.free_range_count());
  }

  for (auto [addr, pages] : allocations) ASSERT_TRUE(ranges.free(addr, pages * kPage));
  EXPECT_EQ(ranges.free_range_count(), 1u);
  EXPECT_EQ(ranges.free_bytes(), kPages * kPage);
}

// 50,000 one-page holes: first fit for two pages must not walk them one by one (a sorted list
// would make this test quadratic).
TEST(VirtualRangeAllocator, ManyFragmentsStayFast) {
  constexpr uintptr_t kBegin = 0x10000000;
  constexpr size_t kPages = 100000;
  CountingNodeSource nodes;
  auto ranges = *VirtualRangeAllocator::try_create(kBegin, kBegin + 2 * kPages * kPage, nodes);
  ASSERT_TRUE(ranges.allocate_fixed(kBegin, kPages * kPage));
  for (size_t i = 0; i < kPages; i += 2) ASSERT_TRUE(ranges.free(kBegin + i * kPage, kPage));
  EXPECT_EQ(ranges.free_range_count(), kPages / 2 + 1);
  for (size_t i = 0; i < 20000; i++) {
    ASSERT_EQ(*ranges.allocate(2 * kPage, 0), kBegin + (kPages + 2 * i) * kPage);
  }
  for (size_t i = 0; i < 20000; i++) {
    ASSERT_EQ(*ranges.allocate(kPage, 0), kBegin + 2 * i * kPage);
  }
}

TEST(VirtualRangeAllocator, MovesAndGivesEveryNodeBack) {
  CountingNodeSource nodes;
  {
    auto ranges = *VirtualRangeAllocator::try_create(0x100000, 0x200000, nodes);
    for (int i = 0; i < 10; i++) ASSERT_TRUE(ranges.allocate_fixed(0x100000 + i * 0x2000, kPage));
    EXPECT_EQ(nodes.live, 10u);
    VirtualRangeAllocator moved(std::move(ranges));
    EXPECT_EQ(moved.free_range_count(), 10u);
    auto other = *VirtualRangeAllocator::try_create(0x300000, 0x400000, nodes);
    other = std::move(moved);
    EXPECT_EQ(nodes.live, 10u);
    EXPECT_EQ(other.begin(), 0x100000u);
    EXPECT_FALSE(other.is_free(0x100000, kPage));
  }
  EXPECT_EQ(nodes.live, 0u);
}

}  // namespace
}  // namespace nimbus
