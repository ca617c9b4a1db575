// TCP sequence-number arithmetic: 32-bit values compared modulo 2^32 (RFC 9293 3.4).
#pragma once

#include <cstdint>

namespace nimbus::net::tcp {

// a < b in sequence space: b is less than 2^31 ahead of a.
constexpr bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
constexpr bool seq_le(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) <= 0; }
constexpr bool seq_gt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }
constexpr bool seq_ge(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }
// low <= x < high.
constexpr bool seq_in(uint32_t x, uint32_t low, uint32_t high) { return seq_le(low, x) && seq_lt(x, high); }
constexpr uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }
constexpr uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }

}  // namespace nimbus::net::tcp
