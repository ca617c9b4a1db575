// ICMP (RFC 792): echo, destination unreachable in both directions, and the rate limit on
// what we send.
#include "kernel/net/icmp.h"

#include <algorithm>
#include <cstring>

#include "kernel/net/checksum.h"
#include "kernel/net/ipv4.h"
#include "kernel/net/net_stack_state.h"
#include "kernel/net/tcp/tcp_protocol.h"
#include "kernel/net/udp.h"

namespace nimbus::net {

bool RateLimiter::allow(uint64_t now) {
  if (last_ns == 0) last_ns = now;
  uint64_t elapsed = now - last_ns;
  uint64_t earned = elapsed * rate_per_second / 1'000'000'000ull;
  if (earned) {
    tokens = std::min(burst, tokens + earned);
    last_ns += earned * 1'000'000'000ull / rate_per_second;
  }
  if (tokens == 0) return false;
  tokens--;
  return true;
}

uint32_t PathMtuCache::lookup(const IpAddress& destination, uint32_t link_mtu, uint64_t now) {
  for (Entry& entry : entries) {
    if (entry.mtu == 0 || !(entry.destination == destination)) continue;
    if (now >= entry.expires_ns) {
      entry.mtu = 0;  // RFC 1191 6.3: forget it, probe the link MTU again
      continue;
    }
    return entry.mtu < link_mtu ? entry.mtu : link_mtu;
  }
  return link_mtu;
}

void PathMtuCache::learn(const IpAddress& destination, uint32_t mtu, uint64_t now) {
  uint32_t minimum = destination.is_ipv4() ? kMinimum : 1280;
  if (mtu < minimum) mtu = minimum;
  Entry* slot = nullptr;
  for (Entry& entry : entries) {
    if (entry.mtu != 0 && entry.destination == destination) {
      slot = &entry;
      break;
    }
    if (!slot && (entry.mtu == 0 || now >= entry.expires_ns)) slot = &entry;
  }
  if (!slot) {
    // Full: replace the entry closest to expiry.
    slot = &entries[0];
    for (Entry& entry : entries)
      if (entry.expires_ns < slot->expires_ns) slot = &entry;
  }
  slot->destination = destination;
  slot->mtu = mtu;
  slot->expires_ns = now + kLifetimeNs;
}

uint32_t path_mtu_plateau_below(uint32_t total_length) {
  static constexpr uint32_t kPlateaus[] = {65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};
  for (uint32_t plateau : kPlateaus)
    if (plateau < total_length) return plateau;
  return 68;
}

namespace {

bool is_error_type(uint8_t type) {
  return type == kIcmpDestinationUnreachable || type == kIcmpTimeExceeded || type == kIcmpParameterProblem ||
         type == 4 /* source quench */ || type == 5 /* redirect */;
}

// An error about a datagram we sent: find whose it was from the quoted header.
void deliver_error(NetStack::State& state, const IpReceiveInfo& info, uint8_t type, uint8_t code, uint32_t rest,
                   std::span<const std::byte> quoted) {
  Ipv4Header original;
  // The quote may be cut short after 8 transport bytes: parse against what is there, with
  // the total length allowed to exceed it.
  if (quoted.size() < kIpv4HeaderSize) return;
  const std::byte* p = quoted.data();
  if ((uint8_t(p[0]) >> 4) != 4) return;
  size_t header_length = (uint8_t(p[0]) & 0xf) * 4;
  if (header_length < kIpv4HeaderSize || quoted.size() < header_length + 8) return;
  original.protocol = uint8_t(p[9]);
  original.source = {load_be32(p + 12)};
  original.destination = {load_be32(p + 16)};
  // Only errors about datagrams this host could have sent.
  if (!state.stack.is_local_address(IpAddress::from_ipv4(original.source))) return;
  uint32_t next_hop_mtu = 0;
  if (type == kIcmpDestinationUnreachable && code == kIcmpFragmentationNeeded) {
    // RFC 1191 4: the next-hop MTU is the low 16 bits; an old router says 0 (then guess
    // from the datagram's own length, RFC 1191 7.1).
    next_hop_mtu = rest & 0xffff;
    if (next_hop_mtu == 0) next_hop_mtu = path_mtu_plateau_below(load_be16(p + 2));
    if (next_hop_mtu >= 68) {
      MutexGuard guard(state.lock);
      state.path_mtu.learn(IpAddress::from_ipv4(original.destination), next_hop_mtu, state.stack.now_ns());
    }
  }
  std::span<const std::byte> transport = quoted.subspan(header_length);
  IpAddress destination = IpAddress::from_ipv4(original.destination);
  if (original.protocol == kIpProtocolTcp) {
    state.stack.tcp().icmp_error(info, type, code, next_hop_mtu, destination, transport);
  } else if (original.protocol == kIpProtocolUdp) {
    state.stack.udp().icmp_error(info, type, code, IpAddress::from_ipv4(original.source), destination, transport,
                                 next_hop_mtu);
  }
}

}  // namespace

void icmp_report_local_error(NetStack::State& state, uint8_t type, uint8_t code, std::span<const std::byte> original) {
  if (original.size() < kIpv4HeaderSize) return;
  IpReceiveInfo info;
  // "From" this host: no router was involved.
  info.source = IpAddress::from_ipv4({load_be32(original.data() + 12)});
  info.destination = info.source;
  info.protocol = kIpProtocolIcmp;
  info.checksum_verified = true;
  deliver_error(state, info, type, code, 0, original);
}

void icmp_input(NetStack::State& state, const IpReceiveInfo& info, Packet* packet) {
  AtomicCounters& counters = state.counters;
  count(counters.icmp_in_messages);
  if (packet->length() < kIcmpHeaderSize ||
      (!info.checksum_verified && internet_checksum(packet->bytes()) != 0)) {
    count(counters.icmp_in_errors);
    Packet::free(packet);
    return;
  }
  std::byte* p = packet->data();
  uint8_t type = uint8_t(p[0]);
  uint8_t code = uint8_t(p[1]);
  uint32_t rest = load_be32(p + 4);

  if (type == kIcmpEchoRequest) {
    count(counters.icmp_in_echos);
    // RFC 1122 3.2.2.6 allows ignoring broadcast echoes; Linux does by default (smurf).
    if (!state.stack.is_local_address(info.destination)) {
      Packet::free(packet);
      return;
    }
    // The reply is the request with its type changed: same id, sequence and data.
    p[0] = std::byte{kIcmpEchoReply};
    store_be16(p + 2, 0);
    store_be16(p + 2, internet_checksum(packet->bytes()));
    packet->offload = {};
    IpSendOptions options;
    options.tos = info.tos;
    options.dont_fragment = false;
    count(counters.icmp_out_messages);
    count(counters.icmp_out_echo_replies);
    (void)state.stack.ip_output(packet, info.destination, info.source, kIpProtocolIcmp, options);
    return;
  }
  if (type == kIcmpEchoReply) {
    count(counters.icmp_in_echo_replies);
    if (code == 0 && state.stack.ping().receive_echo_reply(info, packet)) return;
    Packet::free(packet);
    return;
  }
  if (is_error_type(type)) {
    if (type == kIcmpDestinationUnreachable) count(counters.icmp_in_destination_unreachables);
    if (type == kIcmpDestinationUnreachable || type == kIcmpTimeExceeded || type == kIcmpParameterProblem)
      deliver_error(state, info, type, code, rest, packet->bytes().subspan(kIcmpHeaderSize));
  }
  Packet::free(packet);
}

void icmp_send_error(NetStack::State& state, uint8_t type, uint8_t code, uint32_t rest,
                     std::span<const std::byte> original) {
  Ipv4Header header;
  if (original.size() < kIpv4HeaderSize) return;
  const std::byte* p = original.data();
  size_t header_length = (uint8_t(p[0]) & 0xf) * 4;
  if (header_length < kIpv4HeaderSize || header_length > original.size()) return;
  header.protocol = uint8_t(p[9]);
  header.source = {load_be32(p + 12)};
  header.destination = {load_be32(p + 16)};
  uint16_t fragment = load_be16(p + 6) & 0x1fff;
  // RFC 1122 3.2.2: never about an ICMP error, a later fragment, a broadcast or multicast,
  // or a source that does not name one host.
  if (fragment != 0) return;
  if (header.destination.is_broadcast() || header.destination.is_multicast()) return;
  if (header.source.is_any() || header.source.is_broadcast() || header.source.is_multicast()) return;
  if (header.protocol == kIpProtocolIcmp) {
    if (original.size() < header_length + 1 || is_error_type(uint8_t(original[header_length]))) return;
  }
  {
    MutexGuard guard(state.lock);
    if (!state.icmp_limiter.allow(state.stack.now_ns())) {
      count(state.counters.icmp_out_rate_limited);
      return;
    }
  }
  auto allocated = Packet::try_allocate(Packet::kDefaultHeadroom + kIcmpHeaderSize + original.size());
  if (!allocated) return;
  Packet* packet = *allocated;
  std::byte* out = packet->put(kIcmpHeaderSize + original.size());
  out[0] = std::byte{type};
  out[1] = std::byte{code};
  store_be16(out + 2, 0);
  store_be32(out + 4, rest);
  std::memcpy(out + kIcmpHeaderSize, original.data(), original.size());
  store_be16(out + 2, internet_checksum(packet->bytes()));
  count(state.counters.icmp_out_messages);
  if (type == kIcmpDestinationUnreachable) count(state.counters.icmp_out_destination_unreachables);
  IpSendOptions options;
  options.dont_fragment = false;
  options.tos = 0xc0;  // RFC 1812 4.3.2.5: internetwork control precedence
  IpAddress source = state.stack.is_local_address(IpAddress::from_ipv4(header.destination))
                         ? IpAddress::from_ipv4(header.destination)
                         : IpAddress{};
  (void)state.stack.ip_output(packet, source, IpAddress::from_ipv4(header.source), kIpProtocolIcmp, options);
}

}  // namespace nimbus::net
