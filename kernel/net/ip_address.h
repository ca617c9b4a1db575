// IPv4 and IPv6 addresses, and an endpoint (address + port) that transport protocols key
// their connections by, for either family.
#pragma once

#include <array>
#include <cstdint>

namespace nimbus::net {

// An IPv4 address in host byte order (10.0.2.15 is 0x0a00020f).
struct Ipv4Address {
  uint32_t value = 0;
  static constexpr Ipv4Address from_octets(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return {(uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d};
  }
  constexpr bool is_any() const { return value == 0; }
  constexpr bool is_broadcast() const { return value == 0xffffffff; }
  constexpr bool is_loopback() const { return (value >> 24) == 127; }
  constexpr bool is_multicast() const { return (value >> 28) == 0xe; }
  constexpr bool operator==(const Ipv4Address&) const = default;
};

// The host-order netmask of a prefix length (24 -> 0xffffff00).
constexpr uint32_t ipv4_netmask(uint8_t prefix_length) {
  return prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
}

// IPv4 is held as an IPv4-mapped IPv6 address (::ffff:a.b.c.d), so one type serves both
// families and a dual-stack socket compares addresses without conversions.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};

  static constexpr IpAddress from_ipv4(Ipv4Address address) {
    IpAddress result;
    result.bytes[10] = 0xff;
    result.bytes[11] = 0xff;
    result.bytes[12] = static_cast<uint8_t>(address.value >> 24);
    result.bytes[13] = static_cast<uint8_t>(address.value >> 16);
    result.bytes[14] = static_cast<uint8_t>(address.value >> 8);
    result.bytes[15] = static_cast<uint8_t>(address.value);
    return result;
  }
  constexpr bool is_ipv4() const {
    for (int i = 0; i < 10; i++)
      if (bytes[i]) return false;
    return bytes[10] == 0xff && bytes[11] == 0xff;
  }
  constexpr Ipv4Address ipv4() const {
    return {(uint32_t{bytes[12]} << 24) | (uint32_t{bytes[13]} << 16) | (uint32_t{bytes[14]} << 8) | bytes[15]};
  }
  // The unspecified address of either family (:: or 0.0.0.0).
  constexpr bool is_any() const {
    if (is_ipv4()) return ipv4().is_any();
    for (uint8_t b : bytes)
      if (b) return false;
    return true;
  }
  // IPv6 (RFC 4291 2.4): ::1, fe80::/10, ff00::/8.
  static constexpr IpAddress ipv6_loopback() {
    IpAddress result;
    result.bytes[15] = 1;
    return result;
  }
  constexpr bool is_ipv6_loopback() const { return *this == ipv6_loopback(); }
  constexpr bool is_link_local() const { return bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80; }
  constexpr bool is_ipv6_multicast() const { return bytes[0] == 0xff; }
  // Either family's loopback (127/8 or ::1).
  constexpr bool is_loopback() const { return is_ipv4() ? ipv4().is_loopback() : is_ipv6_loopback(); }
  // Whether the first `prefix_length` bits equal `prefix`'s.
  constexpr bool matches_prefix(const IpAddress& prefix, uint8_t prefix_length) const {
    for (int bit = 0; bit < prefix_length && bit < 128; bit += 8) {
      int remaining = prefix_length - bit;
      uint8_t mask = remaining >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - remaining));
      if ((bytes[bit / 8] ^ prefix.bytes[bit / 8]) & mask) return false;
    }
    return true;
  }
  constexpr bool operator==(const IpAddress&) const = default;
};

struct Endpoint {
  IpAddress address;
  uint16_t port = 0;  // host byte order
  constexpr bool operator==(const Endpoint&) const = default;
};

}  // namespace nimbus::net
