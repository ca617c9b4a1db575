// InetOptions: the IPPROTO_IP options every AF_INET and AF_INET6 socket keeps whatever its
// protocol (Linux's do_ip_setsockopt / do_ip_getsockopt in net/ipv4/ip_sockglue.c). UDP and
// TCP handle the options that change their own behaviour (IP_TOS, IP_TTL, IP_PKTINFO...)
// first and pass the rest here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/lib/result.h"

namespace nimbus::net {

struct InetOptions {
  uint8_t multicast_ttl = 1;      // IP_MULTICAST_TTL
  bool multicast_loop = true;     // IP_MULTICAST_LOOP
  bool multicast_all = true;      // IP_MULTICAST_ALL
  uint8_t pmtu_discovery = 1;     // IP_MTU_DISCOVER: IP_PMTUDISC_WANT, Linux's default
  bool receive_errors = false;    // IP_RECVERR (UDP keeps an error queue for MSG_ERRQUEUE)
  bool receive_original_destination = false;  // IP_RECVORIGDSTADDR
  bool freebind = false;          // IP_FREEBIND
  bool bind_address_no_port = false;  // IP_BIND_ADDRESS_NO_PORT
  uint32_t multicast_interface_address = 0;  // IP_MULTICAST_IF, network order
  int multicast_interface_index = 0;
};

// An IPPROTO_IP int option's value as Linux reads it: an int when optlen allows, else one
// unsigned byte, and 0 for an empty optval.
int inet_int_value(std::span<const std::byte> value);

// setsockopt(IPPROTO_IP, name) for the options above; ENOPROTOOPT for the rest. `stream`:
// the socket is SOCK_STREAM (TCP), which refuses the multicast settings Linux refuses it.
Result<> set_inet_option(InetOptions& options, bool stream, int name, std::span<const std::byte> value);
// getsockopt(IPPROTO_IP, name): the bytes written (Linux writes one byte for a value that
// fits in one when optlen is shorter than an int).
Result<size_t> get_inet_option(const InetOptions& options, int name, std::span<std::byte> value);
// What Linux writes for an IPPROTO_IP int option.
size_t put_inet_int(std::span<std::byte> out, int value);

}  // namespace nimbus::net
