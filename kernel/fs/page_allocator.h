// PageAllocator: where ramfs gets the 4 KiB pages that hold file data and its page tree.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus::fs {

constexpr size_t kPageSize = 4096;

// The kernel's implementation is FramePageAllocator (frame_page_allocator.h); host tests use
// malloc. Pages come back uninitialized.
class PageAllocator {
 public:
  // A page-aligned page, or nullptr when memory is exhausted.
  virtual void* allocate_page() = 0;
  virtual void free_page(void* page) = 0;
  // How many more pages could be had, for statfs (an estimate).
  virtual uint64_t available_pages() const = 0;
  // One more owner of `page` (a private memory mapping, which maps it copy-on-write and gives
  // its share back when unmapped), as the physical address of its frame. ENODEV where pages
  // are not frames (host tests).
  virtual Result<uint64_t> share_with_mapping(void*) { return error(Errno::enodev); }

 protected:
  ~PageAllocator() = default;
};

}  // namespace nimbus::fs
