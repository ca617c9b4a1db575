// BuddyAllocator: the physical frame allocator (power-of-two blocks of 4 KiB frames).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus {

// Free blocks are linked through their own first frame (reached via the direct map), and
// one bitmap per order marks which blocks are free list heads, so a free finds and unlinks
// its buddy in O(1). Metadata is about 2 bits per frame: 4 MiB covers a 64 GiB guest, and
// there is no per-frame struct to initialise at boot.
//
// Pure logic without locking: the kernel wraps it in its own lock.
class BuddyAllocator {
 public:
  static constexpr unsigned kFrameShift = 12;
  static constexpr uint64_t kFrameSize = uint64_t{1} << kFrameShift;
  // Orders 0..kMaxOrder are valid; the largest block is 2^10 frames = 4 MiB.
  static constexpr unsigned kMaxOrder = 10;
  static constexpr unsigned kOrderCount = kMaxOrder + 1;

  static constexpr uint64_t block_bytes(unsigned order) { return kFrameSize << order; }

  constexpr BuddyAllocator() = default;
  BuddyAllocator(const BuddyAllocator&) = delete;
  BuddyAllocator& operator=(const BuddyAllocator&) = delete;

  // Bytes of metadata needed to manage physical addresses [0, phys_end); 8-byte aligned.
  static size_t metadata_bytes(uint64_t phys_end);

  // Starts with no free memory. `metadata` holds metadata_bytes(phys_end) bytes (8-byte
  // aligned) that this zeroes and owns from now on. Physical address p is reached at virtual
  // address p + direct_map_offset (unsigned wrap-around is fine).
  void init(uint64_t phys_end, void* metadata, uintptr_t direct_map_offset);

  // The free lists hold physical addresses, so the kernel may move from a boot identity
  // mapping to the final direct map at any time (both must map the free frames).
  void set_direct_map_offset(uintptr_t direct_map_offset) {
    m_direct_map_offset = direct_map_offset;
  }

  // Hands [phys_begin, phys_end) over to the allocator, shrunk inward to whole frames and
  // clipped to the managed range. Costs O(blocks), not O(frames): the range is cut into the
  // largest naturally aligned blocks. Ranges must not overlap memory already handed over.
  void add_free_range(uint64_t phys_begin, uint64_t phys_end);

  // 2^order contiguous frames aligned to their size, not zeroed. Errno::enomem when no block
  // is large enough, Errno::einval for an order above kMaxOrder.
  Result<uint64_t> allocate(unsigned order);

  // Returns a block and merges it with its free buddies. Returns false, changing nothing,
  // when the call is detected as misuse: bad order, misaligned or out-of-range address, or a
  // block that lies inside a free block or starts with one (double frees). Not detected:
  // freeing memory never handed over by add_free_range, or one that was handed out again.
  [[nodiscard]] bool free(uint64_t phys, unsigned order);

  uint64_t free_bytes() const { return m_free_frames << kFrameShift; }
  // Everything handed over by add_free_range.
  uint64_t total_bytes() const { return m_total_frames << kFrameShift; }
  // Free blocks of one order (<= kMaxOrder), as in Linux's /proc/buddyinfo.
  size_t free_block_count(unsigned order) const { return m_free_count[order]; }
  uint64_t phys_end() const { return m_phys_end; }

 private:
  // Lives in the first bytes of every free block; the links are physical addresses.
  struct FreeBlock {
    uint64_t next;
    uint64_t prev;
  };
  static constexpr uint64_t kNone = ~uint64_t{0};

  FreeBlock* block_at(uint64_t phys) const {
    return reinterpret_cast<FreeBlock*>(static_cast<uintptr_t>(phys) + m_direct_map_offset);
  }
  bool is_free_head(unsigned order, uint64_t index) const {
    return (m_bitmap[order][index / 64] >> (index % 64)) & 1;
  }
  void set_free_head(unsigned order, uint64_t index) {
    m_bitmap[order][index / 64] |= uint64_t{1} << (index % 64);
  }
  void clear_free_head(unsigned order, uint64_t index) {
    m_bitmap[order][index / 64] &= ~(uint64_t{1} << (index % 64));
  }

  void push(uint64_t phys, unsigned order);
  void unlink(uint64_t phys, unsigned order);
  // Inserts a free block, first merging it with its buddies as far as they are free.
  void insert_and_merge(uint64_t phys, unsigned order);

  std::array<uint64_t*, kOrderCount> m_bitmap{};
  std::array<uint64_t, kOrderCount> m_bitmap_bits{};
  std::array<uint64_t, kOrderCount> m_head = [] {
    std::array<uint64_t, kOrderCount> heads{};
    heads.fill(kNone);
    return heads;
  }();
  std::array<size_t, kOrderCount> m_free_count{};
  uint64_t m_phys_end = 0;
  uint64_t m_free_frames = 0;
  uint64_t m_total_frames = 0;
  uintptr_t m_direct_map_offset = 0;
};

}  // namespace nimbus
