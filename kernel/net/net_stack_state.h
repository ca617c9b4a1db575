// NetStack::State: the stack's private data (interfaces, routes, the ARP cache, reassembly,
// timers, the deferred queue, counters), shared by the files that implement the stack.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "kernel/lib/intrusive_list.h"
#include "kernel/net/arp.h"
#include "kernel/net/ipv4.h"
#include "kernel/net/ipv4_reassembly.h"
#include "kernel/net/ipv6.h"
#include "kernel/net/ipv6_reassembly.h"
#include "kernel/net/ndp.h"
#include "kernel/net/net_interface.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/net_statistics.h"
#include "kernel/sync/mutex.h"

namespace nimbus::net {

// The route a datagram to one destination takes.
struct Ipv4Route {
  uint32_t interface_index = 0;
  Ipv4Address next_hop;
  Ipv4Address source;  // the preferred source address
};

// The route a datagram to one IPv6 destination takes.
struct Ipv6Route {
  uint32_t interface_index = 0;
  IpAddress next_hop;
  IpAddress source;  // RFC 6724's choice among the outgoing interface's addresses
};

// The default router a router advertisement named (RFC 4861 6.3.4).
struct Ipv6DefaultRouter {
  IpAddress address;  // link-local
  uint32_t interface_index = 0;  // 0: none
  uint64_t expires_ns = 0;
};

// RFC 1191 / RFC 8201: what an ICMP "fragmentation needed" or ICMPv6 "packet too big"
// taught about one destination's path.
struct PathMtuCache {
  static constexpr size_t kEntries = 32;
  static constexpr uint64_t kLifetimeNs = 600'000'000'000ull;  // RFC 1191 6.3: 10 minutes
  static constexpr uint32_t kMinimum = 552;                     // Linux's min_pmtu
  struct Entry {
    IpAddress destination;
    uint32_t mtu = 0;  // 0: free
    uint64_t expires_ns = 0;
  };
  Entry entries[kEntries];
  // The MTU towards `destination` no larger than `link_mtu`.
  uint32_t lookup(const IpAddress& destination, uint32_t link_mtu, uint64_t now);
  uint32_t lookup(Ipv4Address destination, uint32_t link_mtu, uint64_t now) {
    return lookup(IpAddress::from_ipv4(destination), link_mtu, now);
  }
  // Never below IPv4's kMinimum or IPv6's 1280 (RFC 8201 4).
  void learn(const IpAddress& destination, uint32_t mtu, uint64_t now);
};

// A token bucket: `rate_per_second` tokens, at most `burst` saved up.
struct RateLimiter {
  uint64_t rate_per_second = 1000;
  uint64_t burst = 50;
  uint64_t tokens = 50;
  uint64_t last_ns = 0;
  bool allow(uint64_t now);
};

// Counters protocol code bumps without the lock.
struct AtomicCounters {
  std::atomic<uint64_t> ip_in_receives{0}, ip_in_header_errors{0}, ip_in_address_errors{0},
      ip_in_unknown_protocols{0}, ip_in_discards{0}, ip_in_delivers{0}, ip_out_requests{0}, ip_out_no_routes{0},
      ip_out_discards{0}, ip_fragments_ok{0}, ip_fragments_failed{0}, ip_fragments_created{0};
  std::atomic<uint64_t> ip_truncated{0}, ip_bad_version{0}, ip_bad_header_length{0}, ip_bad_total_length{0},
      ip_bad_checksum{0};
  std::atomic<uint64_t> ip6_in_receives{0}, ip6_in_header_errors{0}, ip6_in_address_errors{0},
      ip6_in_unknown_protocols{0}, ip6_in_delivers{0}, ip6_in_discards{0}, ip6_out_requests{0},
      ip6_out_no_routes{0}, ip6_fragments_created{0};
  std::atomic<uint64_t> icmp6_in_messages{0}, icmp6_in_errors{0}, icmp6_in_echos{0}, icmp6_out_messages{0},
      icmp6_out_echo_replies{0}, icmp6_out_destination_unreachables{0}, icmp6_out_rate_limited{0},
      icmp6_in_packet_too_big{0};
  std::atomic<uint64_t> icmp_in_messages{0}, icmp_in_errors{0}, icmp_in_echos{0},
      icmp_in_destination_unreachables{0}, icmp_in_echo_replies{0}, icmp_out_messages{0}, icmp_out_echo_replies{0},
      icmp_out_destination_unreachables{0}, icmp_out_rate_limited{0};
  std::atomic<uint64_t> link_not_for_us{0}, link_malformed{0}, link_unknown_type{0}, ip_link_failures{0};
};

inline void count(std::atomic<uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

struct NetStack::State {
  static constexpr size_t kMaxInterfaces = NetStack::kMaxInterfaces;
  static constexpr size_t kMaxHooks = 4;

  explicit State(NetStack& stack) : stack(stack) {}

  NetStack& stack;

  // Guards everything up to queue_lock. Never held across NetDevice::transmit() or a
  // call into a transport protocol.
  Mutex lock;
  NetInterface interfaces[kMaxInterfaces];
  size_t interface_count = 0;
  Ipv4Address gateway;
  ArpCache arp;
  Ipv4Reassembly reassembly;
  uint16_t next_ip_id = 0;
  RateLimiter icmp_limiter;
  PathMtuCache path_mtu;
  NetStack::UdpHook hooks[kMaxHooks];
  // IPv6.
  NeighborCache neighbors;
  Ipv6Reassembly reassembly6;
  Ipv6DefaultRouter router6;
  RateLimiter icmp6_limiter;
  uint32_t next_ipv6_fragment_id = 0;

  // Guards the timers and the deferred frames (taken alone, never with `lock`).
  Mutex queue_lock;
  IntrusiveList<NetTimer, &NetTimer::node> timers;  // by deadline
  PacketList deferred;

  AtomicCounters counters;

  // Lock held.
  NetInterface* interface(uint32_t index) {
    return index >= 1 && index <= interface_count ? &interfaces[index - 1] : nullptr;
  }
  NetInterface* loopback_interface();
  bool is_local_ipv4(Ipv4Address address);
  Result<Ipv4Route> route(Ipv4Address destination);
  // Hands an IP datagram to the link: loopback as is, broadcast and multicast to their
  // group addresses, unicast through ARP. The frame lands in `outbox`.
  void link_output(NetInterface& interface, Ipv4Address next_hop, Packet* datagram, PacketList& outbox);

  // IPv6 (ipv6.cc), lock held: whether `address` is one of ours (::1 included); the route
  // to `destination` (ENETUNREACH without one); the link for a datagram: loopback as is,
  // multicast to its group address, unicast through the neighbour cache.
  bool is_local_ipv6(const IpAddress& address);
  Result<Ipv6Route> route_ipv6(const IpAddress& destination);
  void link_output_ipv6(NetInterface& interface, const IpAddress& next_hop, Packet* datagram, PacketList& outbox);
  Result<> add_ipv6_address_locked(NetInterface& interface, const Ipv6InterfaceAddress& address);

  // No lock held: sends every frame of `outbox` on its interface.
  void transmit(PacketList& outbox);
};

// ipv4.cc: a datagram from `interface_index` (packet->data() at the IP header).
void ipv4_input(NetStack::State& state, uint32_t interface_index, Packet* packet);
// ipv4.cc: adds the header, fragments if allowed, hands the result to the link (lock held;
// frames into `outbox`).
Result<> ipv4_output_locked(NetStack::State& state, NetInterface& interface, Ipv4Address next_hop, Packet* packet,
                            Ipv4Address source, Ipv4Address destination, uint8_t protocol,
                            const IpSendOptions& options, PacketList& outbox);

// icmp.cc: tells the transport that sent `original` (an IP datagram of ours) about a
// failure found locally (its next hop never answered ARP), as an ICMP error would.
void icmp_report_local_error(NetStack::State& state, uint8_t type, uint8_t code, std::span<const std::byte> original);
// icmp.cc: RFC 1191 7.1's plateau below `total_length`, for routers that report MTU 0.
uint32_t path_mtu_plateau_below(uint32_t total_length);
// icmp.cc: an ICMP message for us (packet->data() at the ICMP header). No lock held.
void icmp_input(NetStack::State& state, const IpReceiveInfo& info, Packet* packet);
// icmp.cc: sends an ICMP error about `original` (the offending datagram from its IP header
// on, as much as was kept). Rate-limited; never about an ICMP error, a broadcast, a
// multicast or a later fragment (RFC 1122 3.2.2). No lock held.
void icmp_send_error(NetStack::State& state, uint8_t type, uint8_t code, uint32_t rest,
                     std::span<const std::byte> original);

// ipv6.cc: a datagram from `interface_index` (packet->data() at the IPv6 header).
void ipv6_input(NetStack::State& state, uint32_t interface_index, Packet* packet);
// ipv6.cc: adds the header (and fragments if the datagram is larger than the path MTU and
// `options.dont_fragment` is clear), hands the result to the link (lock held; frames into
// `outbox`).
Result<> ipv6_output_locked(NetStack::State& state, NetInterface& interface, const IpAddress& next_hop,
                            Packet* packet, const IpAddress& source, const IpAddress& destination,
                            uint8_t next_header, const IpSendOptions& options, PacketList& outbox);

// ipv6.cc: NetStack's routed output, source selection and path MTU for IPv6 destinations.
Result<> ipv6_send(NetStack::State& state, Packet* packet, const IpAddress& source, const IpAddress& destination,
                   uint8_t protocol, const IpSendOptions& options);
Result<IpAddress> ipv6_source_for(NetStack::State& state, const IpAddress& destination);
uint32_t ipv6_path_mtu(NetStack::State& state, const IpAddress& destination);

// icmpv6.cc: an ICMPv6 message for us (packet->data() at its header). No lock held.
void icmpv6_input(NetStack::State& state, const IpReceiveInfo& info, Packet* packet);
// icmpv6.cc: sends an ICMPv6 error about `original` (the offending datagram from its IPv6
// header on). Rate-limited; never about an ICMPv6 error, nor (RFC 4443 2.4 e) about a
// multicast destination unless `even_multicast` (packet too big, parameter problem code 2).
// No lock held.
void icmpv6_send_error(NetStack::State& state, uint8_t type, uint8_t code, uint32_t rest,
                       std::span<const std::byte> original, bool even_multicast = false);
// icmpv6.cc: tells the transport that sent `original` (an IPv6 datagram of ours) that its
// next hop never answered neighbour discovery.
void icmpv6_report_local_error(NetStack::State& state, std::span<const std::byte> original);

}  // namespace nimbus::net
