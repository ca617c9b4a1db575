// IPv6 (RFC 8200): the fixed header, its validation, and the extension headers this host
// understands (hop-by-hop and destination options, routing, fragment).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/net/ip_address.h"

namespace nimbus::net {

constexpr size_t kIpv6HeaderSize = 40;
constexpr size_t kIpv6MinimumMtu = 1280;  // RFC 8200 5
constexpr uint8_t kIpv6DefaultHopLimit = 64;

// Next Header values (IANA "Assigned Internet Protocol Numbers").
constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6Icmp = 58;
constexpr uint8_t kIpv6NoNextHeader = 59;
constexpr uint8_t kIpv6DestinationOptions = 60;
constexpr size_t kIpv6FragmentHeaderSize = 8;

struct Ipv6Header {
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;
  uint16_t payload_length = 0;
  uint8_t next_header = 0;
  uint8_t hop_limit = 0;
  IpAddress source;
  IpAddress destination;
};

enum class Ipv6ParseResult : uint8_t { ok, truncated, bad_version, bad_payload_length };

// RFC 8200 3: checks the version and that the payload length fits the bytes (link padding
// may follow). A payload length of 0 (a jumbogram, RFC 2675) is refused as bad: this host
// has no link that carries one.
Ipv6ParseResult ipv6_parse(std::span<const std::byte> bytes, Ipv6Header& header);
void ipv6_write_header(std::byte* p, const Ipv6Header& header);

// An address of the form ::ffff:a.b.c.d read from 16 network-order bytes, or a native one.
IpAddress ipv6_address_from_bytes(const std::byte* p);

// RFC 4291 2.7.1: the solicited-node multicast group of `address` (ff02::1:ffXX:XXXX).
IpAddress ipv6_solicited_node(const IpAddress& address);
// ff02::1 (all nodes) and ff02::2 (all routers).
IpAddress ipv6_all_nodes();
IpAddress ipv6_all_routers();
// RFC 4291 2.5.1 / RFC 2464 4: the modified EUI-64 interface identifier of a MAC address
// after a /64 prefix (fe80:: for the link-local address).
IpAddress ipv6_address_from_mac(const IpAddress& prefix, const uint8_t mac[6]);
// RFC 2464 7: the Ethernet group address of an IPv6 multicast address (33:33 + low 32 bits).
void ipv6_multicast_mac(const IpAddress& group, uint8_t mac[6]);

}  // namespace nimbus::net
