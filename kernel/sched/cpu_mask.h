// CpuMask: a set of CPU indexes, as sched_setaffinity takes it (pure logic, host-testable).
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus {

class CpuMask {
 public:
  static constexpr size_t kBits = 256;  // cpus::kMax
  static constexpr size_t kWords = kBits / 64;

  static constexpr CpuMask all() {
    CpuMask mask;
    for (uint64_t& word : mask.m_words) word = ~uint64_t{0};
    return mask;
  }
  static constexpr CpuMask only(size_t index) {
    CpuMask mask;
    mask.add(index);
    return mask;
  }

  constexpr void add(size_t index) {
    if (index < kBits) m_words[index / 64] |= uint64_t{1} << (index % 64);
  }
  constexpr bool has(size_t index) const {
    return index < kBits && (m_words[index / 64] >> (index % 64)) & 1;
  }
  // The lowest index below `limit` in the set, or `limit` if there is none.
  constexpr size_t first_below(size_t limit) const {
    for (size_t i = 0; i < limit && i < kBits; i++)
      if (has(i)) return i;
    return limit;
  }
  uint64_t* words() { return m_words; }
  const uint64_t* words() const { return m_words; }

 private:
  uint64_t m_words[kWords] = {};
};

}  // namespace nimbus
