// BuddyAllocator: free lists threaded through free frames, per-order free-head bitmaps.
#include "kernel/mm/buddy_allocator.h"

#include <algorithm>
#include <bit>
#include <new>

namespace nimbus {

namespace {

// Blocks of 2^order frames needed to cover `frames` frames, i.e. bits in that order's bitmap.
uint64_t blocks_covering(uint64_t frames, unsigned order) {
  return (frames + (uint64_t{1} << order) - 1) >> order;
}

uint64_t bitmap_words(uint64_t bits) {
  return (bits + 63) / 64;
}

}  // namespace

size_t BuddyAllocator::metadata_bytes(uint64_t phys_end) {
  uint64_t frames = phys_end >> kFrameShift;
  uint64_t words = 0;
  for (unsigned order = 0; order <= kMaxOrder; order++) {
    words += bitmap_words(blocks_covering(frames, order));
  }
  return words * sizeof(uint64_t);
}

void BuddyAllocator::init(uint64_t phys_end, void* metadata, uintptr_t direct_map_offset) {
  uint64_t frames = phys_end >> kFrameShift;
  m_phys_end = frames << kFrameShift;
  m_direct_map_offset = direct_map_offset;
  m_free_frames = 0;
  m_total_frames = 0;
  __builtin_memset(metadata, 0, metadata_bytes(phys_end));
  auto* words = static_cast<uint64_t*>(metadata);
  for (unsigned order = 0; order <= kMaxOrder; order++) {
    m_bitmap[order] = words;
    m_bitmap_bits[order] = blocks_covering(frames, order);
    words += bitmap_words(m_bitmap_bits[order]);
    m_head[order] = kNone;
    m_free_count[order] = 0;
  }
}

void BuddyAllocator::add_free_range(uint64_t phys_begin, uint64_t phys_end) {
  uint64_t end = std::min(phys_end, m_phys_end) & ~(kFrameSize - 1);
  // Also keeps the round-up below from overflowing: end is at most 2^64 - kFrameSize.
  if (phys_begin >= end) return;
  uint64_t begin = (phys_begin + kFrameSize - 1) & ~(kFrameSize - 1);
  while (begin < end) {
    uint64_t frame = begin >> kFrameShift;
    unsigned order = kMaxOrder;
    // The largest block that starts here naturally aligned and still fits before `end`.
    if (frame != 0) order = std::min<unsigned>(order, std::countr_zero(frame));
    order = std::min<unsigned>(order, std::bit_width((end - begin) >> kFrameShift) - 1);
    m_total_frames += uint64_t{1} << order;
    m_free_frames += uint64_t{1} << order;
    // Merging matters when the kernel hands over neighbouring ranges one at a time.
    insert_and_merge(begin, order);
    begin += block_bytes(order);
  }
}

Result<uint64_t> BuddyAllocator::allocate(unsigned order) {
  if (order > kMaxOrder) return error(Errno::einval);
  unsigned found = order;
  while (found <= kMaxOrder && m_head[found] == kNone) found++;
  if (found > kMaxOrder) return error(Errno::enomem);
  uint64_t phys = m_head[found];
  unlink(phys, found);
  // Keep the lower half, give the upper halves back one order at a time.
  while (found > order) {
    found--;
    push(phys + block_bytes(found), found);
  }
  m_free_frames -= uint64_t{1} << order;
  return phys;
}

bool BuddyAllocator::free(uint64_t phys, unsigned order) {
  if (order > kMaxOrder) return false;
  uint64_t size = block_bytes(order);
  if ((phys & (size - 1)) != 0) return false;
  if (phys >= m_phys_end || m_phys_end - phys < size) return false;
  // Below `order` this looks at the free blocks that would start at `phys`, from `order` up
  // at the free blocks that would contain it: either means the block is already (partly) free.
  for (unsigned k = 0; k <= kMaxOrder; k++) {
    if (is_free_head(k, phys >> (kFrameShift + k))) return false;
  }
  m_free_frames += uint64_t{1} << order;
  insert_and_merge(phys, order);
  return true;
}

void BuddyAllocator::push(uint64_t phys, unsigned order) {
  uint64_t head = m_head[order];
  new (block_at(phys)) FreeBlock{head, kNone};
  if (head != kNone) block_at(head)->prev = phys;
  m_head[order] = phys;
  set_free_head(order, phys >> (kFrameShift + order));
  m_free_count[order]++;
}

void BuddyAllocator::unlink(uint64_t phys, unsigned order) {
  FreeBlock* block = block_at(phys);
  if (block->prev != kNone) {
    block_at(block->prev)->next = block->next;
  } else {
    m_head[order] = block->next;
  }
  if (block->next != kNone) block_at(block->next)->prev = block->prev;
  clear_free_head(order, phys >> (kFrameShift + order));
  m_free_count[order]--;
}

void BuddyAllocator::insert_and_merge(uint64_t phys, unsigned order) {
  while (order < kMaxOrder) {
    uint64_t buddy = phys ^ block_bytes(order);
    uint64_t index = buddy >> (kFrameShift + order);
    if (index >= m_bitmap_bits[order] || !is_free_head(order, index)) break;
    unlink(buddy, order);
    phys &= ~block_bytes(order);
    order++;
  }
  push(phys, order);
}

}  // namespace nimbus
