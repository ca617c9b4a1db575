// rtnetlink reply building: netlink(7) framing with 4-byte alignment, rtnetlink(7) layouts.
#include "kernel/net/netlink/route_messages.h"

#include <cstring>

namespace nimbus::net::netlink {
namespace {

constexpr uint8_t kAfInet = 2, kAfInet6 = 10;
// <linux/if_arp.h>, <linux/if.h>
constexpr uint16_t kArphrdEther = 1, kArphrdLoopback = 772;
constexpr uint32_t kIffUp = 0x1, kIffBroadcast = 0x2, kIffLoopback = 0x8, kIffRunning = 0x40,
                   kIffMulticast = 0x1000, kIffLowerUp = 0x10000;
constexpr uint8_t kOperUnknown = 0, kOperUp = 6;
// IFLA_*, IFA_*, RTA_*
constexpr uint16_t kIflaAddress = 1, kIflaBroadcast = 2, kIflaIfname = 3, kIflaMtu = 4, kIflaStats = 7,
                   kIflaTxqlen = 13, kIflaOperstate = 16, kIflaStats64 = 23;
constexpr uint16_t kIfaAddress = 1, kIfaLocal = 2, kIfaLabel = 3, kIfaBroadcast = 4, kIfaFlags = 8;
constexpr uint16_t kRtaDst = 1, kRtaOif = 4, kRtaGateway = 5, kRtaPrefsrc = 7, kRtaTable = 15;
constexpr uint8_t kIfaFPermanent = 0x80;
constexpr uint8_t kScopeUniverse = 0, kScopeLink = 253, kScopeHost = 254;
constexpr uint8_t kTableMain = 254, kProtoKernel = 2, kProtoBoot = 3, kRouteUnicast = 1;
constexpr size_t kStatsFields = 24;  // struct rtnl_link_stats(64) up to rx_nohandler

struct InterfaceMessage {  // struct ifinfomsg
  uint8_t family;
  uint8_t pad;
  uint16_t type;
  int32_t index;
  uint32_t flags;
  uint32_t change;
};
struct AddressMessage {  // struct ifaddrmsg
  uint8_t family;
  uint8_t prefix_length;
  uint8_t flags;
  uint8_t scope;
  uint32_t index;
};
struct RouteMessage {  // struct rtmsg
  uint8_t family;
  uint8_t destination_length;
  uint8_t source_length;
  uint8_t tos;
  uint8_t table;
  uint8_t protocol;
  uint8_t scope;
  uint8_t type;
  uint32_t flags;
};
static_assert(sizeof(InterfaceMessage) == 16 && sizeof(AddressMessage) == 8 && sizeof(RouteMessage) == 12);

// An IPv4 address as the four bytes of a struct in_addr (network order).
void ipv4_bytes(Ipv4Address address, uint8_t (&out)[4]) {
  for (int i = 0; i < 4; i++) out[i] = static_cast<uint8_t>(address.value >> (24 - 8 * i));
}

bool attribute_ipv4(MessageWriter& out, uint16_t type, Ipv4Address address) {
  uint8_t bytes[4];
  ipv4_bytes(address, bytes);
  return out.attribute(type, bytes, sizeof bytes);
}

// The counters in rtnl_link_stats order: rx/tx packets, rx/tx bytes, rx/tx errors, rx/tx dropped.
template <typename T>
void fill_statistics(const DeviceStatistics& s, T (&fields)[kStatsFields]) {
  memset(fields, 0, sizeof fields);
  fields[0] = static_cast<T>(s.rx_packets);
  fields[1] = static_cast<T>(s.tx_packets);
  fields[2] = static_cast<T>(s.rx_bytes);
  fields[3] = static_cast<T>(s.tx_bytes);
  fields[4] = static_cast<T>(s.rx_errors);
  fields[5] = static_cast<T>(s.tx_errors);
  fields[6] = static_cast<T>(s.rx_dropped);
  fields[7] = static_cast<T>(s.tx_dropped);
}

}  // namespace

bool MessageWriter::begin(uint16_t type, uint16_t flags, uint32_t sequence, uint32_t port_id, const void* fixed,
                          size_t fixed_size) {
  size_t needed = sizeof(MessageHeader) + align4(fixed_size);
  if (m_open || m_buffer.size() - m_used < needed) return false;
  m_message_start = m_used;
  MessageHeader header{0, type, flags, sequence, port_id};
  memcpy(m_buffer.data() + m_used, &header, sizeof header);
  memset(m_buffer.data() + m_used + sizeof header, 0, align4(fixed_size));
  if (fixed_size) memcpy(m_buffer.data() + m_used + sizeof header, fixed, fixed_size);
  m_used += needed;
  m_open = true;
  m_failed = false;
  return true;
}

bool MessageWriter::attribute(uint16_t type, const void* data, size_t length) {
  if (!m_open || m_failed) return false;
  size_t total = 4 + length;
  if (total > 0xffff || m_buffer.size() - m_used < align4(total)) {
    m_failed = true;
    return false;
  }
  uint16_t header[2] = {static_cast<uint16_t>(total), type};
  std::byte* at = m_buffer.data() + m_used;
  memcpy(at, header, sizeof header);
  memset(at + 4, 0, align4(total) - 4);
  if (length) memcpy(at + 4, data, length);
  m_used += align4(total);
  return true;
}

bool MessageWriter::attribute_string(uint16_t type, const char* text) {
  return attribute(type, text, strlen(text) + 1);
}

bool MessageWriter::end() {
  if (!m_open) return false;
  m_open = false;
  if (m_failed) {
    m_used = m_message_start;
    return false;
  }
  uint32_t length = static_cast<uint32_t>(m_used - m_message_start);
  memcpy(m_buffer.data() + m_message_start, &length, sizeof length);
  return true;
}

bool write_link(MessageWriter& out, const InterfaceSnapshot& info, uint32_t sequence, uint32_t port_id,
                uint16_t flags) {
  InterfaceMessage message{};
  message.family = 0;  // AF_UNSPEC, as Linux answers
  message.type = info.features.loopback ? kArphrdLoopback : kArphrdEther;
  message.index = static_cast<int32_t>(info.index);
  message.flags = info.features.loopback ? kIffLoopback : (kIffBroadcast | kIffMulticast);
  // Interfaces are up from the moment the stack has them (no administrative down).
  message.flags |= kIffUp | kIffRunning | kIffLowerUp;
  if (!out.begin(kRtmNewLink, flags, sequence, port_id, &message, sizeof message)) return false;
  MacAddress broadcast;
  broadcast.fill(info.features.loopback ? 0 : 0xff);
  uint32_t stats32[kStatsFields];
  uint64_t stats64[kStatsFields];
  fill_statistics(info.statistics, stats32);
  fill_statistics(info.statistics, stats64);
  out.attribute_string(kIflaIfname, info.name);
  out.attribute_u32(kIflaTxqlen, 1000);
  out.attribute_u8(kIflaOperstate, info.features.loopback ? kOperUnknown : kOperUp);
  out.attribute_u32(kIflaMtu, info.mtu);
  out.attribute(kIflaAddress, info.mac.data(), info.mac.size());
  out.attribute(kIflaBroadcast, broadcast.data(), broadcast.size());
  out.attribute(kIflaStats, stats32, sizeof stats32);
  out.attribute(kIflaStats64, stats64, sizeof stats64);
  return out.end();
}

bool write_ipv4_address(MessageWriter& out, const InterfaceSnapshot& info, uint32_t sequence, uint32_t port_id,
                        uint16_t flags) {
  if (!info.has_ipv4) return true;
  AddressMessage message{kAfInet, info.ipv4_prefix_length, kIfaFPermanent,
                         info.features.loopback ? kScopeHost : kScopeUniverse, info.index};
  if (!out.begin(kRtmNewAddr, flags, sequence, port_id, &message, sizeof message)) return false;
  // Linux's order: readers such as Go's take the first attribute after IFA_ADDRESS.
  attribute_ipv4(out, kIfaAddress, info.ipv4_address);
  attribute_ipv4(out, kIfaLocal, info.ipv4_address);
  if (!info.features.loopback && info.ipv4_prefix_length < 31)
    attribute_ipv4(out, kIfaBroadcast, {info.ipv4_address.value | ~ipv4_netmask(info.ipv4_prefix_length)});
  out.attribute_string(kIfaLabel, info.name);
  out.attribute_u32(kIfaFlags, kIfaFPermanent);
  return out.end();
}

uint8_t ipv6_scope(const IpAddress& address) {
  if (address.is_ipv6_loopback()) return kScopeHost;
  return address.is_link_local() ? kScopeLink : kScopeUniverse;
}

bool write_ipv6_address(MessageWriter& out, const InterfaceSnapshot& info, size_t which, uint32_t sequence,
                        uint32_t port_id, uint16_t flags) {
  if (which >= info.ipv6_count) return true;
  const InterfaceSnapshot::Ipv6Entry& entry = info.ipv6[which];
  // SLAAC addresses are dynamic; the others (::1, link-local, static) permanent.
  uint8_t address_flags = entry.autoconfigured ? 0 : kIfaFPermanent;
  AddressMessage message{kAfInet6, entry.prefix_length, address_flags, ipv6_scope(entry.address), info.index};
  if (!out.begin(kRtmNewAddr, flags, sequence, port_id, &message, sizeof message)) return false;
  out.attribute(kIfaAddress, entry.address.bytes.data(), entry.address.bytes.size());
  out.attribute_u32(kIfaFlags, address_flags);
  return out.end();
}

bool write_ipv4_route(MessageWriter& out, const Ipv4Route& route, uint32_t sequence, uint32_t port_id,
                      uint16_t flags) {
  RouteMessage message{};
  message.family = kAfInet;
  message.destination_length = route.prefix_length;
  message.table = kTableMain;
  message.protocol = route.gateway ? kProtoBoot : kProtoKernel;
  message.scope = route.gateway ? kScopeUniverse : kScopeLink;
  message.type = kRouteUnicast;
  if (!out.begin(kRtmNewRoute, flags, sequence, port_id, &message, sizeof message)) return false;
  out.attribute_u32(kRtaTable, kTableMain);
  if (route.prefix_length) attribute_ipv4(out, kRtaDst, route.destination);
  if (route.gateway) {
    attribute_ipv4(out, kRtaGateway, *route.gateway);
  } else {
    attribute_ipv4(out, kRtaPrefsrc, route.preferred_source);
  }
  out.attribute_u32(kRtaOif, route.interface_index);
  return out.end();
}

size_t ipv4_routes(std::span<const InterfaceSnapshot> interfaces, std::optional<Ipv4Address> gateway,
                   std::span<Ipv4Route> routes) {
  size_t count = 0;
  std::optional<Ipv4Route> default_route;
  for (const InterfaceSnapshot& info : interfaces) {
    if (!info.has_ipv4 || info.features.loopback) continue;
    uint32_t mask = ipv4_netmask(info.ipv4_prefix_length);
    if (gateway && !default_route && (gateway->value & mask) == (info.ipv4_address.value & mask))
      default_route = Ipv4Route{{0}, 0, gateway, info.ipv4_address, info.index};
    if (count < routes.size())
      routes[count++] = Ipv4Route{{info.ipv4_address.value & mask}, info.ipv4_prefix_length, std::nullopt, info.ipv4_address, info.index};
  }
  // Linux lists the default route first.
  if (default_route && count < routes.size()) {
    for (size_t i = count; i > 0; i--) routes[i] = routes[i - 1];
    routes[0] = *default_route;
    count++;
  }
  return count;
}

}  // namespace nimbus::net::netlink
