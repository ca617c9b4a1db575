// ARP (RFC 826): the neighbour cache, address resolution with queued datagrams, requests,
// replies and gratuitous announcements.
#include "kernel/net/arp.h"

#include <cstring>

#include "kernel/net/checksum.h"
#include "kernel/net/ethernet.h"
#include "kernel/net/net_interface.h"

namespace nimbus::net {

namespace {
constexpr size_t kArpSize = 28;
constexpr uint16_t kHardwareEthernet = 1;
constexpr uint16_t kOperationRequest = 1;
constexpr uint16_t kOperationReply = 2;
constexpr uint64_t kNever = ~0ull;
constexpr MacAddress kZeroMac{};

void drop_all(PacketList& list) {
  while (Packet* packet = list.pop_front()) Packet::free(packet);
}
}  // namespace

// RFC 826 "Packet format": hardware type, protocol type, address lengths, opcode, then
// sender and target hardware and protocol addresses.
Packet* arp_build(uint16_t operation, const MacAddress& sender_mac, Ipv4Address sender_ip,
                  const MacAddress& target_mac, Ipv4Address target_ip, const MacAddress& destination) {
  auto allocated = Packet::try_allocate(kEthernetHeaderSize + kArpSize + 32, kEthernetHeaderSize);
  if (!allocated) return nullptr;
  Packet* packet = *allocated;
  std::byte* p = packet->put(kArpSize);
  store_be16(p, kHardwareEthernet);
  store_be16(p + 2, kEtherTypeIpv4);
  p[4] = std::byte{6};
  p[5] = std::byte{4};
  store_be16(p + 6, operation);
  std::memcpy(p + 8, sender_mac.data(), 6);
  store_be32(p + 14, sender_ip.value);
  std::memcpy(p + 18, target_mac.data(), 6);
  store_be32(p + 24, target_ip.value);
  ethernet_push(*packet, destination, sender_mac, kEtherTypeArp);
  return packet;
}

ArpCache::~ArpCache() {
  for (ArpEntry& entry : m_entries) drop_all(entry.pending);
}

ArpEntry* ArpCache::find(uint32_t interface_index, Ipv4Address address) {
  for (ArpEntry& entry : m_entries)
    if (entry.state != ArpEntry::State::free && entry.interface_index == interface_index && entry.address == address)
      return &entry;
  return nullptr;
}

const ArpEntry* ArpCache::find(uint32_t interface_index, Ipv4Address address) const {
  return const_cast<ArpCache*>(this)->find(interface_index, address);
}

void ArpCache::release(ArpEntry& entry) {
  m_statistics.unresolved_drops += entry.pending.size();
  drop_all(entry.pending);
  entry.pending_bytes = 0;
  if (entry.state != ArpEntry::State::free) m_statistics.entries--;
  entry.state = ArpEntry::State::free;
  entry.requests_sent = 0;
}

// A free slot, else the entry learnt longest ago (an unanswered one first: it is the
// likeliest to be junk, e.g. a scan of the subnet).
ArpEntry* ArpCache::allocate(uint32_t interface_index, Ipv4Address address, uint64_t now) {
  ArpEntry* victim = nullptr;
  for (ArpEntry& entry : m_entries) {
    if (entry.state == ArpEntry::State::free) {
      victim = &entry;
      break;
    }
    if (!victim || entry.confirmed_ns < victim->confirmed_ns) victim = &entry;
  }
  release(*victim);
  victim->state = ArpEntry::State::incomplete;
  victim->interface_index = interface_index;
  victim->address = address;
  victim->mac = {};
  victim->confirmed_ns = 0;
  victim->next_request_ns = now;
  victim->requests_sent = 0;
  m_statistics.entries++;
  return victim;
}

void ArpCache::send_request(NetInterface& interface, ArpEntry& entry, uint64_t now, PacketList& outbox) {
  entry.requests_sent++;
  entry.next_request_ns = now + kRetransmitNs;
  // A probe of a known neighbour asks it directly (RFC 1122 2.3.2.1's unicast poll).
  const MacAddress& destination = entry.state == ArpEntry::State::probe ? entry.mac : kBroadcastMac;
  Packet* request = arp_build(kOperationRequest, interface.mac, interface.ipv4.address, kZeroMac, entry.address,
                              destination);
  if (!request) return;
  request->interface_index = interface.index;
  outbox.push_back(request);
  m_statistics.requests_sent++;
}

void ArpCache::learn(ArpEntry& entry, const MacAddress& mac, NetInterface& interface, uint64_t now,
                     PacketList& outbox) {
  entry.mac = mac;
  entry.state = ArpEntry::State::reachable;
  entry.confirmed_ns = now;
  entry.requests_sent = 0;
  entry.pending_bytes = 0;
  while (Packet* datagram = entry.pending.pop_front()) {
    if (!ethernet_push(*datagram, mac, interface.mac, kEtherTypeIpv4)) {
      Packet::free(datagram);
      continue;
    }
    datagram->interface_index = interface.index;
    outbox.push_back(datagram);
  }
}

void ArpCache::output(NetInterface& interface, Ipv4Address next_hop, Packet* datagram, uint64_t now,
                      PacketList& outbox) {
  ArpEntry* entry = find(interface.index, next_hop);
  if (entry && entry->state == ArpEntry::State::reachable && now - entry->confirmed_ns >= kReachableNs) {
    // RFC 1122 2.3.2.1: keep using a stale mapping while confirming it.
    entry->state = ArpEntry::State::probe;
    entry->requests_sent = 0;
    send_request(interface, *entry, now, outbox);
  }
  if (entry && entry->state != ArpEntry::State::incomplete) {
    if (!ethernet_push(*datagram, entry->mac, interface.mac, kEtherTypeIpv4)) {
      Packet::free(datagram);
      return;
    }
    datagram->interface_index = interface.index;
    outbox.push_back(datagram);
    return;
  }
  if (!entry) {
    entry = allocate(interface.index, next_hop, now);
    send_request(interface, *entry, now, outbox);
  }
  // Over the limit: the oldest go (Linux's neigh queue drops from the head too).
  while (!entry->pending.empty() && entry->pending_bytes + datagram->length() > kMaxPendingBytes) {
    Packet* oldest = entry->pending.pop_front();
    entry->pending_bytes -= oldest->length();
    Packet::free(oldest);
    m_statistics.queue_overflow_drops++;
  }
  entry->pending.push_back(datagram);
  entry->pending_bytes += datagram->length();
}

// RFC 826 "Packet Reception".
void ArpCache::receive(NetInterface& interface, Packet* packet, uint64_t now, PacketList& outbox) {
  if (packet->length() < kArpSize) {
    m_statistics.malformed++;
    Packet::free(packet);
    return;
  }
  const std::byte* p = packet->data();
  if (load_be16(p) != kHardwareEthernet || load_be16(p + 2) != kEtherTypeIpv4 || p[4] != std::byte{6} ||
      p[5] != std::byte{4}) {
    m_statistics.malformed++;
    Packet::free(packet);
    return;
  }
  uint16_t operation = load_be16(p + 6);
  MacAddress sender_mac;
  std::memcpy(sender_mac.data(), p + 8, 6);
  Ipv4Address sender_ip{load_be32(p + 14)};
  Ipv4Address target_ip{load_be32(p + 24)};
  Packet::free(packet);
  if (operation != kOperationRequest && operation != kOperationReply) {
    m_statistics.malformed++;
    return;
  }
  if (operation == kOperationRequest)
    m_statistics.requests_received++;
  else
    m_statistics.replies_received++;
  // A group address is never a host's, and our own frames looping back teach nothing.
  if ((sender_mac[0] & 1) || sender_mac == interface.mac) return;
  if (!interface.has_ipv4) return;
  bool for_us = target_ip == interface.ipv4.address;
  // Someone else claims our address: not learnt (RFC 5227's conflict is the admin's).
  if (sender_ip == interface.ipv4.address) return;

  // "?Do I have the hardware type / protocol address pair in my table? If so update it"
  // (merge_flag). This covers gratuitous ARP (sender == target) for neighbours we know.
  bool merged = false;
  if (!sender_ip.is_any()) {
    if (ArpEntry* entry = find(interface.index, sender_ip)) {
      learn(*entry, sender_mac, interface, now, outbox);
      merged = true;
    }
  }
  if (!for_us) return;
  // "If merge_flag is false, add the triplet" -- only when the frame is about us, so a
  // broadcast storm of other hosts' requests does not fill the cache.
  if (!merged && !sender_ip.is_any()) learn(*allocate(interface.index, sender_ip, now), sender_mac, interface, now, outbox);
  if (operation == kOperationRequest) {
    Packet* reply = arp_build(kOperationReply, interface.mac, interface.ipv4.address, sender_mac, sender_ip, sender_mac);
    if (!reply) return;
    reply->interface_index = interface.index;
    outbox.push_back(reply);
    m_statistics.replies_sent++;
  }
}

uint64_t ArpCache::tick(NetInterface* interfaces, size_t interface_count, uint64_t now, PacketList& outbox) {
  uint64_t next = kNever;
  for (ArpEntry& entry : m_entries) {
    if (entry.state == ArpEntry::State::free) continue;
    if (entry.interface_index == 0 || entry.interface_index > interface_count) {
      release(entry);
      continue;
    }
    NetInterface& interface = interfaces[entry.interface_index - 1];
    if (entry.state == ArpEntry::State::incomplete || entry.state == ArpEntry::State::probe) {
      if (now >= entry.next_request_ns) {
        if (entry.requests_sent >= kMaxRequests) {
          // No answer: the host is unreachable; what waited for it is dropped.
          release(entry);
          continue;
        }
        send_request(interface, entry, now, outbox);
      }
      if (entry.next_request_ns < next) next = entry.next_request_ns;
    } else if (now - entry.confirmed_ns >= 2 * kReachableNs) {
      // Unused for long: forget it rather than probe a host nobody talks to.
      release(entry);
    } else {
      uint64_t forget = entry.confirmed_ns + 2 * kReachableNs;
      if (forget < next) next = forget;
    }
  }
  return next;
}

void ArpCache::flush_interface(uint32_t interface_index) {
  for (ArpEntry& entry : m_entries)
    if (entry.state != ArpEntry::State::free && entry.interface_index == interface_index) release(entry);
}

void ArpCache::announce(NetInterface& interface, Ipv4Address address, PacketList& outbox) {
  Packet* request = arp_build(kOperationRequest, interface.mac, address, kZeroMac, address, kBroadcastMac);
  if (!request) return;
  request->interface_index = interface.index;
  outbox.push_back(request);
  m_statistics.requests_sent++;
}

bool ArpCache::lookup(uint32_t interface_index, Ipv4Address address, MacAddress& mac) const {
  const ArpEntry* entry = find(interface_index, address);
  if (!entry || entry->state == ArpEntry::State::incomplete) return false;
  mac = entry->mac;
  return true;
}

size_t ArpCache::pending_count(uint32_t interface_index, Ipv4Address address) const {
  const ArpEntry* entry = find(interface_index, address);
  return entry ? entry->pending.size() : 0;
}

}  // namespace nimbus::net
