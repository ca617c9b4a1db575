// rtnetlink replies (rtnetlink(7)): RTM_NEWLINK, RTM_NEWADDR and RTM_NEWROUTE messages built
// from interface snapshots, as glibc's getifaddrs/if_nameindex and Go's net.Interfaces read
// them. Pure byte building, so the layouts are unit-tested on the host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "kernel/net/net_statistics.h"

namespace nimbus::net::netlink {

// <linux/netlink.h>
constexpr uint16_t kNlmsgNoop = 1, kNlmsgError = 2, kNlmsgDone = 3;
constexpr uint16_t kNlmFRequest = 0x1, kNlmFMulti = 0x2, kNlmFAck = 0x4, kNlmFDump = 0x300;
// <linux/rtnetlink.h>
constexpr uint16_t kRtmNewLink = 16, kRtmGetLink = 18, kRtmNewAddr = 20, kRtmGetAddr = 22, kRtmNewRoute = 24,
                   kRtmGetRoute = 26;

struct MessageHeader {  // struct nlmsghdr
  uint32_t length;
  uint16_t type;
  uint16_t flags;
  uint32_t sequence;
  uint32_t port_id;
};
static_assert(sizeof(MessageHeader) == 16);

constexpr size_t align4(size_t n) { return (n + 3) & ~size_t{3}; }

// Appends messages to a caller's buffer; a message that does not fit is not written.
class MessageWriter {
 public:
  explicit MessageWriter(std::span<std::byte> buffer) : m_buffer(buffer) {}
  size_t size() const { return m_used; }

  // One message: begin(), attributes, end(). begin() returns false (nothing written) when
  // `fixed_size` bytes of family header do not fit.
  bool begin(uint16_t type, uint16_t flags, uint32_t sequence, uint32_t port_id, const void* fixed, size_t fixed_size);
  // struct rtattr with `data` padded to 4 bytes; false (and the message abandoned) if full.
  bool attribute(uint16_t type, const void* data, size_t length);
  bool attribute_u32(uint16_t type, uint32_t value) { return attribute(type, &value, sizeof value); }
  bool attribute_u8(uint16_t type, uint8_t value) { return attribute(type, &value, sizeof value); }
  bool attribute_string(uint16_t type, const char* text);
  // Finishes the message (its length); false if it was abandoned.
  bool end();

 private:
  std::span<std::byte> m_buffer;
  size_t m_used = 0;
  size_t m_message_start = 0;
  bool m_open = false;
  bool m_failed = false;
};

// One RTM_NEWLINK for `info` (ifinfomsg, IFLA_IFNAME, IFLA_ADDRESS, IFLA_BROADCAST, IFLA_MTU,
// IFLA_OPERSTATE, IFLA_TXQLEN, IFLA_STATS and IFLA_STATS64).
bool write_link(MessageWriter& out, const InterfaceSnapshot& info, uint32_t sequence, uint32_t port_id, uint16_t flags);
// One RTM_NEWADDR for the interface's IPv4 address (none is written without one: true).
bool write_ipv4_address(MessageWriter& out, const InterfaceSnapshot& info, uint32_t sequence, uint32_t port_id,
                        uint16_t flags);

// One RTM_NEWADDR for the interface's IPv6 address number `which` (of info.ipv6_count).
bool write_ipv6_address(MessageWriter& out, const InterfaceSnapshot& info, size_t which, uint32_t sequence,
                        uint32_t port_id, uint16_t flags);
// The rtnetlink scope of an IPv6 address (RT_SCOPE_HOST for ::1, _LINK for fe80::/10,
// _UNIVERSE otherwise).
uint8_t ipv6_scope(const IpAddress& address);

struct Ipv4Route {
  Ipv4Address destination;
  uint8_t prefix_length = 0;
  std::optional<Ipv4Address> gateway;
  Ipv4Address preferred_source;
  uint32_t interface_index = 0;
};
bool write_ipv4_route(MessageWriter& out, const Ipv4Route& route, uint32_t sequence, uint32_t port_id,
                      uint16_t flags);

// The IPv4 routes of the main table, as Linux has them for these interfaces and default
// gateway: one on-link route per configured subnet (loopback's live in the local table) and,
// when the gateway is on one of those subnets, the default route through it.
// Returns how many were written to `routes`.
size_t ipv4_routes(std::span<const InterfaceSnapshot> interfaces, std::optional<Ipv4Address> gateway,
                   std::span<Ipv4Route> routes);

}  // namespace nimbus::net::netlink
