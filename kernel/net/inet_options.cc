// InetOptions: Linux's generic IPPROTO_IP options (net/ipv4/ip_sockglue.c).
#include "kernel/net/inet_options.h"

#include <cstring>

#include "kernel/net/socket_abi.h"

namespace nimbus::net {

using namespace abi;

namespace {

// struct ip_mreqn (12 bytes) or struct ip_mreq (8): the group, then the local address.
constexpr size_t kIpMreqSize = 8;
constexpr size_t kIpMreqnSize = 12;

bool is_multicast(uint32_t address_network_order) {
  return (reinterpret_cast<const uint8_t*>(&address_network_order)[0] & 0xf0) == 0xe0;
}

}  // namespace

int inet_int_value(std::span<const std::byte> value) {
  if (value.size() >= sizeof(int)) {
    int v;
    memcpy(&v, value.data(), sizeof(v));
    return v;
  }
  if (!value.empty()) return static_cast<int>(static_cast<uint8_t>(value[0]));
  return 0;
}

size_t put_inet_int(std::span<std::byte> out, int value) {
  // do_ip_getsockopt: a short buffer gets one byte when the value fits in one.
  if (out.size() < sizeof(int) && !out.empty() && value >= 0 && value <= 255) {
    out[0] = static_cast<std::byte>(value);
    return 1;
  }
  size_t n = out.size() < sizeof(value) ? out.size() : sizeof(value);
  memcpy(out.data(), &value, n);
  return n;
}

Result<> set_inet_option(InetOptions& o, bool stream, int name, std::span<const std::byte> value) {
  switch (name) {
    case ip_add_membership:
    case ip_drop_membership: {
      // TCP sockets have no multicast (Linux: EPROTO for connection sockets).
      if (stream) return error(Errno::eproto);
      if (value.size() < kIpMreqSize) return error(Errno::einval);
      uint32_t group;
      memcpy(&group, value.data(), sizeof(group));
      if (!is_multicast(group)) return error(Errno::einval);
      // Multicast delivery is not implemented: a real group cannot be joined.
      return error(name == ip_add_membership ? Errno::enodev : Errno::eaddrnotavail);
    }
    case ip_multicast_if: {
      if (stream) return error(Errno::einval);
      if (value.size() < sizeof(uint32_t)) return error(Errno::einval);
      uint32_t address;
      memcpy(&address, value.data(), sizeof(address));
      o.multicast_interface_address = address;
      o.multicast_interface_index = 0;
      if (value.size() >= kIpMreqnSize) memcpy(&o.multicast_interface_index, value.data() + 8, sizeof(int));
      return {};
    }
    default: break;
  }
  int v = inet_int_value(value);
  switch (name) {
    case ip_multicast_ttl:
      if (stream) return error(Errno::einval);
      if (value.empty()) return error(Errno::einval);
      if (v == -1) v = 1;
      if (v < 0 || v > 255) return error(Errno::einval);
      o.multicast_ttl = static_cast<uint8_t>(v);
      return {};
    case ip_multicast_loop:
      if (value.empty()) return error(Errno::einval);
      o.multicast_loop = v != 0;
      return {};
    case ip_multicast_all:
      if (value.empty()) return error(Errno::einval);
      if (v != 0 && v != 1) return error(Errno::einval);
      o.multicast_all = v != 0;
      return {};
    case ip_mtu_discover:
      if (v < 0 || v > ip_pmtudisc_omit) return error(Errno::einval);
      o.pmtu_discovery = static_cast<uint8_t>(v);
      return {};
    case ip_recverr: o.receive_errors = v != 0; return {};
    case ip_recvorigdstaddr: o.receive_original_destination = v != 0; return {};
    case ip_freebind: o.freebind = v != 0; return {};
    case ip_bind_address_no_port: o.bind_address_no_port = v != 0; return {};
    default: return error(Errno::enoprotoopt);
  }
}

Result<size_t> get_inet_option(const InetOptions& o, int name, std::span<std::byte> value) {
  switch (name) {
    case ip_multicast_ttl: return put_inet_int(value, o.multicast_ttl);
    case ip_multicast_loop: return put_inet_int(value, o.multicast_loop);
    case ip_multicast_all: return put_inet_int(value, o.multicast_all);
    case ip_mtu_discover: return put_inet_int(value, o.pmtu_discovery);
    case ip_recverr: return put_inet_int(value, o.receive_errors);
    case ip_recvorigdstaddr: return put_inet_int(value, o.receive_original_destination);
    case ip_freebind: return put_inet_int(value, o.freebind);
    case ip_bind_address_no_port: return put_inet_int(value, o.bind_address_no_port);
    case ip_multicast_if: {
      // Linux answers with the in_addr (struct in_addr, 4 bytes).
      size_t n = value.size() < sizeof(uint32_t) ? value.size() : sizeof(uint32_t);
      memcpy(value.data(), &o.multicast_interface_address, n);
      return n;
    }
    default: return error(Errno::enoprotoopt);
  }
}

}  // namespace nimbus::net
