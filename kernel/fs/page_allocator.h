// PageAllocator: where ramfs gets the 4 KiB pages that hold file data and its page tree.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus::fs {

constexpr size_t kPageSize = 4096;

// The kernel's implementation is HeapPageAllocator (heap_page_allocator.h); host tests use
// malloc. Pages come back uninitialized.
class PageAllocator {
 public:
  // A page-aligned page, or nullptr when memory is exhausted.
  virtual void* allocate_page() = 0;
  virtual void free_page(void* page) = 0;
  // How many more pages could be had, for statfs (an estimate).
  virtual uint64_t available_pages() const = 0;

 protected:
  ~PageAllocator() = default;
};

}  // namespace nimbus::fs
