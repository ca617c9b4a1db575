// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
#include "kernel/net/checksum.h"

namespace nimbus::net {

namespace {
uint32_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint32_t>(sum);
}
}  // namespace

// RFC 1071 4.1: sum 16-bit big-endian words into a wide accumulator and fold the carries
// back in at the end (end-around carry); an odd last byte is the high byte of a final word.
uint32_t checksum_add(uint32_t sum, std::span<const std::byte> bytes) {
  uint64_t total = sum;
  const std::byte* p = bytes.data();
  size_t n = bytes.size();
  while (n >= 8) {
    total += load_be32(p);
    total += load_be32(p + 4);
    p += 8;
    n -= 8;
  }
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
