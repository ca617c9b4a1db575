// IPv4 (RFC 791, RFC 1122 3.2): header validation, local delivery, output with routing and
// fragmentation.
#include "kernel/net/ipv4.h"

#include <algorithm>
#include <cstring>

#include "kernel/net/checksum.h"
#include "kernel/net/ethernet.h"
#include "kernel/net/net_stack_state.h"
#include "kernel/net/tcp/tcp_protocol.h"
#include "kernel/net/tcp_segmentation.h"
#include "kernel/net/udp.h"

namespace nimbus::net {

namespace {
constexpr uint8_t kIcmpDestinationUnreachable = 3;
constexpr uint8_t kIcmpProtocolUnreachable = 2;
constexpr uint8_t kIcmpPortUnreachable = 3;
// What an ICMP error quotes of the offending datagram: as Linux's icmp_send, as much as
// fits a 576-byte reply (RFC 1812 4.3.2.3), so a sender's IP_RECVERR error queue gets back
// the data of a datagram nobody received.
constexpr size_t kQuoteLimit = 576 - 20 - 8;
}  // namespace

Ipv4ParseResult ipv4_parse(std::span<const std::byte> bytes, Ipv4Header& header, bool verify_checksum) {
  if (bytes.size() < kIpv4HeaderSize) return Ipv4ParseResult::truncated;
  const std::byte* p = bytes.data();
  if ((uint8_t(p[0]) >> 4) != 4) return Ipv4ParseResult::bad_version;
  size_t header_length = (uint8_t(p[0]) & 0xf) * 4;
  if (header_length < kIpv4HeaderSize || header_length > bytes.size()) return Ipv4ParseResult::bad_header_length;
  uint16_t total_length = load_be16(p + 2);
  if (total_length < header_length || total_length > bytes.size()) return Ipv4ParseResult::bad_total_length;
  if (verify_checksum && internet_checksum(bytes.first(header_length)) != 0) return Ipv4ParseResult::bad_checksum;
  header.header_length = static_cast<uint8_t>(header_length);
  header.tos = uint8_t(p[1]);
  header.total_length = total_length;
  header.id = load_be16(p + 4);
  uint16_t flags = load_be16(p + 6);
  header.dont_fragment = flags & 0x4000;
  header.more_fragments = flags & 0x2000;
  header.fragment_offset = static_cast<uint16_t>((flags & 0x1fff) * 8);
  header.ttl = uint8_t(p[8]);
  header.protocol = uint8_t(p[9]);
  header.source = {load_be32(p + 12)};
  header.destination = {load_be32(p + 16)};
  return Ipv4ParseResult::ok;
}

void ipv4_write_header(std::byte* p, const Ipv4Header& header) {
  p[0] = std::byte{0x45};
  p[1] = std::byte{header.tos};
  store_be16(p + 2, header.total_length);
  store_be16(p + 4, header.id);
  uint16_t flags = static_cast<uint16_t>(header.fragment_offset / 8);
  if (header.dont_fragment) flags |= 0x4000;
  if (header.more_fragments) flags |= 0x2000;
  store_be16(p + 6, flags);
  p[8] = std::byte{header.ttl};
  p[9] = std::byte{header.protocol};
  store_be16(p + 10, 0);
  store_be32(p + 12, header.source.value);
  store_be32(p + 16, header.destination.value);
  store_be16(p + 10, internet_checksum({p, kIpv4HeaderSize}));
}

// --- input ---

void ipv4_input(NetStack::State& state, uint32_t interface_index, Packet* packet) {
  NetStack& stack = state.stack;
  AtomicCounters& counters = state.counters;
  count(counters.ip_in_receives);
  bool loopback = false;
  {
    MutexGuard guard(state.lock);
    NetInterface* interface = state.interface(interface_index);
    if (!interface) {
      Packet::free(packet);
      return;
    }
    loopback = interface->is_loopback();
  }
  Ipv4Header header;
  // Loopback frames never left memory: their header checksum needs no check.
  Ipv4ParseResult parsed = ipv4_parse(packet->bytes(), header, !loopback);
  if (parsed != Ipv4ParseResult::ok) {
    count(counters.ip_in_header_errors);
    switch (parsed) {
      case Ipv4ParseResult::truncated: count(counters.ip_truncated); break;
      case Ipv4ParseResult::bad_version: count(counters.ip_bad_version); break;
      case Ipv4ParseResult::bad_header_length: count(counters.ip_bad_header_length); break;
      case Ipv4ParseResult::bad_total_length: count(counters.ip_bad_total_length); break;
      case Ipv4ParseResult::bad_checksum: count(counters.ip_bad_checksum); break;
      case Ipv4ParseResult::ok: break;
    }
    Packet::free(packet);
    return;
  }
  // Ethernet pads short frames to 60 bytes: the datagram ends where its header says.
  packet->trim(header.total_length);
  packet->interface_index = interface_index;

  // RFC 1122 3.2.1.3: a source that is a broadcast or multicast address is bogus, and a
  // 127/8 source belongs on loopback only (a "martian").
  if (header.source.is_broadcast() || header.source.is_multicast() || (!loopback && header.source.is_loopback())) {
    count(counters.ip_in_address_errors);
    Packet::free(packet);
    return;
  }

  NetStack::UdpHook hook{};
  bool local = false;
  bool broadcast = false;
  {
    MutexGuard guard(state.lock);
    NetInterface* interface = state.interface(interface_index);
    if (header.destination.is_broadcast() ||
        (interface && interface->has_ipv4 && header.destination == interface->subnet_broadcast())) {
      local = broadcast = true;
    } else if (loopback && header.destination.is_loopback()) {
      local = true;
    } else {
      local = state.is_local_ipv4(header.destination);
    }
    if (header.protocol == kIpProtocolUdp && !header.is_fragment() &&
        packet->length() >= header.header_length + 4u) {
      uint16_t port = load_be16(packet->data() + header.header_length + 2);
      for (const NetStack::UdpHook& candidate : state.hooks)
        if (candidate.callback && candidate.interface_index == interface_index && candidate.port == port)
          hook = candidate;
    }
  }
  if (!local && !hook.callback) {
    // Not ours, and this host does not forward (RFC 1122 3.3.1: hosts are not routers).
    count(counters.ip_in_address_errors);
    Packet::free(packet);
    return;
  }

  if (header.is_fragment()) {
    Packet* whole;
    {
      MutexGuard guard(state.lock);
      whole = state.reassembly.add(packet, header, stack.now_ns());
    }
    if (!whole) return;
    packet = whole;
    if (ipv4_parse(packet->bytes(), header, false) != Ipv4ParseResult::ok) {
      Packet::free(packet);
      return;
    }
  }

  IpReceiveInfo info;
  info.source = IpAddress::from_ipv4(header.source);
  info.destination = IpAddress::from_ipv4(header.destination);
  info.protocol = header.protocol;
  info.tos = header.tos;
  info.ttl = header.ttl;
  info.interface_index = interface_index;
  info.checksum_verified = packet->offload.checksum_verified;

  // Keep the start of the datagram for an ICMP error that may follow.
  std::byte quote[kQuoteLimit];
  size_t quote_length = std::min(packet->length(), kQuoteLimit);
  if (header.protocol != kIpProtocolTcp && header.protocol != kIpProtocolIcmp)
    std::memcpy(quote, packet->data(), quote_length);

  packet->pull(header.header_length);
  count(counters.ip_in_delivers);
  switch (header.protocol) {
    case kIpProtocolIcmp:
      icmp_input(state, info, packet);
      return;
    case kIpProtocolTcp:
      if (broadcast) break;  // RFC 1122 4.2.3.10: TCP is unicast only
      stack.tcp().receive(info, packet);
      return;
    case kIpProtocolUdp:
      if (hook.callback) {
        hook.callback(hook.context, info, packet);
        return;
      }
      if (!stack.udp().receive(info, packet) && !broadcast)
        icmp_send_error(state, kIcmpDestinationUnreachable, kIcmpPortUnreachable, 0, {quote, quote_length});
      return;
    default:
      count(counters.ip_in_unknown_protocols);
      Packet::free(packet);
      if (!broadcast)
        icmp_send_error(state, kIcmpDestinationUnreachable, kIcmpProtocolUnreachable, 0, {quote, quote_length});
      return;
  }
  Packet::free(packet);
}

// --- output ---

void finish_checksum_in_software(Packet& packet, size_t transport_start, uint8_t protocol) {
  size_t start = transport_start + packet.offload.checksum_start;
  size_t field = start + packet.offload.checksum_offset;
  packet.offload.checksum_needed = false;
  if (field + 2 > packet.length()) return;
  uint16_t checksum = checksum_finish(checksum_add(0, packet.bytes().subspan(start)));
  if (protocol == kIpProtocolUdp && checksum == 0) checksum = 0xffff;  // RFC 768: 0 means none
  store_be16(packet.data() + field, checksum);
}

Result<> ipv4_output_locked(NetStack::State& state, NetInterface& interface, Ipv4Address next_hop, Packet* packet,
                            Ipv4Address source, Ipv4Address destination, uint8_t protocol,
                            const IpSendOptions& options, PacketList& outbox) {
  size_t payload = packet->length();
  if (payload + kIpv4HeaderSize > kIpv4MaxDatagram) {
    Packet::free(packet);
    return error(Errno::emsgsize);
  }
  bool offloaded = options.checksum_offloaded && packet->offload.checksum_needed;
  // The smaller of the link's MTU and what PMTU discovery learnt about this destination.
  uint32_t mtu = state.path_mtu.lookup(destination, interface.mtu, state.stack.now_ns());
  bool fits = payload + kIpv4HeaderSize <= mtu;
  if (packet->offload.gso_size && !fits) {
    // A TSO segment: the device cuts it if it can, else it is cut here, each piece sent on.
    bool device_cuts = offloaded && protocol == kIpProtocolTcp && !interface.is_loopback() &&
                       interface.features.tx_checksum && interface.features.tcp_segmentation_ipv4 &&
                       tcp_segment_piece_length(*packet) + kIpv4HeaderSize <= mtu;
    if (!device_cuts) {
      PacketList pieces;
      TRY(tcp_segment_in_software(packet, IpAddress::from_ipv4(source), IpAddress::from_ipv4(destination), pieces));
      Result<> result;
      while (Packet* piece = pieces.pop_front()) {
        auto sent = ipv4_output_locked(state, interface, next_hop, piece, source, destination, protocol, options, outbox);
        if (!sent) result = sent;
      }
      return result;
    }
    fits = true;  // every piece does
  } else {
    packet->offload.gso_size = 0;  // one segment is enough
  }
  if (!fits && options.dont_fragment) {
    count(state.counters.ip_fragments_failed);
    Packet::free(packet);
    return error(Errno::emsgsize);
  }
  if (offloaded) {
    if (interface.is_loopback()) {
      // Never leaves memory: the receiver is told not to check (as Linux's loopback).
      packet->offload.checksum_needed = false;
      packet->offload.checksum_verified = true;
    } else if (!fits || !interface.features.tx_checksum) {
      finish_checksum_in_software(*packet, 0, protocol);
    } else {
      packet->offload.checksum_start =
          static_cast<uint16_t>(packet->offload.checksum_start + kIpv4HeaderSize + kEthernetHeaderSize);
    }
  } else {
    packet->offload.checksum_needed = false;
    packet->offload.gso_size = 0;
  }

  Ipv4Header header;
  header.tos = options.tos;
  header.ttl = options.ttl;
  header.protocol = protocol;
  header.source = source;
  header.destination = destination;
  header.dont_fragment = options.dont_fragment;
  header.id = state.next_ip_id++;
  count(state.counters.ip_out_requests);

  if (fits) {
    std::byte* p = packet->push(kIpv4HeaderSize);
    if (!p) {
      count(state.counters.ip_out_discards);
      Packet::free(packet);
      return error(Errno::enobufs);
    }
    header.total_length = static_cast<uint16_t>(packet->length());
    ipv4_write_header(p, header);
    state.link_output(interface, next_hop, packet, outbox);
    return {};
  }

  // RFC 791 3.2 "Fragmentation": every piece but the last carries a multiple of 8 bytes;
  // each gets a copy of the header with its offset and MF.
  size_t chunk = ((mtu - kIpv4HeaderSize) / 8) * 8;
  if (chunk == 0) {
    Packet::free(packet);
    return error(Errno::emsgsize);
  }
  PacketList fragments;
  for (size_t offset = 0; offset < payload; offset += chunk) {
    size_t length = std::min(chunk, payload - offset);
    auto allocated = Packet::try_allocate(Packet::kDefaultHeadroom + kIpv4HeaderSize + length);
    if (!allocated) {
      while (Packet* fragment = fragments.pop_front()) Packet::free(fragment);
      Packet::free(packet);
      count(state.counters.ip_fragments_failed);
      return error(Errno::enobufs);
    }
    Packet* fragment = *allocated;
    std::byte* p = fragment->put(kIpv4HeaderSize + length);
    std::memcpy(p + kIpv4HeaderSize, packet->data() + offset, length);
    header.fragment_offset = static_cast<uint16_t>(offset);
    header.more_fragments = offset + length < payload;
    header.total_length = static_cast<uint16_t>(kIpv4HeaderSize + length);
    ipv4_write_header(p, header);
    fragments.push_back(fragment);
  }
  Packet::free(packet);
  count(state.counters.ip_fragments_ok);
  while (Packet* fragment = fragments.pop_front()) {
    count(state.counters.ip_fragments_created);
    state.link_output(interface, next_hop, fragment, outbox);
  }
  return {};
}

Result<> NetStack::ip_output(Packet* packet, const IpAddress& source, const IpAddress& destination, uint8_t protocol,
                             const IpSendOptions& options) {
  if (!destination.is_ipv4()) return ipv6_send(*m_state, packet, source, destination, protocol, options);
  if (!source.is_ipv4() && !source.is_any()) {
    Packet::free(packet);
    return error(Errno::eafnosupport);
  }
  PacketList outbox;
  Result<> result;
  {
    MutexGuard guard(m_state->lock);
    auto route = m_state->route(destination.ipv4());
    if (!route) {
      count(m_state->counters.ip_out_no_routes);
      Packet::free(packet);
      return error(route.error());
    }
    Ipv4Address from = source.is_any() ? route->source : source.ipv4();
    NetInterface& interface = *m_state->interface(route->interface_index);
    result = ipv4_output_locked(*m_state, interface, route->next_hop, packet, from, destination.ipv4(), protocol,
                                options, outbox);
  }
  m_state->transmit(outbox);
  return result;
}

Result<> NetStack::ipv4_output_on_interface(uint32_t interface_index, Packet* packet, Ipv4Address source,
                                            Ipv4Address destination, uint8_t protocol, const IpSendOptions& options) {
  PacketList outbox;
  Result<> result;
  {
    MutexGuard guard(m_state->lock);
    NetInterface* interface = m_state->interface(interface_index);
    if (!interface) {
      Packet::free(packet);
      return error(Errno::enodev);
    }
    Ipv4Address next_hop = destination;
    if (!destination.is_broadcast() && !interface->on_link(destination) && !m_state->gateway.is_any() &&
        interface->on_link(m_state->gateway))
      next_hop = m_state->gateway;
    result = ipv4_output_locked(*m_state, *interface, next_hop, packet, source, destination, protocol, options, outbox);
  }
  m_state->transmit(outbox);
  return result;
}

Result<IpAddress> NetStack::source_address_for(const IpAddress& destination) {
  if (!destination.is_ipv4()) return ipv6_source_for(*m_state, destination);
  MutexGuard guard(m_state->lock);
  auto route = m_state->route(destination.ipv4());
  if (!route) return error(route.error());
  if (route->source.is_any()) return error(Errno::eaddrnotavail);
  return IpAddress::from_ipv4(route->source);
}

bool NetStack::is_local_address(const IpAddress& address) {
  MutexGuard guard(m_state->lock);
  if (!address.is_ipv4()) return m_state->is_local_ipv6(address);
  return m_state->is_local_ipv4(address.ipv4());
}

uint32_t NetStack::path_mtu(const IpAddress& destination) {
  constexpr uint32_t kMinimum = 576 - kIpv4HeaderSize;  // RFC 1122 3.3.3
  if (!destination.is_ipv4()) return ipv6_path_mtu(*m_state, destination);
  MutexGuard guard(m_state->lock);
  auto route = m_state->route(destination.ipv4());
  if (!route) return kMinimum;
  uint32_t mtu = m_state->path_mtu.lookup(destination.ipv4(), m_state->interface(route->interface_index)->mtu, now_ns());
  return mtu > kIpv4HeaderSize ? mtu - kIpv4HeaderSize : kMinimum;
}

uint32_t NetStack::tcp_segmentation_limit(const IpAddress& destination) {
  MutexGuard guard(m_state->lock);
  NetInterface* interface = nullptr;
  size_t ip_header = kIpv4HeaderSize;
  if (destination.is_ipv4()) {
    auto route = m_state->route(destination.ipv4());
    if (route) interface = m_state->interface(route->interface_index);
    if (interface && !interface->features.tcp_segmentation_ipv4) interface = nullptr;
  } else {
    ip_header = 40;  // kIpv6HeaderSize: an IPv6 payload length counts no header
    auto route = m_state->route_ipv6(destination);
    if (route) interface = m_state->interface(route->interface_index);
    if (interface && !interface->features.tcp_segmentation_ipv6) interface = nullptr;
  }
  if (!interface || interface->is_loopback() || !interface->features.tx_checksum) return 0;
  // 64 KiB less the IP header, as Linux's GSO_MAX_SIZE, so every length field holds it.
  return uint32_t(kIpv4MaxDatagram - ip_header);
}

}  // namespace nimbus::net
