// IPv6 (RFC 8200, RFC 4291): header validation, extension headers, local delivery,
// routing and source address selection (RFC 6724, simplified), output with fragmentation.
#include "kernel/net/ipv6.h"

#include <algorithm>
#include <cstring>

#include "kernel/net/checksum.h"
#include "kernel/net/ipv4.h"
#include "kernel/net/ethernet.h"
#include "kernel/net/net_stack_state.h"
#include "kernel/net/tcp/tcp_protocol.h"
#include "kernel/net/tcp_segmentation.h"
#include "kernel/net/udp.h"

namespace nimbus::net {

namespace {
constexpr uint8_t kIcmpv6DestinationUnreachable = 1;
constexpr uint8_t kIcmpv6ParameterProblem = 4;
constexpr uint8_t kIcmpv6PortUnreachable = 4;
constexpr uint8_t kParameterErroneousField = 0;
constexpr uint8_t kParameterUnknownNextHeader = 1;
constexpr uint8_t kParameterUnknownOption = 2;
// What an ICMPv6 error raised after the transport took the datagram quotes of it: as much
// as fits the minimum MTU (RFC 4443 2.4 c), for the sender's IPV6_RECVERR error queue.
constexpr size_t kQuoteLimit = 1280 - 40 - 8;
}  // namespace

Ipv6ParseResult ipv6_parse(std::span<const std::byte> bytes, Ipv6Header& header) {
  if (bytes.size() < kIpv6HeaderSize) return Ipv6ParseResult::truncated;
  const std::byte* p = bytes.data();
  if ((uint8_t(p[0]) >> 4) != 6) return Ipv6ParseResult::bad_version;
  uint16_t payload_length = load_be16(p + 4);
  if (payload_length == 0 || payload_length > bytes.size() - kIpv6HeaderSize)
    return Ipv6ParseResult::bad_payload_length;
  uint32_t first = load_be32(p);
  header.traffic_class = static_cast<uint8_t>(first >> 20);
  header.flow_label = first & 0xfffff;
  header.payload_length = payload_length;
  header.next_header = uint8_t(p[6]);
  header.hop_limit = uint8_t(p[7]);
  std::memcpy(header.source.bytes.data(), p + 8, 16);
  std::memcpy(header.destination.bytes.data(), p + 24, 16);
  return Ipv6ParseResult::ok;
}

void ipv6_write_header(std::byte* p, const Ipv6Header& header) {
  store_be32(p, (uint32_t{6} << 28) | (uint32_t{header.traffic_class} << 20) | (header.flow_label & 0xfffff));
  store_be16(p + 4, header.payload_length);
  p[6] = std::byte{header.next_header};
  p[7] = std::byte{header.hop_limit};
  std::memcpy(p + 8, header.source.bytes.data(), 16);
  std::memcpy(p + 24, header.destination.bytes.data(), 16);
}

IpAddress ipv6_address_from_bytes(const std::byte* p) {
  IpAddress address;
  std::memcpy(address.bytes.data(), p, 16);
  return address;
}

IpAddress ipv6_solicited_node(const IpAddress& address) {
  IpAddress group;
  group.bytes[0] = 0xff;
  group.bytes[1] = 0x02;
  group.bytes[11] = 0x01;
  group.bytes[12] = 0xff;
  group.bytes[13] = address.bytes[13];
  group.bytes[14] = address.bytes[14];
  group.bytes[15] = address.bytes[15];
  return group;
}

IpAddress ipv6_all_nodes() {
  IpAddress group;
  group.bytes[0] = 0xff;
  group.bytes[1] = 0x02;
  group.bytes[15] = 0x01;
  return group;
}

IpAddress ipv6_all_routers() {
  IpAddress group = ipv6_all_nodes();
  group.bytes[15] = 0x02;
  return group;
}

IpAddress ipv6_address_from_mac(const IpAddress& prefix, const uint8_t mac[6]) {
  IpAddress address;
  std::memcpy(address.bytes.data(), prefix.bytes.data(), 8);
  address.bytes[8] = mac[0] ^ 0x02;  // the universal/local bit, inverted (RFC 4291 2.5.1)
  address.bytes[9] = mac[1];
  address.bytes[10] = mac[2];
  address.bytes[11] = 0xff;
  address.bytes[12] = 0xfe;
  address.bytes[13] = mac[3];
  address.bytes[14] = mac[4];
  address.bytes[15] = mac[5];
  return address;
}

void ipv6_multicast_mac(const IpAddress& group, uint8_t mac[6]) {
  mac[0] = 0x33;
  mac[1] = 0x33;
  mac[2] = group.bytes[12];
  mac[3] = group.bytes[13];
  mac[4] = group.bytes[14];
  mac[5] = group.bytes[15];
}

// --- addresses and routes (lock held) ---

bool NetStack::State::is_local_ipv6(const IpAddress& address) {
  for (size_t i = 0; i < interface_count; i++)
    if (interfaces[i].find_ipv6(address)) return true;
  return false;
}

Result<> NetStack::State::add_ipv6_address_locked(NetInterface& interface, const Ipv6InterfaceAddress& address) {
  for (size_t i = 0; i < interface.ipv6_count; i++) {
    if (interface.ipv6[i].address == address.address) {
      interface.ipv6[i] = address;
      return {};
    }
  }
  if (interface.ipv6_count == NetInterface::kMaxIpv6Addresses) return error(Errno::enospc);
  interface.ipv6[interface.ipv6_count++] = address;
  return {};
}

namespace {

size_t common_prefix_bits(const IpAddress& a, const IpAddress& b) {
  size_t bits = 0;
  for (size_t i = 0; i < 16; i++) {
    uint8_t difference = a.bytes[i] ^ b.bytes[i];
    if (!difference) {
      bits += 8;
      continue;
    }
    while (!(difference & 0x80)) {
      bits++;
      difference = static_cast<uint8_t>(difference << 1);
    }
    break;
  }
  return bits;
}

// RFC 6724 5, the rules that matter on a host with one link: the same scope as the
// destination (rule 2), then the longest matching prefix (rule 8).
IpAddress select_source(const NetInterface& interface, const IpAddress& destination) {
  const Ipv6InterfaceAddress* link_local = interface.ipv6_link_local();
  if (destination.is_link_local() || destination.is_ipv6_multicast())
    return link_local ? link_local->address : IpAddress{};
  const Ipv6InterfaceAddress* best = nullptr;
  for (size_t i = 0; i < interface.ipv6_count; i++) {
    const Ipv6InterfaceAddress& candidate = interface.ipv6[i];
    if (candidate.address.is_link_local() || candidate.address.is_ipv6_loopback()) continue;
    if (!best || common_prefix_bits(candidate.address, destination) > common_prefix_bits(best->address, destination))
      best = &candidate;
  }
  if (best) return best->address;
  return link_local ? link_local->address : IpAddress{};
}

}  // namespace

Result<Ipv6Route> NetStack::State::route_ipv6(const IpAddress& destination) {
  Ipv6Route route;
  if (destination.is_any() || destination.is_ipv4()) return error(Errno::enetunreach);
  if (destination.is_ipv6_loopback() || is_local_ipv6(destination)) {
    // Our own addresses go through lo, from themselves (Linux's local table).
    NetInterface* lo = loopback_interface();
    if (!lo || !lo->has_ipv6()) return error(Errno::enetunreach);
    route.interface_index = lo->index;
    route.next_hop = destination;
    route.source = destination;
    return route;
  }
  auto first_link = [&]() -> NetInterface* {
    for (size_t i = 0; i < interface_count; i++)
      if (!interfaces[i].is_loopback() && interfaces[i].has_ipv6()) return &interfaces[i];
    return nullptr;
  };
  if (destination.is_link_local() || destination.is_ipv6_multicast()) {
    // Link scope without a scope id: the first link (a unikernel's usual single NIC).
    NetInterface* link = first_link();
    if (!link) return error(Errno::enetunreach);
    route.interface_index = link->index;
    route.next_hop = destination;
    route.source = select_source(*link, destination);
    return route;
  }
  NetInterface* direct = nullptr;
  size_t longest = 0;
  for (size_t i = 0; i < interface_count; i++) {
    NetInterface& interface = interfaces[i];
    if (interface.is_loopback()) continue;
    for (size_t j = 0; j < interface.ipv6_count; j++) {
      const Ipv6InterfaceAddress& address = interface.ipv6[j];
      if (address.prefix_length >= 128 || address.address.is_link_local()) continue;
      if (destination.matches_prefix(address.address, address.prefix_length) &&
          (!direct || address.prefix_length > longest)) {
        direct = &interface;
        longest = address.prefix_length;
      }
    }
  }
  if (direct) {
    route.interface_index = direct->index;
    route.next_hop = destination;
    route.source = select_source(*direct, destination);
    return route;
  }
  if (router6.interface_index && router6.expires_ns > stack.now_ns()) {
    if (NetInterface* via = interface(router6.interface_index)) {
      route.interface_index = via->index;
      route.next_hop = router6.address;
      route.source = select_source(*via, destination);
      return route;
    }
  }
  return error(Errno::enetunreach);
}

void NetStack::State::link_output_ipv6(NetInterface& interface, const IpAddress& next_hop, Packet* datagram,
                                       PacketList& outbox) {
  datagram->interface_index = interface.index;
  if (interface.is_loopback()) {
    outbox.push_back(datagram);
    return;
  }
  if (next_hop.is_ipv6_multicast()) {
    MacAddress group;
    ipv6_multicast_mac(next_hop, group.data());
    if (!ethernet_push(*datagram, group, interface.mac, kEtherTypeIpv6)) {
      Packet::free(datagram);
      return;
    }
    outbox.push_back(datagram);
    return;
  }
  neighbors.output(*this, interface, next_hop, datagram, stack.now_ns(), outbox);
}

// --- input ---

namespace {

// The groups an interface listens to (RFC 4291 2.8): all nodes, and each of its addresses'
// solicited-node group.
bool listens_to(const NetInterface& interface, const IpAddress& group) {
  IpAddress interface_local_all_nodes = ipv6_all_nodes();
  interface_local_all_nodes.bytes[1] = 0x01;
  if (group == ipv6_all_nodes() || group == interface_local_all_nodes) return true;
  for (size_t i = 0; i < interface.ipv6_count; i++)
    if (group == ipv6_solicited_node(interface.ipv6[i].address)) return true;
  return false;
}

enum class OptionVerdict : uint8_t { accept, drop, drop_and_report, drop_and_report_unicast };

// RFC 8200 4.2: walks the TLV options of a hop-by-hop or destination options header at
// `start` (`length` bytes, its two leading bytes included). `bad_at` is where a malformed
// or unknown option starts.
OptionVerdict check_options(std::span<const std::byte> datagram, size_t start, size_t length, size_t& bad_at) {
  size_t end = start + length;
  for (size_t i = start + 2; i < end;) {
    uint8_t type = uint8_t(datagram[i]);
    if (type == 0) {  // Pad1
      i++;
      continue;
    }
    bad_at = i;
    if (i + 2 > end) return OptionVerdict::drop_and_report;
    size_t option_length = uint8_t(datagram[i + 1]);
    if (i + 2 + option_length > end) return OptionVerdict::drop_and_report;
    switch (type) {
      case 1:     // PadN
      case 5:     // Router Alert (RFC 2711): nothing for a host to do
        break;
      default:
        switch (type >> 6) {
          case 0: break;
          case 1: return OptionVerdict::drop;
          case 2: return OptionVerdict::drop_and_report;
          default: return OptionVerdict::drop_and_report_unicast;
        }
    }
    i += 2 + option_length;
  }
  return OptionVerdict::accept;
}

}  // namespace

void ipv6_input(NetStack::State& state, uint32_t interface_index, Packet* packet) {
  NetStack& stack = state.stack;
  AtomicCounters& counters = state.counters;
  count(counters.ip6_in_receives);
  bool loopback = false;
  bool local = false;
  bool multicast = false;
  Ipv6Header header;
  auto discard = [&](std::atomic<uint64_t>& counter) {
    count(counter);
    Packet::free(packet);
  };
  if (ipv6_parse(packet->bytes(), header) != Ipv6ParseResult::ok) return discard(counters.ip6_in_header_errors);
  // Ethernet pads short frames: the datagram ends where its header says.
  packet->trim(kIpv6HeaderSize + header.payload_length);
  packet->interface_index = interface_index;
  {
    MutexGuard guard(state.lock);
    NetInterface* interface = state.interface(interface_index);
    // An interface without IPv6 (no link-local address yet) takes none.
    if (!interface || !interface->has_ipv6()) return discard(counters.ip6_in_discards);
    loopback = interface->is_loopback();
    if (header.destination.is_ipv6_multicast()) {
      multicast = local = loopback || listens_to(*interface, header.destination);
    } else {
      local = state.is_local_ipv6(header.destination);
    }
  }
  // RFC 4291 2.5.3 and 2.7: ::1 never appears on a link, a multicast address is never a
  // source; RFC 4291 2.5.5.2: IPv4-mapped addresses are not for the wire (a transport would
  // take them for IPv4).
  if (header.source.is_ipv6_multicast() || header.source.is_ipv4() || header.destination.is_ipv4() ||
      (!loopback && (header.source.is_ipv6_loopback() || header.destination.is_ipv6_loopback())))
    return discard(counters.ip6_in_address_errors);
  // Not ours: a host does not forward (RFC 8200 4: hosts are not routers).
  if (!local) return discard(counters.ip6_in_address_errors);

  // RFC 8200 4.1: walk the extension headers in order; hop-by-hop only first.
  uint8_t next = header.next_header;
  size_t offset = kIpv6HeaderSize;
  size_t next_field = 6;  // where `next` was read from (parameter problem's pointer)
  bool first = true;
  for (;;) {
    std::span<const std::byte> datagram = packet->bytes();
    if (next == kIpv6HopByHop && !first) {
      icmpv6_send_error(state, kIcmpv6ParameterProblem, kParameterUnknownNextHeader, uint32_t(next_field), datagram);
      return discard(counters.ip6_in_header_errors);
    }
    first = false;
    if (next == kIpv6NoNextHeader) return discard(counters.ip6_in_delivers);
    if (next == kIpv6HopByHop || next == kIpv6DestinationOptions || next == kIpv6Routing) {
      if (datagram.size() - offset < 8) {
        icmpv6_send_error(state, kIcmpv6ParameterProblem, kParameterErroneousField, 4, datagram);
        return discard(counters.ip6_in_header_errors);
      }
      size_t length = (size_t(uint8_t(datagram[offset + 1])) + 1) * 8;
      if (length > datagram.size() - offset) {
        icmpv6_send_error(state, kIcmpv6ParameterProblem, kParameterErroneousField, uint32_t(offset + 1), datagram);
        return discard(counters.ip6_in_header_errors);
      }
      if (next == kIpv6Routing) {
        // RFC 8200 4.4: with segments left, an unknown routing type is an error; a host
        // knows none (type 0 is deprecated by RFC 5095). With none left, it is skipped.
        if (uint8_t(datagram[offset + 3]) != 0) {
          icmpv6_send_error(state, kIcmpv6ParameterProblem, kParameterErroneousField, uint32_t(offset + 2),
                            datagram);
          return discard(counters.ip6_in_header_errors);
        }
      } else {
        size_t bad_at = 0;
        OptionVerdict verdict = check_options(datagram, offset, length, bad_at);
        if (verdict != OptionVerdict::accept) {
          bool report = verdict == OptionVerdict::drop_and_report ||
                        (verdict == OptionVerdict::drop_and_report_unicast && !multicast);
          if (report)
            icmpv6_send_error(state, kIcmpv6ParameterProblem, kParameterUnknownOption, uint32_t(bad_at), datagram,
                              true);
          return discard(counters.ip6_in_header_errors);
        }
      }
      next_field = offset;
      next = uint8_t(datagram[offset]);
      offset += length;
      continue;
    }
    if (next == kIpv6Fragment) {
      if (datagram.size() - offset < kIpv6FragmentHeaderSize) return discard(counters.ip6_in_header_errors);
      uint16_t field = load_be16(datagram.data() + offset + 2);
      if ((field & 0xfff9) == 0) {
        // RFC 6946: an "atomic fragment" (offset 0, no more) is processed as is.
        next_field = offset;
        next = uint8_t(datagram[offset]);
        offset += kIpv6FragmentHeaderSize;
        continue;
      }
      packet->pull(offset);
      Packet* whole;
      {
        MutexGuard guard(state.lock);
        whole = state.reassembly6.add(packet, header, stack.now_ns());
      }
      if (!whole) return;
      packet = whole;
      if (ipv6_parse(packet->bytes(), header) != Ipv6ParseResult::ok) return discard(counters.ip6_in_header_errors);
      next = header.next_header;
      offset = kIpv6HeaderSize;
      next_field = 6;
      continue;
    }
    break;
  }

  IpReceiveInfo info;
  info.source = header.source;
  info.destination = header.destination;
  info.protocol = next;
  info.tos = header.traffic_class;
  info.ttl = header.hop_limit;
  info.interface_index = interface_index;
  info.checksum_verified = packet->offload.checksum_verified;

  if (next != kIpProtocolTcp && next != kIpv6Icmp && next != kIpProtocolUdp) {
    count(counters.ip6_in_unknown_protocols);
    icmpv6_send_error(state, kIcmpv6ParameterProblem, kParameterUnknownNextHeader, uint32_t(next_field),
                      packet->bytes());
    Packet::free(packet);
    return;
  }
  std::byte quote[kQuoteLimit];
  size_t quote_length = 0;
  if (next == kIpProtocolUdp && !multicast) {
    quote_length = std::min(packet->length(), kQuoteLimit);
    std::memcpy(quote, packet->data(), quote_length);
  }
  packet->pull(offset);
  count(counters.ip6_in_delivers);
  switch (next) {
    case kIpv6Icmp:
      icmpv6_input(state, info, packet);
      return;
    case kIpProtocolTcp:
      if (multicast) break;  // TCP is unicast only
      stack.tcp().receive(info, packet);
      return;
    default:
      if (!stack.udp().receive(info, packet) && !multicast)
        icmpv6_send_error(state, kIcmpv6DestinationUnreachable, kIcmpv6PortUnreachable, 0, {quote, quote_length});
      return;
  }
  Packet::free(packet);
}

// --- output ---

Result<> ipv6_output_locked(NetStack::State& state, NetInterface& interface, const IpAddress& next_hop,
                            Packet* packet, const IpAddress& source, const IpAddress& destination,
                            uint8_t next_header, const IpSendOptions& options, PacketList& outbox) {
  size_t payload = packet->length();
  if (payload > 65535) {
    Packet::free(packet);
    return error(Errno::emsgsize);
  }
  uint32_t mtu = state.path_mtu.lookup(destination, interface.link_mtu_ipv6(), state.stack.now_ns());
  if (mtu < kIpv6MinimumMtu) mtu = kIpv6MinimumMtu;
  bool fits = payload + kIpv6HeaderSize <= mtu;
  bool offloaded = options.checksum_offloaded && packet->offload.checksum_needed;
  if (packet->offload.gso_size && !fits) {
    // A TSO segment: the device cuts it if it can, else it is cut here, each piece sent on.
    bool device_cuts = offloaded && next_header == kIpProtocolTcp && !interface.is_loopback() &&
                       interface.features.tx_checksum && interface.features.tcp_segmentation_ipv6 &&
                       tcp_segment_piece_length(*packet) + kIpv6HeaderSize <= mtu;
    if (!device_cuts) {
      PacketList pieces;
      TRY(tcp_segment_in_software(packet, source, destination, pieces));
      Result<> result;
      while (Packet* piece = pieces.pop_front()) {
        auto sent = ipv6_output_locked(state, interface, next_hop, piece, source, destination, next_header, options, outbox);
        if (!sent) result = sent;
      }
      return result;
    }
    fits = true;  // every piece does
  } else {
    packet->offload.gso_size = 0;  // one segment is enough
  }
  if (!fits && options.dont_fragment) {
    Packet::free(packet);
    return error(Errno::emsgsize);
  }
  if (offloaded) {
    if (interface.is_loopback()) {
      packet->offload.checksum_needed = false;
      packet->offload.checksum_verified = true;
    } else if (!fits || !interface.features.tx_checksum) {
      finish_checksum_in_software(*packet, 0, next_header);
    } else {
      packet->offload.checksum_start =
          static_cast<uint16_t>(packet->offload.checksum_start + kIpv6HeaderSize + kEthernetHeaderSize);
    }
  } else {
    packet->offload.checksum_needed = false;
    packet->offload.gso_size = 0;
  }

  Ipv6Header header;
  header.traffic_class = options.tos;
  header.hop_limit = options.ttl;
  header.source = source;
  header.destination = destination;
  count(state.counters.ip6_out_requests);
  if (fits) {
    std::byte* p = packet->push(kIpv6HeaderSize);
    if (!p) {
      Packet::free(packet);
      return error(Errno::enobufs);
    }
    header.next_header = next_header;
    header.payload_length = static_cast<uint16_t>(payload);
    ipv6_write_header(p, header);
    state.link_output_ipv6(interface, next_hop, packet, outbox);
    return {};
  }

  // RFC 8200 4.5: only the source fragments. Every piece but the last carries a multiple
  // of 8 bytes after its fragment header; all share one identification.
  size_t chunk = ((mtu - kIpv6HeaderSize - kIpv6FragmentHeaderSize) / 8) * 8;
  uint32_t id = ++state.next_ipv6_fragment_id;
  header.next_header = kIpv6Fragment;
  PacketList fragments;
  for (size_t offset = 0; offset < payload; offset += chunk) {
    size_t length = std::min(chunk, payload - offset);
    auto allocated =
        Packet::try_allocate(Packet::kDefaultHeadroom + kIpv6HeaderSize + kIpv6FragmentHeaderSize + length);
    if (!allocated) {
      while (Packet* fragment = fragments.pop_front()) Packet::free(fragment);
      Packet::free(packet);
      return error(Errno::enobufs);
    }
    Packet* fragment = *allocated;
    std::byte* p = fragment->put(kIpv6HeaderSize + kIpv6FragmentHeaderSize + length);
    header.payload_length = static_cast<uint16_t>(kIpv6FragmentHeaderSize + length);
    ipv6_write_header(p, header);
    std::byte* f = p + kIpv6HeaderSize;
    f[0] = std::byte{next_header};
    f[1] = std::byte{0};
    bool more = offset + length < payload;
    store_be16(f + 2, static_cast<uint16_t>(offset | (more ? 1 : 0)));
    store_be32(f + 4, id);
    std::memcpy(f + kIpv6FragmentHeaderSize, packet->data() + offset, length);
    fragments.push_back(fragment);
  }
  Packet::free(packet);
  while (Packet* fragment = fragments.pop_front()) {
    count(state.counters.ip6_fragments_created);
    state.link_output_ipv6(interface, next_hop, fragment, outbox);
  }
  return {};
}

// --- the stack's IPv6 interface ---

Result<> NetStack::add_ipv6_address(uint32_t interface_index, const IpAddress& address, uint8_t prefix_length) {
  if (prefix_length > 128 || address.is_ipv4() || address.is_any() || address.is_ipv6_multicast())
    return error(Errno::einval);
  MutexGuard guard(m_state->lock);
  NetInterface* interface = m_state->interface(interface_index);
  if (!interface) return error(Errno::enodev);
  Ipv6InterfaceAddress entry;
  entry.address = address;
  entry.prefix_length = prefix_length;
  return m_state->add_ipv6_address_locked(*interface, entry);
}

Result<> NetStack::enable_ipv6(uint32_t interface_index) {
  {
    MutexGuard guard(m_state->lock);
    NetInterface* interface = m_state->interface(interface_index);
    if (!interface) return error(Errno::enodev);
    if (interface->is_loopback()) return error(Errno::einval);
    IpAddress link_local_prefix;
    link_local_prefix.bytes[0] = 0xfe;
    link_local_prefix.bytes[1] = 0x80;
    Ipv6InterfaceAddress entry;
    entry.address = ipv6_address_from_mac(link_local_prefix, interface->mac.data());
    entry.prefix_length = 64;
    TRY(m_state->add_ipv6_address_locked(*interface, entry));
    // RFC 4861 6.3.7: the first solicitation after a random delay of up to a second.
    interface->router_solicitations = 0;
    interface->next_router_solicitation_ns = now_ns() + m_environment.random64() % 1'000'000'000ull;
  }
  // The worker may be sleeping until a later deadline (or none).
  m_environment.request_poll();
  return {};
}

Result<> ipv6_send(NetStack::State& state, Packet* packet, const IpAddress& source, const IpAddress& destination,
                   uint8_t protocol, const IpSendOptions& options) {
  if (source.is_ipv4()) {
    Packet::free(packet);
    return error(Errno::eafnosupport);
  }
  PacketList outbox;
  Result<> result;
  {
    MutexGuard guard(state.lock);
    auto route = state.route_ipv6(destination);
    if (!route) {
      count(state.counters.ip6_out_no_routes);
      Packet::free(packet);
      return error(route.error());
    }
    IpAddress from = source.is_any() ? route->source : source;
    if (from.is_any()) {
      Packet::free(packet);
      return error(Errno::eaddrnotavail);
    }
    NetInterface& interface = *state.interface(route->interface_index);
    result = ipv6_output_locked(state, interface, route->next_hop, packet, from, destination, protocol, options,
                                outbox);
  }
  state.transmit(outbox);
  return result;
}

Result<IpAddress> ipv6_source_for(NetStack::State& state, const IpAddress& destination) {
  MutexGuard guard(state.lock);
  Ipv6Route route = TRY(state.route_ipv6(destination));
  if (route.source.is_any()) return error(Errno::eaddrnotavail);
  return route.source;
}

uint32_t ipv6_path_mtu(NetStack::State& state, const IpAddress& destination) {
  constexpr uint32_t kMinimum = kIpv6MinimumMtu - kIpv6HeaderSize;
  MutexGuard guard(state.lock);
  auto route = state.route_ipv6(destination);
  if (!route) return kMinimum;
  uint32_t mtu =
      state.path_mtu.lookup(destination, state.interface(route->interface_index)->link_mtu_ipv6(), state.stack.now_ns());
  return mtu > kIpv6MinimumMtu ? mtu - kIpv6HeaderSize : kMinimum;
}

}  // namespace nimbus::net
