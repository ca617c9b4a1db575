// NetInterface: what the stack keeps about one of its interfaces (the device, its link
// parameters, its IPv4 address), shared by the files implementing the stack.
#pragma once

#include <cstdint>

#include "kernel/net/net_device.h"
#include "kernel/net/net_stack.h"

namespace nimbus::net {

struct NetInterface {
  uint32_t index = 0;  // from 1
  NetDevice* device = nullptr;
  MacAddress mac{};
  uint32_t mtu = 1500;
  DeviceFeatures features;
  bool has_ipv4 = false;
  InterfaceAddress ipv4;

  bool is_loopback() const { return features.loopback; }
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
