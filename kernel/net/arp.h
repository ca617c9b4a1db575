// ARP (RFC 826) for IPv4 over Ethernet: the neighbour cache (entries expire and are
// re-requested), the datagrams waiting for an address to resolve, and the requests and
// replies on the wire.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/net/ip_address.h"
#include "kernel/net/net_device.h"
#include "kernel/net/packet.h"

namespace nimbus::net {

struct NetInterface;

struct ArpEntry {
  enum class State : uint8_t {
    free,
    incomplete,  // requested, no answer yet: datagrams wait in `pending`
    reachable,   // answered within kReachableNs
    probe,       // expired but in use: sending with the old address while re-requesting
  };
  State state = State::free;
  uint32_t interface_index = 0;
  Ipv4Address address;
  MacAddress mac{};
  uint64_t confirmed_ns = 0;     // when the mapping was last learnt
  uint64_t next_request_ns = 0;  // incomplete/probe: when to ask again
  uint8_t requests_sent = 0;
  PacketList pending;  // IP datagrams (no link header) waiting for `mac`
  size_t pending_bytes = 0;
};

struct ArpStatistics {
  uint64_t requests_sent = 0, replies_sent = 0, requests_received = 0, replies_received = 0;
  uint64_t malformed = 0, unresolved_drops = 0, queue_overflow_drops = 0, entries = 0;
};

// All methods run with the stack's lock held; frames to send are appended to `outbox` (their
// interface_index says where) and sent by the caller once the lock is released.
class ArpCache {
 public:
  static constexpr size_t kCapacity = 64;
  // What may wait for one unresolved address (Linux: unres_qlen_bytes), so a burst of
  // fragments of one large datagram survives the first resolution.
  static constexpr size_t kMaxPendingBytes = 65536;
  static constexpr uint64_t kReachableNs = 60'000'000'000ull;
  static constexpr uint64_t kRetransmitNs = 1'000'000'000ull;
  static constexpr uint8_t kMaxRequests = 3;

  ArpCache() = default;
  ~ArpCache();
  ArpCache(const ArpCache&) = delete;
  ArpCache& operator=(const ArpCache&) = delete;

  // Sends `datagram` (an IP datagram) to `next_hop` on `interface`: adds the Ethernet
  // header now if the address is known, otherwise queues it and asks (a full queue drops
  // the oldest).
  void output(NetInterface& interface, Ipv4Address next_hop, Packet* datagram, uint64_t now, PacketList& outbox);
  // An ARP frame (packet->data() at the ARP header) from `interface`. Frees the packet.
  void receive(NetInterface& interface, Packet* packet, uint64_t now, PacketList& outbox);
  // Retransmits requests, gives up on silent addresses (their datagrams are dropped), ages
  // entries out. Returns when it wants to run again (kNoTimer-like ~0: nothing pending).
  uint64_t tick(NetInterface* interfaces, size_t interface_count, uint64_t now, PacketList& outbox);
  // Forgets every entry of an interface (its address changed).
  void flush_interface(uint32_t interface_index);
  // Sends a gratuitous ARP request announcing `address` (RFC 5227 2.4's announcement).
  void announce(NetInterface& interface, Ipv4Address address, PacketList& outbox);

  // The mapping, if reachable (tests, /proc/net/arp).
  bool lookup(uint32_t interface_index, Ipv4Address address, MacAddress& mac) const;
  size_t pending_count(uint32_t interface_index, Ipv4Address address) const;
  const ArpStatistics& statistics() const { return m_statistics; }

 private:
  ArpEntry* find(uint32_t interface_index, Ipv4Address address);
  const ArpEntry* find(uint32_t interface_index, Ipv4Address address) const;
  ArpEntry* allocate(uint32_t interface_index, Ipv4Address address, uint64_t now);
  void release(ArpEntry& entry);
  void send_request(NetInterface& interface, ArpEntry& entry, uint64_t now, PacketList& outbox);
  void learn(ArpEntry& entry, const MacAddress& mac, NetInterface& interface, uint64_t now, PacketList& outbox);

  ArpEntry m_entries[kCapacity];
  ArpStatistics m_statistics;
};

// Builds an ARP frame, Ethernet header included (nullptr: no memory).
Packet* arp_build(uint16_t operation, const MacAddress& sender_mac, Ipv4Address sender_ip,
                  const MacAddress& target_mac, Ipv4Address target_ip, const MacAddress& destination);

}  // namespace nimbus::net
