// PageTree: a sparse radix tree from page index to 4 KiB data page (a ramfs file's contents).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "kernel/fs/page_allocator.h"
#include "kernel/lib/result.h"

namespace nimbus::fs {

// Interior nodes are pages of 512 pointers, like x86 page tables; the tree grows taller only
// as far as the highest index needs, so a small file costs one node and a sparse file costs
// only the nodes on the paths to its pages. Not locked: its owner's lock covers it.
class PageTree {
 public:
  static constexpr unsigned kFanoutBits = 9;
  static constexpr size_t kFanout = size_t{1} << kFanoutBits;
  // Six levels cover 2^54 pages, more than any off_t can reach.
  static constexpr unsigned kMaxHeight = 6;
  static constexpr uint64_t kMaxIndex = (uint64_t{1} << (kFanoutBits * kMaxHeight)) - 1;

  explicit PageTree(PageAllocator& allocator) : m_allocator(allocator) {}
  ~PageTree();
  PageTree(const PageTree&) = delete;
  PageTree& operator=(const PageTree&) = delete;

  // The page at `index`, or nullptr.
  std::byte* find(uint64_t index) const;
  // The page at `index`, allocating it (uninitialized, `*created` set) when absent.
  // Errno::enomem when a page or node cannot be had.
  Result<std::byte*> find_or_insert(uint64_t index, bool* created);
  // Frees every page at `first` or above.
  void remove_from(uint64_t first);
  // Frees every page in [first, end) (a punched hole).
  void remove_range(uint64_t first, uint64_t end);
  // The lowest index at or above `from` that has a page.
  std::optional<uint64_t> next_present(uint64_t from) const;
  // Pages below index `limit`.
  uint64_t count_below(uint64_t limit) const;

  PageAllocator& allocator() const { return m_allocator; }
  uint64_t page_count() const { return m_pages; }
  uint64_t node_count() const { return m_nodes; }

 private:
  struct Node {
    void* slots[kFanout];
  };
  static_assert(sizeof(Node) == kPageSize);

  static uint64_t span_of_level(unsigned level) { return uint64_t{1} << (kFanoutBits * level); }
  uint64_t capacity() const { return m_height == 0 ? 0 : span_of_level(m_height); }
  Node* allocate_node();
  // Frees a subtree whose root sits at `level` (0: a data page).
  void free_subtree(void* entry, unsigned level);
  // Frees pages in [first, end) below `node` (covering indices from `base`); whether it is
  // empty now.
  bool prune(Node* node, unsigned level, uint64_t base, uint64_t first, uint64_t end);
  std::optional<uint64_t> search(const Node* node, unsigned level, uint64_t base, uint64_t from) const;
  uint64_t count(const Node* node, unsigned level, uint64_t base, uint64_t limit) const;

  PageAllocator& m_allocator;
  Node* m_root = nullptr;
  unsigned m_height = 0;  // levels of nodes: 1 means the root's slots are data pages
  uint64_t m_pages = 0;
  uint64_t m_nodes = 0;
};

}  // namespace nimbus::fs
