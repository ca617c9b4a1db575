// Linux's socket-API numbers that the IPv4/UDP code needs (include/uapi/linux/{socket,in,in6}.h),
// under their own namespace so they never collide with host headers in unit tests.
#pragma once

#include <cstdint>

namespace nimbus::net::inet_abi {

constexpr int af_unspec = 0;
constexpr int af_inet = 2;
constexpr int af_inet6 = 10;

constexpr int sock_stream = 1;
constexpr int sock_dgram = 2;

constexpr int sol_socket = 1;
constexpr int ipproto_ip = 0;
constexpr int ipproto_icmp = 1;
constexpr int ipproto_tcp = 6;
constexpr int ipproto_udp = 17;
constexpr int ipproto_ipv6 = 41;

// IPPROTO_IP options.
constexpr int ip_tos = 1;
constexpr int ip_ttl = 2;
constexpr int ip_pktinfo = 8;
constexpr int ip_mtu_discover = 10;
constexpr int ip_recverr = 11;
constexpr int ip_recvttl = 12;
constexpr int ip_recvtos = 13;
// IPPROTO_IPV6 options.
constexpr int ipv6_unicast_hops = 16;
constexpr int ipv6_v6only = 26;
constexpr int ipv6_tclass = 67;

constexpr uint32_t msg_oob = 0x1;
constexpr uint32_t msg_peek = 0x2;
constexpr uint32_t msg_dontroute = 0x4;
constexpr uint32_t msg_ctrunc = 0x8;
constexpr uint32_t msg_trunc = 0x20;
constexpr uint32_t msg_dontwait = 0x40;
constexpr uint32_t msg_eor = 0x80;
constexpr uint32_t msg_waitall = 0x100;
constexpr uint32_t msg_confirm = 0x800;
constexpr uint32_t msg_errqueue = 0x2000;
constexpr uint32_t msg_nosignal = 0x4000;
constexpr uint32_t msg_more = 0x8000;

constexpr int shut_rd = 0;
constexpr int shut_wr = 1;
constexpr int shut_rdwr = 2;

// struct sockaddr_in: family (2), port (2, network order), address (4), zero (8).
constexpr uint32_t sockaddr_in_size = 16;
// struct sockaddr_in6: family, port, flowinfo (4), address (16), scope id (4).
constexpr uint32_t sockaddr_in6_size = 28;
// Linux accepts the RFC 2133 sockaddr_in6 without the scope id.
constexpr uint32_t sockaddr_in6_min_size = 24;

}  // namespace nimbus::net::inet_abi
