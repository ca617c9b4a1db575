// ICMPv6 (RFC 4443): echo, the errors this host sends (rate-limited), the errors it
// receives (handed to the transport that caused them, packet too big feeding the path-MTU
// cache), and the dispatch of Neighbor Discovery messages.
#include <algorithm>
#include <cstring>

#include "kernel/net/checksum.h"
#include "kernel/net/icmp.h"
#include "kernel/net/ipv4.h"
#include "kernel/net/ipv6.h"
#include "kernel/net/ndp.h"
#include "kernel/net/net_stack_state.h"
#include "kernel/net/tcp/tcp_protocol.h"
#include "kernel/net/udp.h"

namespace nimbus::net {

namespace {
constexpr uint8_t kDestinationUnreachable = 1;
constexpr uint8_t kPacketTooBig = 2;
constexpr uint8_t kTimeExceeded = 3;
constexpr uint8_t kParameterProblem = 4;
constexpr uint8_t kEchoRequest = 128;
constexpr uint8_t kEchoReply = 129;
constexpr uint8_t kAdministrativelyProhibited = 1;
constexpr uint8_t kPortUnreachable = 4;
constexpr size_t kHeaderSize = 8;

uint16_t icmpv6_checksum(const IpAddress& source, const IpAddress& destination, std::span<const std::byte> message) {
  uint32_t sum = pseudo_header_sum_ipv6(source, destination, kIpv6Icmp, uint32_t(message.size()));
  return checksum_finish(checksum_add(sum, message));
}

// An error about a datagram we sent (`quoted`: from its IPv6 header on). The transports
// speak ICMPv4's types and codes, so the error is translated as Linux's icmpv6_err_convert
// classifies it.
void deliver_error(NetStack::State& state, const IpReceiveInfo& info, uint8_t type, uint8_t code, uint32_t rest,
                   std::span<const std::byte> quoted) {
  if (quoted.size() < kIpv6HeaderSize + 8) return;
  const std::byte* p = quoted.data();
  if ((uint8_t(p[0]) >> 4) != 6) return;
  IpAddress source = ipv6_address_from_bytes(p + 8);
  IpAddress destination = ipv6_address_from_bytes(p + 24);
  if (!state.stack.is_local_address(source)) return;
  // Skip the extension headers the quote holds to find the transport's header.
  uint8_t next = uint8_t(p[6]);
  size_t offset = kIpv6HeaderSize;
  while (next == kIpv6HopByHop || next == kIpv6Routing || next == kIpv6DestinationOptions || next == kIpv6Fragment) {
    if (quoted.size() - offset < 8) return;
    size_t length = next == kIpv6Fragment ? kIpv6FragmentHeaderSize : (size_t(uint8_t(p[offset + 1])) + 1) * 8;
    if (next == kIpv6Fragment && (load_be16(p + offset + 2) & 0xfff8) != 0) return;  // not the first piece
    next = uint8_t(p[offset]);
    offset += length;
    if (offset + 8 > quoted.size()) return;
  }
  uint8_t v4_type = kIcmpDestinationUnreachable;
  uint8_t v4_code = kIcmpHostUnreachable;
  uint32_t next_hop_mtu = 0;
  switch (type) {
    case kDestinationUnreachable:
      if (code == kPortUnreachable) v4_code = kIcmpPortUnreachable;
      if (code == kAdministrativelyProhibited) v4_code = 10;  // "host administratively prohibited"
      break;
    case kPacketTooBig: {
      count(state.counters.icmp6_in_packet_too_big);
      // RFC 8201 4: never below the IPv6 minimum MTU.
      next_hop_mtu = std::max<uint32_t>(rest, kIpv6MinimumMtu);
      {
        MutexGuard guard(state.lock);
        state.path_mtu.learn(destination, next_hop_mtu, state.stack.now_ns());
      }
      v4_code = kIcmpFragmentationNeeded;
      break;
    }
    case kTimeExceeded: v4_type = kIcmpTimeExceeded, v4_code = code; break;
    default: v4_type = kIcmpParameterProblem, v4_code = 0; break;
  }
  std::span<const std::byte> transport = quoted.subspan(offset);
  if (next == kIpProtocolTcp) {
    state.stack.tcp().icmp_error(info, v4_type, v4_code, next_hop_mtu, destination, transport);
  } else if (next == kIpProtocolUdp) {
    state.stack.udp().icmp_error(info, v4_type, v4_code, source, destination, transport, next_hop_mtu);
  }
}

}  // namespace

void icmpv6_input(NetStack::State& state, const IpReceiveInfo& info, Packet* packet) {
  AtomicCounters& counters = state.counters;
  count(counters.icmp6_in_messages);
  // RFC 4443 2.3: the checksum is mandatory (loopback frames never left memory).
  if (packet->length() < 4 ||
      (!info.checksum_verified && icmpv6_checksum(info.source, info.destination, packet->bytes()) != 0)) {
    count(counters.icmp6_in_errors);
    Packet::free(packet);
    return;
  }
  std::byte* p = packet->data();
  uint8_t type = uint8_t(p[0]);
  uint8_t code = uint8_t(p[1]);
  if (type >= kNdpRouterSolicitation && type <= kNdpRedirect) {
    // RFC 4861 6.1 and 7.1.1: only from the link itself (hop limit 255, code 0).
    if (info.ttl != 255 || code != 0) {
      count(counters.icmp6_in_errors);
      Packet::free(packet);
      return;
    }
    PacketList outbox;
    {
      MutexGuard guard(state.lock);
      NetInterface* interface = state.interface(info.interface_index);
      if (interface)
        ndp_input(state, *interface, info, packet, outbox);
      else
        Packet::free(packet);
    }
    state.transmit(outbox);
    return;
  }
  if (packet->length() < kHeaderSize) {
    count(counters.icmp6_in_errors);
    Packet::free(packet);
    return;
  }
  if (type == kEchoRequest) {
    count(counters.icmp6_in_echos);
    // RFC 4443 4.2: a reply to a multicast request comes from a unicast address of ours.
    IpAddress source = info.destination;
    if (source.is_ipv6_multicast()) {
      auto chosen = state.stack.source_address_for(info.source);
      if (!chosen) {
        Packet::free(packet);
        return;
      }
      source = *chosen;
    }
    p[0] = std::byte{kEchoReply};
    store_be16(p + 2, 0);
    store_be16(p + 2, icmpv6_checksum(source, info.source, packet->bytes()));
    packet->offload = {};
    IpSendOptions options;
    options.tos = info.tos;
    options.dont_fragment = false;
    count(counters.icmp6_out_messages);
    count(counters.icmp6_out_echo_replies);
    (void)state.stack.ip_output(packet, source, info.source, kIpv6Icmp, options);
    return;
  }
  if (type == kEchoReply && code == 0 && state.stack.ping().receive_echo_reply(info, packet)) return;
  if (type == kDestinationUnreachable || type == kPacketTooBig || type == kTimeExceeded ||
      type == kParameterProblem)
    deliver_error(state, info, type, code, load_be32(p + 4), packet->bytes().subspan(kHeaderSize));
  // Echo replies no ping socket wanted and unknown informational messages (RFC 4443 2.4 b):
  // nothing more to do.
  Packet::free(packet);
}

void icmpv6_report_local_error(NetStack::State& state, std::span<const std::byte> original) {
  if (original.size() < kIpv6HeaderSize) return;
  IpReceiveInfo info;
  info.source = ipv6_address_from_bytes(original.data() + 8);
  info.destination = info.source;
  info.protocol = kIpv6Icmp;
  info.checksum_verified = true;
  deliver_error(state, info, kDestinationUnreachable, 3 /* address unreachable */, 0, original);
}

void icmpv6_send_error(NetStack::State& state, uint8_t type, uint8_t code, uint32_t rest,
                       std::span<const std::byte> original, bool even_multicast) {
  if (original.size() < kIpv6HeaderSize) return;
  const std::byte* p = original.data();
  IpAddress source = ipv6_address_from_bytes(p + 8);
  IpAddress destination = ipv6_address_from_bytes(p + 24);
  // RFC 4443 2.4 e: never to a source that does not name one host, never about a multicast
  // destination (but for the exceptions), never about an ICMPv6 error.
  if (source.is_any() || source.is_ipv6_multicast() || source.is_ipv4()) return;
  if (destination.is_ipv6_multicast() && !even_multicast) return;
  if (uint8_t(p[6]) == kIpv6Icmp && (original.size() < kIpv6HeaderSize + 1 || uint8_t(p[kIpv6HeaderSize]) < 128))
    return;
  {
    MutexGuard guard(state.lock);
    if (!state.icmp6_limiter.allow(state.stack.now_ns())) {
      count(state.counters.icmp6_out_rate_limited);
      return;
    }
  }
  IpAddress from = destination;
  if (destination.is_ipv6_multicast() || !state.stack.is_local_address(destination)) {
    auto chosen = state.stack.source_address_for(source);
    if (!chosen) return;
    from = *chosen;
  }
  // RFC 4443 2.4 c: as much of the offending datagram as fits the minimum MTU.
  size_t quote = std::min(original.size(), kIpv6MinimumMtu - kIpv6HeaderSize - kHeaderSize);
  auto allocated = Packet::try_allocate(Packet::kDefaultHeadroom + kHeaderSize + quote);
  if (!allocated) return;
  Packet* packet = *allocated;
  std::byte* out = packet->put(kHeaderSize + quote);
  out[0] = std::byte{type};
  out[1] = std::byte{code};
  store_be16(out + 2, 0);
  store_be32(out + 4, rest);
  std::memcpy(out + kHeaderSize, p, quote);
  store_be16(out + 2, icmpv6_checksum(from, source, packet->bytes()));
  count(state.counters.icmp6_out_messages);
  if (type == kDestinationUnreachable) count(state.counters.icmp6_out_destination_unreachables);
  IpSendOptions options;
  options.dont_fragment = false;
  (void)state.stack.ip_output(packet, from, source, kIpv6Icmp, options);
}

}  // namespace nimbus::net
