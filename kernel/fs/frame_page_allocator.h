// FramePageAllocator: ramfs pages are whole frames of the frame allocator (kernel only), so
// that a private file mapping can map a file's page itself, copy-on-write, and own a share
// of it (frame_refs) that outlives the file's: exec maps a program's text from its ramfs
// pages instead of copying them, and every process running it shares those frames.
#pragma once

#include "kernel/fs/page_allocator.h"

namespace nimbus::fs {

class FramePageAllocator final : public PageAllocator {
 public:
  void* allocate_page() override;
  // Drops the file's share of the frame: a private mapping may still hold one.
  void free_page(void* page) override;
  uint64_t available_pages() const override;
  Result<uint64_t> share_with_mapping(void* page) override;
};

}  // namespace nimbus::fs
