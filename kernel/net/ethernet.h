// Ethernet II framing (IEEE 802.3 with an EtherType): parsing and building the 14-byte
// header, and which destination addresses this host accepts.
#pragma once

#include <cstdint>

#include "kernel/net/net_device.h"
#include "kernel/net/packet.h"

namespace nimbus::net {

constexpr size_t kEthernetHeaderSize = 14;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr MacAddress kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

struct EthernetHeader {
  MacAddress destination;
  MacAddress source;
  uint16_t type = 0;
};

// Reads the header at packet->data() and pulls it (false: shorter than a header).
bool ethernet_pull(Packet& packet, EthernetHeader& header);
// Pushes a header in front of the data (false: no headroom).
bool ethernet_push(Packet& packet, const MacAddress& destination, const MacAddress& source, uint16_t type);
// Frames to us, to the broadcast address or to a multicast group (the group bit: IPv6
// neighbour discovery and IPv4 multicast need them; the protocols filter further).
bool ethernet_accepts(const MacAddress& destination, const MacAddress& ours);
// RFC 1112 6.4: the Ethernet group address for an IPv4 multicast address.
MacAddress ipv4_multicast_mac(uint32_t group);

}  // namespace nimbus::net
