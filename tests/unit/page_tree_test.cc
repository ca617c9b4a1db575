// Tests for PageTree: growth, sparse indices, truncation, searches and allocation failure.
#include "kernel/fs/page_tree.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "tests/unit/fakes/fake_page_allocator.h"

namespace nimbus::fs {
namespace {

std::byte* insert(PageTree& tree, uint64_t index) {
  bool created = false;
  auto page = tree.find_or_insert(index, &created);
  EXPECT_TRUE(page) << index;
  EXPECT_TRUE(created) << index;
  if (!page) return nullptr;
  memset(*page, static_cast<int>(index & 0xff), kPageSize);
  return *page;
}

TEST(PageTree, EmptyTreeFindsNothing) {
  FakePageAllocator pages;
  PageTree tree(pages);
  EXPECT_EQ(tree.find(0), nullptr);
  EXPECT_EQ(tree.find(PageTree::kMaxIndex), nullptr);
  EXPECT_EQ(tree.next_present(0), std::nullopt);
  EXPECT_EQ(tree.count_below(UINT64_MAX), 0u);
  tree.remove_from(0);
  EXPECT_EQ(pages.outstanding(), 0u);
}

TEST(PageTree, InsertsFindsAndReusesPages) {
  FakePageAllocator pages;
  PageTree tree(pages);
  std::byte* page = insert(tree, 3);
  EXPECT_EQ(tree.find(3), page);
  bool created = true;
  auto again = tree.find_or_insert(3, &created);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, page);
  EXPECT_FALSE(created);
  EXPECT_EQ(tree.page_count(), 1u);
  EXPECT_EQ(tree.node_count(), 1u);
  EXPECT_EQ(tree.find(2), nullptr);
}

TEST(PageTree, GrowsTallerForFarIndicesAndKeepsOldPages) {
  FakePageAllocator pages;
  PageTree tree(pages);
  std::byte* low = insert(tree, 1);
  std::byte* mid = insert(tree, 600);          // height 2
  std::byte* high = insert(tree, 1ull << 40);  // height 5
  std::byte* top = insert(tree, PageTree::kMaxIndex);
  EXPECT_EQ(tree.find(1), low);
  EXPECT_EQ(tree.find(600), mid);
  EXPECT_EQ(tree.find(1ull << 40), high);
  EXPECT_EQ(tree.find(PageTree::kMaxIndex), top);
  EXPECT_EQ(tree.page_count(), 4u);
  bool created;
  EXPECT_EQ(tree.find_or_insert(PageTree::kMaxIndex + 1, &created).error(), Errno::efbig);
}

TEST(PageTree, StartsAtTheHeightTheFirstIndexNeeds) {
  FakePageAllocator pages;
  PageTree tree(pages);
  insert(tree, 1ull << 30);
  EXPECT_EQ(tree.node_count(), 4u);  // 512^4 > 2^30: four levels, one node each
  EXPECT_EQ(tree.next_present(0), 1ull << 30);
}

TEST(PageTree, RemoveFromFreesPagesAndEmptyNodes) {
  FakePageAllocator pages;
  PageTree tree(pages);
  for (uint64_t index : {0ull, 5ull, 511ull, 512ull, 1000ull, 300000ull}) insert(tree, index);
  tree.remove_from(512);
  EXPECT_EQ(tree.page_count(), 3u);
  EXPECT_NE(tree.find(511), nullptr);
  EXPECT_EQ(tree.find(512), nullptr);
  EXPECT_EQ(tree.find(300000), nullptr);
  EXPECT_EQ(tree.next_present(6), 511u);
  EXPECT_EQ(tree.next_present(512), std::nullopt);
  tree.remove_from(1);
  EXPECT_EQ(tree.page_count(), 1u);
  tree.remove_from(0);
  EXPECT_EQ(tree.page_count(), 0u);
  EXPECT_EQ(tree.node_count(), 0u);
  EXPECT_EQ(pages.outstanding(), 0u);
  insert(tree, 7);
  EXPECT_EQ(tree.page_count(), 1u);
}

TEST(PageTree, CountsAndSearches) {
  FakePageAllocator pages;
  PageTree tree(pages);
  std::set<uint64_t> indices = {2, 3, 700, 262144, 262145, 1ull << 33};
  for (uint64_t index : indices) insert(tree, index);
  for (uint64_t limit : {0ull, 2ull, 3ull, 4ull, 701ull, 262145ull, 1ull << 33, (1ull << 33) + 1}) {
    uint64_t expected = 0;
    for (uint64_t index : indices) expected += index < limit;
    EXPECT_EQ(tree.count_below(limit), expected) << limit;
  }
  for (uint64_t from : {0ull, 3ull, 4ull, 701ull, 262146ull}) {
    auto it = indices.lower_bound(from);
    EXPECT_EQ(tree.next_present(from), std::optional<uint64_t>(*it)) << from;
  }
  EXPECT_EQ(tree.next_present((1ull << 33) + 1), std::nullopt);
}

TEST(PageTree, FailedAllocationsLeaveATreeThatStillWorks) {
  FakePageAllocator pages(2);
  PageTree tree(pages);
  insert(tree, 0);
  bool created;
  // A far index needs a new root and more nodes than remain.
  EXPECT_EQ(tree.find_or_insert(1ull << 20, &created).error(), Errno::enomem);
  EXPECT_NE(tree.find(0), nullptr);
  pages.set_limit(UINT64_MAX);
  insert(tree, 1ull << 20);
  EXPECT_NE(tree.find(0), nullptr);
}

}  // namespace
}  // namespace nimbus::fs
