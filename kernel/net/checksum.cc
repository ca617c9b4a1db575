// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
#include "kernel/net/checksum.h"

#include <cstring>

namespace nimbus::net {

namespace {
uint32_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint32_t>(sum);
}
}  // namespace

// RFC 1071 4.1: sum 16-bit big-endian words into a wide accumulator and fold the carries
// back in at the end (end-around carry); an odd last byte is the high byte of a final word.
// The bulk is summed as native (little-endian) 32-bit words, eight bytes a step: RFC 1071
// 2(B) makes the one's complement sum independent of byte order up to one final swap, and
// under TCG every guest instruction saved here is saved for every byte sent or received.
uint32_t checksum_add(uint32_t sum, std::span<const std::byte> bytes) {
  const std::byte* p = bytes.data();
  size_t n = bytes.size();
  uint64_t native = 0;
  while (n >= 32) {
    uint64_t a, b, c, d;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    memcpy(&c, p + 16, 8);
    memcpy(&d, p + 24, 8);
    native += (a & 0xffffffff) + (a >> 32) + (b & 0xffffffff) + (b >> 32);
    native += (c & 0xffffffff) + (c >> 32) + (d & 0xffffffff) + (d >> 32);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t a;
    memcpy(&a, p, 8);
    native += (a & 0xffffffff) + (a >> 32);
    p += 8;
    n -= 8;
  }
  uint32_t folded = fold(native);
  // Swapping the bytes of the folded little-endian sum gives the big-endian one.
  uint64_t total = uint64_t(sum) + static_cast<uint16_t>((folded >> 8) | (folded << 8));
  while (n >= 2) {
    total += load_be16(p);
    p += 2;
    n -= 2;
  }
  if (n) total += uint32_t(p[0]) << 8;
  return fold(total);
}

uint32_t checksum_add16(uint32_t sum, uint16_t value) { return fold(uint64_t(sum) + value); }

uint32_t pseudo_header_sum_ipv4(Ipv4Address source, Ipv4Address destination, uint8_t protocol, uint32_t length) {
  uint64_t total = (source.value >> 16) + (source.value & 0xffff) + (destination.value >> 16) +
                   (destination.value & 0xffff) + protocol + (length >> 16) + (length & 0xffff);
  return fold(total);
}

uint32_t pseudo_header_sum_ipv6(const IpAddress& source, const IpAddress& destination, uint8_t next_header,
                                uint32_t length) {
  uint32_t sum = checksum_add(0, std::as_bytes(std::span(source.bytes)));
  sum = checksum_add(sum, std::as_bytes(std::span(destination.bytes)));
  return fold(uint64_t(sum) + (length >> 16) + (length & 0xffff) + next_header);
}

uint32_t pseudo_header_sum(const IpAddress& source, const IpAddress& destination, uint8_t protocol, uint32_t length) {
  if (source.is_ipv4() && destination.is_ipv4())
    return pseudo_header_sum_ipv4(source.ipv4(), destination.ipv4(), protocol, length);
  return pseudo_header_sum_ipv6(source, destination, protocol, length);
}

uint16_t checksum_update16(uint16_t checksum, uint16_t old_value, uint16_t new_value) {
  uint64_t total = uint16_t(~checksum) + uint16_t(~old_value) + uint64_t(new_value);
  return static_cast<uint16_t>(~fold(total) & 0xffff);
}

uint16_t checksum_update32(uint16_t checksum, uint32_t old_value, uint32_t new_value) {
  checksum = checksum_update16(checksum, uint16_t(old_value >> 16), uint16_t(new_value >> 16));
  return checksum_update16(checksum, uint16_t(old_value), uint16_t(new_value));
}

}  // namespace nimbus::net
