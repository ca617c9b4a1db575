// Byte-order helpers and the Internet checksum (RFC 1071): one's complement sums, the IPv4
// and IPv6 pseudo-header sums transports start from, and incremental update (RFC 1624).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/net/ip_address.h"

namespace nimbus::net {

inline uint16_t load_be16(const std::byte* p) {
  return static_cast<uint16_t>((uint16_t(p[0]) << 8) | uint16_t(p[1]));
}
inline uint32_t load_be32(const std::byte* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
inline void store_be16(std::byte* p, uint16_t v) {
  p[0] = std::byte(v >> 8);
  p[1] = std::byte(v);
}
inline void store_be32(std::byte* p, uint32_t v) {
  p[0] = std::byte(v >> 24);
  p[1] = std::byte(v >> 16);
  p[2] = std::byte(v >> 8);
  p[3] = std::byte(v);
}

// A partial one's complement sum, always folded to 16 bits, so partial sums chain:
// checksum_add(checksum_add(0, a), b) is the sum of a then b, provided `a` has an even
// length (an odd piece is padded with a zero byte, as RFC 1071 pads the last one).
uint32_t checksum_add(uint32_t sum, std::span<const std::byte> bytes);
// Adds one 16-bit value (host order) to a partial sum.
uint32_t checksum_add16(uint32_t sum, uint16_t value);
// The 16 bits a header carries: the complement of the folded sum.
inline uint16_t checksum_finish(uint32_t sum) { return static_cast<uint16_t>(~sum & 0xffff); }
// The checksum of `bytes` alone (an IPv4 header, ICMP): 0 in the result means "valid"
// when the bytes include their own checksum field.
inline uint16_t internet_checksum(std::span<const std::byte> bytes) { return checksum_finish(checksum_add(0, bytes)); }

// RFC 768 / RFC 9293 3.1: the IPv4 pseudo-header (source, destination, zero, protocol,
// transport length).
uint32_t pseudo_header_sum_ipv4(Ipv4Address source, Ipv4Address destination, uint8_t protocol, uint32_t length);
// RFC 8200 8.1: the IPv6 pseudo-header (source, destination, 32-bit length, next header).
uint32_t pseudo_header_sum_ipv6(const IpAddress& source, const IpAddress& destination, uint8_t next_header,
                                uint32_t length);
// Either of the above by the addresses' family (IPv4-mapped: IPv4).
uint32_t pseudo_header_sum(const IpAddress& source, const IpAddress& destination, uint8_t protocol, uint32_t length);

// RFC 1624 eqn. 3: the checksum after one 16-bit field of the covered data changed from
// `old_value` to `new_value` (HC' = ~(~HC + ~m + m')), without summing everything again.
uint16_t checksum_update16(uint16_t checksum, uint16_t old_value, uint16_t new_value);
// The same for a 32-bit field (an address).
uint16_t checksum_update32(uint16_t checksum, uint32_t old_value, uint32_t new_value);

}  // namespace nimbus::net
