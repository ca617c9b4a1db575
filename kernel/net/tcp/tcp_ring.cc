// Byte rings and sequence range sets for TCP's buffers.
#include "kernel/net/tcp/tcp_ring.h"

#include <cstring>
#include <new>

#include "kernel/lib/ref_ptr.h"
#include "kernel/net/tcp/tcp_seq.h"

namespace nimbus::net::tcp {

ByteRing::~ByteRing() { delete[] m_data; }

namespace {

// The first allocation fits a small request or reply in a slab object; each growth then
// quadruples into what a large heap block of 16 KiB << 2k holds beside its 64-byte header (the
// heap rounds large blocks up to a power of two of pages: 106,496 bytes would take 128 KiB).
constexpr size_t kFirstAllocation = 4096;
constexpr size_t kLargeBlockHeader = 64;

size_t allocation_for(size_t needed, size_t allocated, size_t capacity) {
  size_t size = kFirstAllocation;
  if (allocated >= kFirstAllocation) size = ((allocated + kLargeBlockHeader) << 2) - kLargeBlockHeader;
  while (size < needed) size = ((size + kLargeBlockHeader) << 2) - kLargeBlockHeader;
  return size < capacity ? size : capacity;
}

}  // namespace

void ByteRing::set_capacity(size_t capacity) {
  if (capacity < m_size) capacity = m_size;
  m_capacity = capacity;
  // Shrinking below what is allocated (setsockopt after data has flowed) gives memory back;
  // growing waits until the bytes need the room.
  if (m_data && capacity < m_allocated) (void)relayout(capacity);
}

// Moves the bytes into a buffer of `size`, head first; everything from the head moves,
// out-of-order bytes past the readable end included.
Result<> ByteRing::relayout(size_t size) {
  std::byte* fresh = new (kNoThrow) std::byte[size ? size : 1];
  if (!fresh) return error(Errno::enomem);  // the old buffer stays
  if (m_data) {
    size_t keep = size < m_allocated ? size : m_allocated;
    size_t first = keep < m_allocated - m_head ? keep : m_allocated - m_head;
    memcpy(fresh, m_data + m_head, first);
    if (keep > first) memcpy(fresh + first, m_data, keep - first);
    delete[] m_data;
  }
  m_data = fresh;
  m_allocated = size;
  m_head = 0;
  return {};
}

// Allocated lazily and grown as bytes arrive: most connections (requests and replies of a few
// hundred bytes) never need more than the first 4 KiB, and a VM serving many of them would
// otherwise hold two whole buffers (2 x 104 KiB by default) for each.
Result<> ByteRing::ensure_room(size_t end) {
  if (end <= m_allocated) return {};
  return relayout(allocation_for(end, m_allocated, m_capacity));
}

Result<size_t> ByteRing::append(std::span<const std::byte> data) {
  size_t n = data.size() < free_space() ? data.size() : free_space();
  if (n == 0) return size_t{0};
  TRY(write_beyond(0, data.first(n)));
  m_size += n;
  return n;
}

Result<size_t> ByteRing::write_beyond(size_t offset, std::span<const std::byte> data) {
  if (offset >= free_space()) return size_t{0};
  size_t n = data.size() < free_space() - offset ? data.size() : free_space() - offset;
  if (n == 0) return size_t{0};
  TRY(ensure_room(m_size + offset + n));
  size_t position = (m_head + m_size + offset) % m_allocated;
  size_t first = n < m_allocated - position ? n : m_allocated - position;
  memcpy(m_data + position, data.data(), first);
  if (n > first) memcpy(m_data, data.data() + first, n - first);
  return n;
}

void ByteRing::commit(size_t n) { m_size += n < free_space() ? n : free_space(); }

void ByteRing::peek(size_t offset, std::span<std::byte> out) const {
  if (out.empty() || !m_data) return;
  size_t position = (m_head + offset) % m_allocated;
  size_t first = out.size() < m_allocated - position ? out.size() : m_allocated - position;
  memcpy(out.data(), m_data + position, first);
  if (out.size() > first) memcpy(out.data() + first, m_data, out.size() - first);
}

void ByteRing::consume(size_t n) {
  if (n > m_size) n = m_size;
  if (m_allocated) m_head = (m_head + n) % m_allocated;
  m_size -= n;
  // The head never jumps back on empty: out-of-order bytes may sit past the readable end.
}

bool RangeSet::add(uint32_t left, uint32_t right) {
  if (!seq_lt(left, right)) return true;
  // Find the first range that ends at or after `left`; merge everything overlapping.
  size_t i = 0;
  while (i < m_count && seq_lt(m_ranges[i].right, left)) i++;
  size_t j = i;
  while (j < m_count && seq_le(m_ranges[j].left, right)) {
    left = seq_min(left, m_ranges[j].left);
    right = seq_max(right, m_ranges[j].right);
    j++;
  }
  size_t merged = j - i;
  if (merged == 0) {
    if (m_count == kMaxRanges) return false;
    memmove(&m_ranges[i + 1], &m_ranges[i], (m_count - i) * sizeof(Range));
    m_count++;
  } else if (merged > 1) {
    memmove(&m_ranges[i + 1], &m_ranges[j], (m_count - j) * sizeof(Range));
    m_count -= merged - 1;
  }
  m_ranges[i] = {left, right};
  m_recent = i;
  return true;
}

void RangeSet::trim_below(uint32_t sequence) {
  size_t keep = 0;
  for (size_t i = 0; i < m_count; i++) {
    if (seq_le(m_ranges[i].right, sequence)) continue;
    Range r = m_ranges[i];
    if (seq_lt(r.left, sequence)) r.left = sequence;
    if (i == m_recent) m_recent = keep;
    m_ranges[keep++] = r;
  }
  m_count = keep;
  if (m_recent >= m_count) m_recent = 0;
}

bool RangeSet::contains(uint32_t sequence) const {
  for (size_t i = 0; i < m_count; i++)
    if (seq_in(sequence, m_ranges[i].left, m_ranges[i].right)) return true;
  return false;
}

uint32_t RangeSet::bytes_above(uint32_t sequence) const {
  uint32_t total = 0;
  for (size_t i = 0; i < m_count; i++) {
    uint32_t left = seq_max(m_ranges[i].left, sequence);
    if (seq_lt(left, m_ranges[i].right)) total += m_ranges[i].right - left;
  }
  return total;
}

}  // namespace nimbus::net::tcp
