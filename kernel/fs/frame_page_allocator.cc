// FramePageAllocator: ramfs pages as frames with shared ownership (frame_refs).
#include "kernel/fs/frame_page_allocator.h"

#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/frame_references.h"
#include "kernel/mm/physical.h"

namespace nimbus::fs {

void* FramePageAllocator::allocate_page() {
  auto phys = frames::allocate(0);
  if (!phys) return nullptr;
  return phys_to_virt(*phys);
}

void FramePageAllocator::free_page(void* page) { frame_refs::release(virt_to_phys(page)); }

Result<uint64_t> FramePageAllocator::share_with_mapping(void* page) {
  TRY(frame_refs::init());
  uint64_t phys = virt_to_phys(page);
  frame_refs::share(phys);
  return phys;
}

uint64_t FramePageAllocator::available_pages() const { return frames::free_bytes() / kPageSize; }

}  // namespace nimbus::fs
