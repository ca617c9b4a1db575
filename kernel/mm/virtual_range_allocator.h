// VirtualRangeAllocator: hands out page-granular ranges of a fixed virtual address window.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus {

// The free ranges live in an AVL tree ordered by address; each node also records the largest
// free range in its subtree, so first fit skips subtrees that are too small. Costs, for n free
// ranges: allocate_fixed, free and is_free O(log n); allocate O(log n), plus the free ranges
// that are long enough for the size but fail the alignment, which first fit must step over.
//
// Pure logic without locking: the kernel wraps it in its own lock. It never calls a heap;
// tree nodes come from a NodeSource the kernel backs with whatever it likes.
class VirtualRangeAllocator {
 public:
  // One free range [begin, end). Public only so a NodeSource knows its size and alignment.
  struct Node {
    uintptr_t begin;
    uintptr_t end;
    Node* left = nullptr;
    Node* right = nullptr;
    uintptr_t max_size = 0;
    int height = 1;
  };

  class NodeSource {
   public:
    // Storage for one Node (sizeof(Node) bytes, alignof(Node) aligned); Errno::enomem if none.
    virtual Result<void*> allocate_node() = 0;
    virtual void free_node(void* node) = 0;

   protected:
    ~NodeSource() = default;
  };

  static constexpr uintptr_t kPageSize = 4096;

  // Manages [begin, end) shrunk inward to whole pages, all free at first. Errno::einval when
  // that is empty, Errno::enomem when the first node cannot be had.
  static Result<VirtualRangeAllocator> try_create(uintptr_t begin, uintptr_t end,
                                                  NodeSource& nodes);
  VirtualRangeAllocator(VirtualRangeAllocator&& other);
  VirtualRangeAllocator& operator=(VirtualRangeAllocator&& other);
  ~VirtualRangeAllocator();

  // The lowest free range of `size` bytes (rounded up to pages) aligned to `align` (a power
  // of two; anything below a page means a page). Errno::enomem when nothing fits or a node
  // is needed and unavailable, Errno::einval for size 0 or a bad alignment.
  Result<uintptr_t> allocate(size_t size, size_t align);
  // Takes exactly [addr, addr + size rounded up to pages). Errno::eexist when any of it is
  // already taken, Errno::einval when addr is not page aligned, size is 0 or the range leaves
  // the window, Errno::enomem when a node is needed and unavailable.
  Result<> allocate_fixed(uintptr_t addr, size_t size);
  // Gives back [addr, addr + size rounded up to pages), which may be part of an allocation;
  // neighbouring free ranges merge. Errno::einval (changing nothing) when any of it is already
  // free or outside the window or addr is unaligned, Errno::enomem when a node is needed
  // (neither neighbour is free) and unavailable.
  Result<> free(uintptr_t addr, size_t size);
  // Whether all of [addr, addr + size rounded up to pages) is free; false for size 0.
  bool is_free(uintptr_t addr, size_t size) const;

  uintptr_t begin() const { return m_begin; }
  uintptr_t end() const { return m_end; }
  uintptr_t free_bytes() const { return m_free_bytes; }
  size_t free_range_count() const { return m_range_count; }

 private:
  VirtualRangeAllocator(uintptr_t begin, uintptr_t end, NodeSource& nodes)
      : m_nodes(&nodes), m_begin(begin), m_end(end) {}

  // The range [addr, addr + size rounded up) when it is page aligned and inside the window.
  bool normalize(uintptr_t addr, size_t size, uintptr_t& range_end) const;
  // Adds a node for the free range [begin, end); free_bytes is the caller's to update.
  Result<> insert_node(uintptr_t begin, uintptr_t end);
  // Removes [begin, end) from the free range `node`, which contains it.
  Result<> carve(Node* node, uintptr_t begin, uintptr_t end);
  void release_tree(Node* node);

  NodeSource* m_nodes;
  Node* m_root = nullptr;
  uintptr_t m_begin;
  uintptr_t m_end;
  uintptr_t m_free_bytes = 0;
  size_t m_range_count = 0;
};

}  // namespace nimbus
