// Tree nodes for a VirtualRangeAllocator, from the kernel heap.
#pragma once

#include "kernel/mm/heap.h"
#include "kernel/mm/virtual_range_allocator.h"

namespace nimbus {

class HeapNodeSource final : public VirtualRangeAllocator::NodeSource {
 public:
  Result<void*> allocate_node() override {
    void* node = heap::allocate(sizeof(VirtualRangeAllocator::Node), alignof(VirtualRangeAllocator::Node));
    if (!node) return error(Errno::enomem);
    return node;
  }
  void free_node(void* node) override { heap::free(node); }
};

}  // namespace nimbus
