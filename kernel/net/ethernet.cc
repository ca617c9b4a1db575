// Ethernet II header parsing and building.
#include "kernel/net/ethernet.h"

#include <cstring>

#include "kernel/net/checksum.h"

namespace nimbus::net {

bool ethernet_pull(Packet& packet, EthernetHeader& header) {
  if (packet.length() < kEthernetHeaderSize) return false;
  const std::byte* p = packet.data();
  std::memcpy(header.destination.data(), p, 6);
  std::memcpy(header.source.data(), p + 6, 6);
  header.type = load_be16(p + 12);
  packet.pull(kEthernetHeaderSize);
  return true;
}

bool ethernet_push(Packet& packet, const MacAddress& destination, const MacAddress& source, uint16_t type) {
  std::byte* p = packet.push(kEthernetHeaderSize);
  if (!p) return false;
  std::memcpy(p, destination.data(), 6);
  std::memcpy(p + 6, source.data(), 6);
  store_be16(p + 12, type);
  return true;
}

bool ethernet_accepts(const MacAddress& destination, const MacAddress& ours) {
  if (destination == ours) return true;
  // The group bit (least significant bit of the first octet) covers broadcast too.
  return (destination[0] & 1) != 0;
}

MacAddress ipv4_multicast_mac(uint32_t group) {
  return {0x01, 0x00, 0x5e, static_cast<uint8_t>((group >> 16) & 0x7f), static_cast<uint8_t>(group >> 8),
          static_cast<uint8_t>(group)};
}

}  // namespace nimbus::net
