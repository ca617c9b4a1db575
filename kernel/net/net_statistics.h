// The stack's counters, as /proc/net/snmp and /proc/net/dev report them, and a snapshot of
// one interface for /proc/net/dev, SIOCGIF* and netlink.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/net/ip_address.h"
#include "kernel/net/net_device.h"

namespace nimbus::net {

struct NetStatistics {
  // IPv4 (RFC 4293 names).
  uint64_t ip_in_receives = 0, ip_in_header_errors = 0, ip_in_address_errors = 0, ip_in_unknown_protocols = 0;
  uint64_t ip_in_discards = 0, ip_in_delivers = 0, ip_out_requests = 0, ip_out_no_routes = 0, ip_out_discards = 0;
  uint64_t ip_reassembly_required = 0, ip_reassembly_ok = 0, ip_reassembly_failed = 0;
  uint64_t ip_fragments_ok = 0, ip_fragments_failed = 0, ip_fragments_created = 0;
  // Datagrams dropped because their next hop never answered ARP (reported to their
  // transports as host unreachable).
  uint64_t ip_link_failures = 0;
  // Why headers were refused (each also counts in ip_in_header_errors).
  uint64_t ip_truncated = 0, ip_bad_version = 0, ip_bad_header_length = 0, ip_bad_total_length = 0,
           ip_bad_checksum = 0;
  // IPv6 and ICMPv6 (RFC 4293's ipv6* and icmp6* names).
  uint64_t ip6_in_receives = 0, ip6_in_header_errors = 0, ip6_in_address_errors = 0, ip6_in_unknown_protocols = 0,
           ip6_in_discards = 0, ip6_in_delivers = 0, ip6_out_requests = 0, ip6_out_no_routes = 0,
           ip6_fragments_created = 0, ip6_reassembly_required = 0, ip6_reassembly_ok = 0, ip6_reassembly_failed = 0;
  uint64_t icmp6_in_messages = 0, icmp6_in_errors = 0, icmp6_in_echos = 0, icmp6_out_messages = 0,
           icmp6_out_echo_replies = 0, icmp6_out_destination_unreachables = 0, icmp6_out_rate_limited = 0,
           icmp6_in_packet_too_big = 0;
  // Neighbor discovery.
  uint64_t ndp_solicitations_sent = 0, ndp_advertisements_sent = 0, ndp_solicitations_received = 0,
           ndp_advertisements_received = 0, ndp_router_solicitations_sent = 0, ndp_router_advertisements_received = 0,
           ndp_malformed = 0, ndp_unresolved_drops = 0, ndp_entries = 0;
  // ICMP.
  uint64_t icmp_in_messages = 0, icmp_in_errors = 0, icmp_in_echos = 0, icmp_in_echo_replies = 0,
           icmp_in_destination_unreachables = 0;
  uint64_t icmp_out_messages = 0, icmp_out_echo_replies = 0, icmp_out_destination_unreachables = 0,
           icmp_out_rate_limited = 0;
  // ARP.
  uint64_t arp_requests_sent = 0, arp_replies_sent = 0, arp_requests_received = 0, arp_replies_received = 0;
  uint64_t arp_malformed = 0, arp_unresolved_drops = 0, arp_queue_drops = 0, arp_entries = 0;
  // Link layer.
  uint64_t link_not_for_us = 0, link_malformed = 0, link_unknown_type = 0;
};

struct InterfaceSnapshot {
  uint32_t index = 0;
  char name[16] = {};
  MacAddress mac{};
  uint32_t mtu = 0;
  DeviceFeatures features;
  bool has_ipv4 = false;
  Ipv4Address ipv4_address;
  uint8_t ipv4_prefix_length = 0;
  // IPv6 addresses (link-local, autoconfigured, static), at most this many.
  static constexpr size_t kMaxIpv6Addresses = 4;
  struct Ipv6Entry {
    IpAddress address;
    uint8_t prefix_length = 0;
    bool autoconfigured = false;
  };
  Ipv6Entry ipv6[kMaxIpv6Addresses];
  size_t ipv6_count = 0;
  DeviceStatistics statistics;
};

}  // namespace nimbus::net
