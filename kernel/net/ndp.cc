// Neighbor Discovery (RFC 4861) and SLAAC (RFC 4862): the neighbour cache, solicitations
// and advertisements, router solicitations, and router advertisements' default router,
// prefixes and MTU.
#include "kernel/net/ndp.h"

#include <cstring>

#include "kernel/net/checksum.h"
#include "kernel/net/ethernet.h"
#include "kernel/net/ipv6.h"
#include "kernel/net/net_interface.h"
#include "kernel/net/net_stack_state.h"

namespace nimbus::net {

namespace {
constexpr uint64_t kNever = ~0ull;
constexpr uint8_t kOptionSourceLinkAddress = 1;
constexpr uint8_t kOptionTargetLinkAddress = 2;
constexpr uint8_t kOptionPrefixInformation = 3;
constexpr uint8_t kOptionMtu = 5;
constexpr uint8_t kNdpHopLimit = 255;
constexpr uint8_t kMaxRouterSolicitations = 3;                      // RFC 4861 10
constexpr uint64_t kRouterSolicitationIntervalNs = 4'000'000'000ull;  // RTR_SOLICITATION_INTERVAL
constexpr uint64_t kSecondNs = 1'000'000'000ull;

void drop_all(PacketList& list) {
  while (Packet* packet = list.pop_front()) Packet::free(packet);
}

// Sends an NDP message (`body`: after the 4-byte type/code/checksum) with hop limit 255.
void send_message(NetStack::State& state, NetInterface& interface, uint8_t type, std::span<const std::byte> body,
                  const IpAddress& source, const IpAddress& destination, PacketList& outbox) {
  auto allocated = Packet::try_allocate(Packet::kDefaultHeadroom + 4 + body.size());
  if (!allocated) return;
  Packet* packet = *allocated;
  std::byte* p = packet->put(4 + body.size());
  p[0] = std::byte{type};
  p[1] = std::byte{0};
  store_be16(p + 2, 0);
  std::memcpy(p + 4, body.data(), body.size());
  uint32_t sum = pseudo_header_sum_ipv6(source, destination, kIpv6Icmp, uint32_t(packet->length()));
  store_be16(p + 2, checksum_finish(checksum_add(sum, packet->bytes())));
  IpSendOptions options;
  options.ttl = kNdpHopLimit;
  options.dont_fragment = false;
  (void)ipv6_output_locked(state, interface, destination, packet, source, destination, kIpv6Icmp, options, outbox);
}

// A link-layer address option (RFC 4861 4.6.1) of our MAC.
void put_link_option(std::byte* p, uint8_t type, const MacAddress& mac) {
  p[0] = std::byte{type};
  p[1] = std::byte{1};  // 8 bytes
  std::memcpy(p + 2, mac.data(), 6);
}

// The options after a message's fixed part: false when one is malformed (RFC 4861 6.1:
// a zero length invalidates the whole message).
template <typename Visit>
bool walk_options(std::span<const std::byte> options, Visit visit) {
  size_t offset = 0;
  while (offset < options.size()) {
    if (options.size() - offset < 2) return false;
    size_t length = size_t(uint8_t(options[offset + 1])) * 8;
    if (length == 0 || length > options.size() - offset) return false;
    visit(uint8_t(options[offset]), options.subspan(offset, length));
    offset += length;
  }
  return true;
}

}  // namespace

// --- the cache ---

NeighborCache::~NeighborCache() {
  for (NeighborEntry& entry : m_entries) drop_all(entry.pending);
}

NeighborEntry* NeighborCache::find(uint32_t interface_index, const IpAddress& address) {
  for (NeighborEntry& entry : m_entries)
    if (entry.state != NeighborEntry::State::free && entry.interface_index == interface_index &&
        entry.address == address)
      return &entry;
  return nullptr;
}

void NeighborCache::release(NeighborEntry& entry, PacketList* failed) {
  m_statistics.unresolved_drops += entry.pending.size();
  if (failed) {
    while (Packet* datagram = entry.pending.pop_front()) failed->push_back(datagram);
  }
  drop_all(entry.pending);
  entry.pending_bytes = 0;
  if (entry.state != NeighborEntry::State::free) m_statistics.entries--;
  entry.state = NeighborEntry::State::free;
  entry.solicitations_sent = 0;
}

NeighborEntry* NeighborCache::allocate(uint32_t interface_index, const IpAddress& address, uint64_t now) {
  NeighborEntry* victim = nullptr;
  for (NeighborEntry& entry : m_entries) {
    if (entry.state == NeighborEntry::State::free) {
      victim = &entry;
      break;
    }
    if (!victim || entry.confirmed_ns < victim->confirmed_ns) victim = &entry;
  }
  release(*victim);
  victim->state = NeighborEntry::State::incomplete;
  victim->interface_index = interface_index;
  victim->address = address;
  victim->mac = {};
  victim->confirmed_ns = 0;
  victim->next_solicitation_ns = now;
  victim->solicitations_sent = 0;
  m_statistics.entries++;
  return victim;
}

void NeighborCache::solicit(NetStack::State& state, NetInterface& interface, NeighborEntry& entry, uint64_t now,
                            PacketList& outbox) {
  entry.solicitations_sent++;
  entry.next_solicitation_ns = now + kRetransmitNs;
  // RFC 4861 7.3.3: a probe of a known neighbour is unicast.
  ndp_send_solicitation(state, interface, entry.address, entry.state == NeighborEntry::State::probe, outbox);
}

void NeighborCache::learn(NetInterface& interface, const IpAddress& address, const MacAddress& mac, bool create,
                          uint64_t now, PacketList& outbox) {
  if (mac[0] & 1) return;  // a group address is never a neighbour's
  NeighborEntry* entry = find(interface.index, address);
  if (!entry) {
    if (!create) return;
    entry = allocate(interface.index, address, now);
  }
  entry->mac = mac;
  entry->state = NeighborEntry::State::reachable;
  entry->confirmed_ns = now;
  entry->solicitations_sent = 0;
  entry->pending_bytes = 0;
  while (Packet* datagram = entry->pending.pop_front()) {
    if (!ethernet_push(*datagram, mac, interface.mac, kEtherTypeIpv6)) {
      Packet::free(datagram);
      continue;
    }
    datagram->interface_index = interface.index;
    outbox.push_back(datagram);
  }
}

void NeighborCache::output(NetStack::State& state, NetInterface& interface, const IpAddress& next_hop,
                           Packet* datagram, uint64_t now, PacketList& outbox) {
  NeighborEntry* entry = find(interface.index, next_hop);
  if (entry && entry->state == NeighborEntry::State::reachable && now - entry->confirmed_ns >= kReachableNs) {
    // RFC 4861 7.3.3: STALE, then PROBE: keep sending while confirming.
    entry->state = NeighborEntry::State::probe;
    entry->solicitations_sent = 0;
    solicit(state, interface, *entry, now, outbox);
  }
  if (entry && entry->state != NeighborEntry::State::incomplete) {
    if (!ethernet_push(*datagram, entry->mac, interface.mac, kEtherTypeIpv6)) {
      Packet::free(datagram);
      return;
    }
    datagram->interface_index = interface.index;
    outbox.push_back(datagram);
    return;
  }
  if (!entry) {
    entry = allocate(interface.index, next_hop, now);
    solicit(state, interface, *entry, now, outbox);
  }
  while (!entry->pending.empty() && entry->pending_bytes + datagram->length() > kMaxPendingBytes) {
    Packet* oldest = entry->pending.pop_front();
    entry->pending_bytes -= oldest->length();
    Packet::free(oldest);
    m_statistics.unresolved_drops++;
  }
  entry->pending.push_back(datagram);
  entry->pending_bytes += datagram->length();
}

uint64_t NeighborCache::tick(NetStack::State& state, uint64_t now, PacketList& outbox, PacketList& failed) {
  uint64_t next = kNever;
  for (NeighborEntry& entry : m_entries) {
    if (entry.state == NeighborEntry::State::free) continue;
    NetInterface* interface = state.interface(entry.interface_index);
    if (!interface) {
      release(entry);
      continue;
    }
    if (entry.state == NeighborEntry::State::incomplete || entry.state == NeighborEntry::State::probe) {
      if (now >= entry.next_solicitation_ns) {
        if (entry.solicitations_sent >= kMaxSolicitations) {
          release(entry, &failed);
          continue;
        }
        solicit(state, *interface, entry, now, outbox);
      }
      if (entry.next_solicitation_ns < next) next = entry.next_solicitation_ns;
    } else if (now - entry.confirmed_ns >= 2 * kReachableNs) {
      release(entry);
    } else if (entry.confirmed_ns + 2 * kReachableNs < next) {
      next = entry.confirmed_ns + 2 * kReachableNs;
    }
  }
  return next;
}

void NeighborCache::flush_interface(uint32_t interface_index) {
  for (NeighborEntry& entry : m_entries)
    if (entry.state != NeighborEntry::State::free && entry.interface_index == interface_index) release(entry);
}

bool NeighborCache::lookup(uint32_t interface_index, const IpAddress& address, MacAddress& mac) const {
  NeighborEntry* entry = const_cast<NeighborCache*>(this)->find(interface_index, address);
  if (!entry || entry->state == NeighborEntry::State::incomplete) return false;
  mac = entry->mac;
  return true;
}

// --- messages ---

void ndp_send_solicitation(NetStack::State& state, NetInterface& interface, const IpAddress& target,
                           bool probe, PacketList& outbox) {
  const Ipv6InterfaceAddress* link_local = interface.ipv6_link_local();
  if (!link_local) return;
  // RFC 4861 4.3: reserved, target, our link-layer address.
  std::byte body[4 + 16 + 8] = {};
  std::memcpy(body + 4, target.bytes.data(), 16);
  put_link_option(body + 20, kOptionSourceLinkAddress, interface.mac);
  // A probe goes to the neighbour's known address: the cache frames it with the old
  // link-layer address while confirming it.
  IpAddress destination = probe ? target : ipv6_solicited_node(target);
  state.neighbors.statistics().solicitations_sent++;
  send_message(state, interface, kNdpNeighborSolicitation, body, link_local->address, destination, outbox);
}

namespace {

void send_router_solicitation(NetStack::State& state, NetInterface& interface, PacketList& outbox) {
  const Ipv6InterfaceAddress* link_local = interface.ipv6_link_local();
  if (!link_local) return;
  std::byte body[4 + 8] = {};
  put_link_option(body + 4, kOptionSourceLinkAddress, interface.mac);
  state.neighbors.statistics().router_solicitations_sent++;
  send_message(state, interface, kNdpRouterSolicitation, body, link_local->address, ipv6_all_routers(), outbox);
}

// RFC 4861 7.2.3/7.2.4: a solicitation for one of our addresses is answered; its sender's
// link-layer address is learnt.
void neighbor_solicitation(NetStack::State& state, NetInterface& interface, const IpReceiveInfo& info,
                           std::span<const std::byte> message, PacketList& outbox) {
  NeighborCache& cache = state.neighbors;
  cache.statistics().solicitations_received++;
  if (message.size() < 24) {
    cache.statistics().malformed++;
    return;
  }
  IpAddress target = ipv6_address_from_bytes(message.data() + 8);
  if (target.is_ipv6_multicast()) {
    cache.statistics().malformed++;
    return;
  }
  const MacAddress* source_mac = nullptr;
  MacAddress mac;
  bool valid = walk_options(message.subspan(24), [&](uint8_t type, std::span<const std::byte> option) {
    if (type == kOptionSourceLinkAddress && option.size() >= 8) {
      std::memcpy(mac.data(), option.data() + 2, 6);
      source_mac = &mac;
    }
  });
  // RFC 4861 7.1.1: from the unspecified address (duplicate address detection), no
  // link-layer option and a solicited-node destination.
  if (!valid || (info.source.is_any() && (source_mac || !info.destination.is_ipv6_multicast()))) {
    cache.statistics().malformed++;
    return;
  }
  if (!interface.find_ipv6(target)) return;
  uint64_t now = state.stack.now_ns();
  if (source_mac && !info.source.is_any()) cache.learn(interface, info.source, *source_mac, true, now, outbox);
  // RFC 4861 4.4: solicited (unless answering DAD) and override, our link-layer address.
  std::byte body[4 + 16 + 8] = {};
  body[0] = std::byte{info.source.is_any() ? uint8_t{0x20} : uint8_t{0x60}};
  std::memcpy(body + 4, target.bytes.data(), 16);
  put_link_option(body + 20, kOptionTargetLinkAddress, interface.mac);
  IpAddress destination = info.source.is_any() ? ipv6_all_nodes() : info.source;
  cache.statistics().advertisements_sent++;
  send_message(state, interface, kNdpNeighborAdvertisement, body, target, destination, outbox);
}

void neighbor_advertisement(NetStack::State& state, NetInterface& interface, const IpReceiveInfo& info,
                            std::span<const std::byte> message, PacketList& outbox) {
  NeighborCache& cache = state.neighbors;
  cache.statistics().advertisements_received++;
  if (message.size() < 24) {
    cache.statistics().malformed++;
    return;
  }
  bool solicited = (uint8_t(message[4]) & 0x40) != 0;
  IpAddress target = ipv6_address_from_bytes(message.data() + 8);
  // RFC 4861 7.1.2: never for a multicast target, never solicited when sent to a group.
  if (target.is_ipv6_multicast() || (solicited && info.destination.is_ipv6_multicast())) {
    cache.statistics().malformed++;
    return;
  }
  bool have_mac = false;
  MacAddress mac;
  bool valid = walk_options(message.subspan(24), [&](uint8_t type, std::span<const std::byte> option) {
    if (type == kOptionTargetLinkAddress && option.size() >= 8) {
      std::memcpy(mac.data(), option.data() + 2, 6);
      have_mac = true;
    }
  });
  if (!valid) {
    cache.statistics().malformed++;
    return;
  }
  if (have_mac && mac != interface.mac) cache.learn(interface, target, mac, false, state.stack.now_ns(), outbox);
}

// RFC 4861 6.3.4 and RFC 4862 5.5.3: a default router, on-link prefixes with SLAAC
// addresses, the link MTU.
void router_advertisement(NetStack::State& state, NetInterface& interface, const IpReceiveInfo& info,
                          std::span<const std::byte> message, PacketList& outbox) {
  NeighborCache& cache = state.neighbors;
  cache.statistics().router_advertisements_received++;
  // RFC 4861 6.1.2: from a link-local address, at least 16 bytes.
  if (message.size() < 16 || !info.source.is_link_local()) {
    cache.statistics().malformed++;
    return;
  }
  uint64_t now = state.stack.now_ns();
  uint16_t router_lifetime = load_be16(message.data() + 6);
  bool valid = walk_options(message.subspan(16), [](uint8_t, std::span<const std::byte>) {});
  if (!valid) {
    cache.statistics().malformed++;
    return;
  }
  interface.next_router_solicitation_ns = kNever;  // answered
  if (router_lifetime) {
    state.router6 = {info.source, interface.index, now + uint64_t(router_lifetime) * kSecondNs};
  } else if (state.router6.address == info.source) {
    state.router6 = {};
  }
  walk_options(message.subspan(16), [&](uint8_t type, std::span<const std::byte> option) {
    if (type == kOptionSourceLinkAddress && option.size() >= 8) {
      MacAddress mac;
      std::memcpy(mac.data(), option.data() + 2, 6);
      cache.learn(interface, info.source, mac, true, now, outbox);
    } else if (type == kOptionMtu && option.size() >= 8) {
      uint32_t mtu = load_be32(option.data() + 4);
      // RFC 4861 6.3.4: within the IPv6 minimum and what the device can carry.
      if (mtu >= kIpv6MinimumMtu && mtu <= interface.mtu) interface.ipv6_mtu = mtu;
    } else if (type == kOptionPrefixInformation && option.size() >= 32) {
      uint8_t prefix_length = uint8_t(option[2]);
      bool autonomous = (uint8_t(option[3]) & 0x40) != 0;
      uint32_t valid_lifetime = load_be32(option.data() + 4);
      uint32_t preferred_lifetime = load_be32(option.data() + 8);
      IpAddress prefix = ipv6_address_from_bytes(option.data() + 16);
      // RFC 4862 5.5.3 a-c: autonomous, not link-local, preferred <= valid; our interface
      // identifiers are 64 bits, so only /64 prefixes make addresses.
      if (!autonomous || prefix.is_link_local() || preferred_lifetime > valid_lifetime || prefix_length != 64)
        return;
      Ipv6InterfaceAddress address;
      address.address = ipv6_address_from_mac(prefix, interface.mac.data());
      address.prefix_length = prefix_length;
      address.autoconfigured = true;
      address.valid_until_ns = valid_lifetime == 0xffffffff ? kNever : now + uint64_t(valid_lifetime) * kSecondNs;
      if (valid_lifetime == 0) {
        // RFC 4862 5.5.3 e's two-hour rule keeps a known address; a new one is not made.
        if (!interface.find_ipv6(address.address)) return;
        address.valid_until_ns = now + 7200 * kSecondNs;
      }
      (void)state.add_ipv6_address_locked(interface, address);
    }
  });
}

}  // namespace

void ndp_input(NetStack::State& state, NetInterface& interface, const IpReceiveInfo& info, Packet* packet,
               PacketList& outbox) {
  std::span<const std::byte> message = packet->bytes();
  if (!interface.is_loopback()) {
    switch (uint8_t(message[0])) {
      case kNdpNeighborSolicitation: neighbor_solicitation(state, interface, info, message, outbox); break;
      case kNdpNeighborAdvertisement: neighbor_advertisement(state, interface, info, message, outbox); break;
      case kNdpRouterAdvertisement: router_advertisement(state, interface, info, message, outbox); break;
      default: break;  // a host ignores solicitations for routers and redirects
    }
  }
  Packet::free(packet);
}

uint64_t ndp_tick_routers(NetStack::State& state, uint64_t now, PacketList& outbox) {
  uint64_t next = kNever;
  for (size_t i = 0; i < state.interface_count; i++) {
    NetInterface& interface = state.interfaces[i];
    // Autoconfigured addresses whose prefix lifetime ran out (RFC 4862 5.5.4).
    for (size_t j = 0; j < interface.ipv6_count;) {
      if (interface.ipv6[j].valid_until_ns <= now) {
        interface.ipv6[j] = interface.ipv6[--interface.ipv6_count];
        continue;
      }
      if (interface.ipv6[j].valid_until_ns < next) next = interface.ipv6[j].valid_until_ns;
      j++;
    }
    if (interface.next_router_solicitation_ns == kNever) continue;
    if (now >= interface.next_router_solicitation_ns) {
      if (interface.router_solicitations >= kMaxRouterSolicitations) {
        interface.next_router_solicitation_ns = kNever;
        continue;
      }
      interface.router_solicitations++;
      interface.next_router_solicitation_ns = now + kRouterSolicitationIntervalNs;
      send_router_solicitation(state, interface, outbox);
    }
    if (interface.next_router_solicitation_ns < next) next = interface.next_router_solicitation_ns;
  }
  if (state.router6.interface_index && state.router6.expires_ns <= now) state.router6 = {};
  return next;
}

}  // namespace nimbus::net
