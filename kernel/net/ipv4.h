// IPv4 (RFC 791): the header, its validation, and the stack's input and output paths
// (local delivery by protocol, routing, source selection, fragmentation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/net/ip_address.h"
#include "kernel/net/packet.h"

namespace nimbus::net {

constexpr size_t kIpv4HeaderSize = 20;
constexpr size_t kIpv4MaxDatagram = 65535;
constexpr uint8_t kIpProtocolIcmp = 1;
constexpr uint8_t kIpProtocolTcp = 6;
constexpr uint8_t kIpProtocolUdp = 17;

struct Ipv4Header {
  uint8_t header_length = kIpv4HeaderSize;  // bytes (IHL * 4)
  uint8_t tos = 0;
  uint16_t total_length = 0;
  uint16_t id = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;  // bytes
  uint8_t ttl = 0;
  uint8_t protocol = 0;
  Ipv4Address source;
  Ipv4Address destination;

  bool is_fragment() const { return more_fragments || fragment_offset != 0; }
};

enum class Ipv4ParseResult : uint8_t { ok, truncated, bad_version, bad_header_length, bad_total_length, bad_checksum };

// RFC 791 3.1 and RFC 1122 3.2.1: checks the version, the header length (>= 5 words and
// within the bytes), the total length (>= the header, <= the bytes: link padding may
// follow) and, unless `verify_checksum` is false, the header checksum.
Ipv4ParseResult ipv4_parse(std::span<const std::byte> bytes, Ipv4Header& header, bool verify_checksum);
// Writes a 20-byte header (no options) with its checksum at `p`.
void ipv4_write_header(std::byte* p, const Ipv4Header& header);
// The transport asked the device to fill its checksum but this path cannot (a device
// without offload, or a datagram about to be fragmented): does it here, as the device would
// (the field already holds the pseudo-header sum). IPv4's and IPv6's output both use it.
void finish_checksum_in_software(Packet& packet, size_t transport_start, uint8_t protocol);

}  // namespace nimbus::net
