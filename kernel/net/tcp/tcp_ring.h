// ByteRing: a connection's send or receive buffer, a circular byte array allocated on first
// use and grown (up to its capacity) as the bytes held need it. The receive side also writes out-of-order bytes past the readable end, at their
// offset in the window, and tracks which ranges are present (RangeSet) until the gap fills.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/lib/result.h"

namespace nimbus::net::tcp {

class ByteRing {
 public:
  ByteRing() = default;
  ~ByteRing();
  ByteRing(const ByteRing&) = delete;
  ByteRing& operator=(const ByteRing&) = delete;

  // The capacity the buffer will have; may shrink only down to the bytes held.
  void set_capacity(size_t capacity);
  size_t capacity() const { return m_capacity; }
  size_t size() const { return m_size; }
  size_t free_space() const { return m_capacity - m_size; }
  bool allocated() const { return m_data != nullptr; }

  // Appends up to `data.size()` bytes (ENOMEM if the buffer cannot be allocated); returns
  // how many fit.
  Result<size_t> append(std::span<const std::byte> data);
  // Writes `data` at `offset` bytes past the readable end without making it readable (an
  // out-of-order segment); bytes beyond the capacity are dropped. Returns how many stored.
  Result<size_t> write_beyond(size_t offset, std::span<const std::byte> data);
  // Makes `n` bytes written by write_beyond (at offset 0 onward) readable.
  void commit(size_t n);
  // Copies bytes [offset, offset + out.size()) of the readable data without consuming.
  void peek(size_t offset, std::span<std::byte> out) const;
  // Drops `n` bytes from the front.
  void consume(size_t n);

 private:
  Result<> relayout(size_t size);
  Result<> ensure_room(size_t end);
  std::byte* m_data = nullptr;
  size_t m_allocated = 0;
  size_t m_capacity = 0;
  size_t m_head = 0;
  size_t m_size = 0;
};

// A bounded set of disjoint sequence ranges [left, right), kept sorted: the receiver's
// out-of-order data (RFC 2018 blocks) and the sender's SACK scoreboard (RFC 6675).
class RangeSet {
 public:
  static constexpr size_t kMaxRanges = 32;
  struct Range {
    uint32_t left;
    uint32_t right;
  };
  // Adds [left, right), merging neighbours; false (nothing added) when full.
  bool add(uint32_t left, uint32_t right);
  // Forgets everything below `sequence`.
  void trim_below(uint32_t sequence);
  void clear() { m_count = 0; }
  size_t count() const { return m_count; }
  const Range& operator[](size_t i) const { return m_ranges[i]; }
  bool contains(uint32_t sequence) const;
  // Bytes covered at or above `sequence`.
  uint32_t bytes_above(uint32_t sequence) const;
  // The most recently added or extended range (for the first SACK block, RFC 2018 4).
  size_t most_recent() const { return m_recent; }

 private:
  Range m_ranges[kMaxRanges];
  size_t m_count = 0;
  size_t m_recent = 0;
};

}  // namespace nimbus::net::tcp
