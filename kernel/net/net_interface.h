// NetInterface: what the stack keeps about one of its interfaces (the device, its link
// parameters, its IPv4 address and IPv6 addresses), shared by the files implementing the stack.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/net/net_device.h"
#include "kernel/net/net_stack.h"

namespace nimbus::net {

// One IPv6 address of an interface (RFC 4862: link-local, autoconfigured or static).
struct Ipv6InterfaceAddress {
  IpAddress address;
  uint8_t prefix_length = 0;
  bool autoconfigured = false;      // SLAAC: lives as long as its prefix's valid lifetime
  uint64_t valid_until_ns = ~0ull;  // ~0: forever
};

struct NetInterface {
  static constexpr size_t kMaxIpv6Addresses = 4;

  uint32_t index = 0;  // from 1
  NetDevice* device = nullptr;
  MacAddress mac{};
  uint32_t mtu = 1500;
  DeviceFeatures features;
  bool has_ipv4 = false;
  InterfaceAddress ipv4;
  // IPv6: enabled once the interface has its link-local address (or ::1 on loopback).
  Ipv6InterfaceAddress ipv6[kMaxIpv6Addresses];
  size_t ipv6_count = 0;
  uint32_t ipv6_mtu = 0;  // a router advertisement's MTU option (0: the link's)
  // RFC 4861 6.3.7: router solicitations sent, and when the next is due (~0: none).
  uint8_t router_solicitations = 0;
  uint64_t next_router_solicitation_ns = ~0ull;

  bool is_loopback() const { return features.loopback; }
  bool has_ipv6() const { return ipv6_count != 0; }
  uint32_t link_mtu_ipv6() const { return ipv6_mtu ? ipv6_mtu : mtu; }
  const Ipv6InterfaceAddress* find_ipv6(const IpAddress& address) const {
    for (size_t i = 0; i < ipv6_count; i++)
      if (ipv6[i].address == address) return &ipv6[i];
    return nullptr;
  }
  const Ipv6InterfaceAddress* ipv6_link_local() const {
    for (size_t i = 0; i < ipv6_count; i++)
      if (ipv6[i].address.is_link_local()) return &ipv6[i];
    return nullptr;
  }
  // A destination covered by one of the interface's prefixes (a /128 covers only itself).
  bool ipv6_on_link(const IpAddress& address) const {
    for (size_t i = 0; i < ipv6_count; i++)
      if (ipv6[i].prefix_length < 128 && address.matches_prefix(ipv6[i].address, ipv6[i].prefix_length)) return true;
    return false;
  }
  uint32_t netmask() const { return ipv4_netmask(ipv4.prefix_length); }
  bool on_link(Ipv4Address address) const {
    return has_ipv4 && ((address.value ^ ipv4.address.value) & netmask()) == 0;
  }
  // The subnet's directed broadcast address (255.255.255.255 for /32 and /31 too).
  Ipv4Address subnet_broadcast() const {
    if (ipv4.prefix_length >= 31) return {0xffffffff};
    return {ipv4.address.value | ~netmask()};
  }
};

}  // namespace nimbus::net
