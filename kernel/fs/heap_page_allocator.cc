// HeapPageAllocator: 4 KiB-aligned heap blocks (the slab's largest size class).
#include "kernel/fs/heap_page_allocator.h"

#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/heap.h"

namespace nimbus::fs {

void* HeapPageAllocator::allocate_page() { return heap::allocate(kPageSize, kPageSize); }

void HeapPageAllocator::free_page(void* page) { heap::free(page); }

uint64_t HeapPageAllocator::available_pages() const { return frames::free_bytes() / kPageSize; }

}  // namespace nimbus::fs
