// HeapPageAllocator: ramfs pages from the kernel heap (kernel only).
#pragma once

#include "kernel/fs/page_allocator.h"

namespace nimbus::fs {

class HeapPageAllocator final : public PageAllocator {
 public:
  void* allocate_page() override;
  void free_page(void* page) override;
  uint64_t available_pages() const override;
};

}  // namespace nimbus::fs
