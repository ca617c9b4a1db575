// Byte rings and sequence range sets for TCP's buffers.
#include "kernel/net/tcp/tcp_ring.h"

#include <cstring>
#include <new>

#include "kernel/lib/ref_ptr.h"
#include "kernel/net/tcp/tcp_seq.h"

namespace nimbus::net::tcp {

ByteRing::~ByteRing() { delete[] m_data; }

void ByteRing::set_capacity(size_t capacity) {
  if (capacity < m_size) capacity = m_size;
  if (m_data && capacity != m_allocated) {
    // Re-layout into a buffer of the new size (setsockopt after data has flowed).
    std::byte* fresh = new (kNoThrow) std::byte[capacity ? capacity : 1];
    if (!fresh) return;  // keep the old buffer and size
    peek(0, {fresh, m_size});
    delete[] m_data;
    m_data = fresh;
    m_allocated = capacity;
    m_head = 0;
  }
  m_capacity = capacity;
}

Result<> ByteRing::ensure_allocated() {
  if (m_data) return {};
  m_data = new (kNoThrow) std::byte[m_capacity ? m_capacity : 1];
  if (!m_data) return error(Errno::enomem);
  m_allocated = m_capacity;
  return {};
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
  TRY(ensure_allocated());
  size_t position = (m_head + m_size + offset) % m_capacity;
  size_t first = n < m_capacity - position ? n : m_capacity - position;
  memcpy(m_data + position, data.data(), first);
  if (n > first) memcpy(m_data, data.data() + first, n - first);
  return n;
}

void ByteRing::commit(size_t n) { m_size += n < free_space() ? n : free_space(); }

void ByteRing::peek(size_t offset, std::span<std::byte> out) const {
  if (out.empty() || !m_data) return;
  size_t position = (m_head + offset) % m_capacity;
  size_t first = out.size() < m_capacity - position ? out.size() : m_capacity - position;
  memcpy(out.data(), m_data + position, first);
  if (out.size() > first) memcpy(out.data() + first, m_data, out.size() - first);
}

void ByteRing::consume(size_t n) {
  if (n > m_size) n = m_size;
  if (m_capacity) m_head = (m_head + n) % m_capacity;
  m_size -= n;
  if (m_size == 0) m_head = 0;
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
