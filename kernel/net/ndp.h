// Neighbor Discovery for IPv6 (RFC 4861) and stateless address autoconfiguration (RFC
// 4862): the neighbour cache (IPv6's ARP), neighbour solicitations and advertisements,
// router solicitations, and what router advertisements teach (a default router, prefixes
// for SLAAC addresses, the link MTU).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/net/ip_address.h"
#include "kernel/net/net_device.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/packet.h"

namespace nimbus::net {

struct NetInterface;

// ICMPv6 types of Neighbor Discovery (RFC 4861 4).
constexpr uint8_t kNdpRouterSolicitation = 133;
constexpr uint8_t kNdpRouterAdvertisement = 134;
constexpr uint8_t kNdpNeighborSolicitation = 135;
constexpr uint8_t kNdpNeighborAdvertisement = 136;
constexpr uint8_t kNdpRedirect = 137;

struct NeighborEntry {
  enum class State : uint8_t {
    free,
    incomplete,  // solicited, no answer yet: datagrams wait in `pending`
    reachable,   // confirmed within kReachableNs
    probe,       // expired but in use: sending with the old address while soliciting again
  };
  State state = State::free;
  uint32_t interface_index = 0;
  IpAddress address;
  MacAddress mac{};
  uint64_t confirmed_ns = 0;
  uint64_t next_solicitation_ns = 0;
  uint8_t solicitations_sent = 0;
  PacketList pending;  // IPv6 datagrams (no link header) waiting for `mac`
  size_t pending_bytes = 0;
};

struct NdpStatistics {
  uint64_t solicitations_sent = 0, advertisements_sent = 0, solicitations_received = 0,
           advertisements_received = 0, router_solicitations_sent = 0, router_advertisements_received = 0;
  uint64_t malformed = 0, unresolved_drops = 0, entries = 0;
};

// Runs under the stack's lock (NetStack::State::lock); frames to send go to `outbox`.
class NeighborCache {
 public:
  static constexpr size_t kCapacity = 64;
  static constexpr size_t kMaxPendingBytes = 65536;
  static constexpr uint64_t kReachableNs = 30'000'000'000ull;  // RFC 4861 10: REACHABLE_TIME
  static constexpr uint64_t kRetransmitNs = 1'000'000'000ull;  // RETRANS_TIMER
  static constexpr uint8_t kMaxSolicitations = 3;              // MAX_MULTICAST_SOLICIT

  NeighborCache() = default;
  ~NeighborCache();
  NeighborCache(const NeighborCache&) = delete;
  NeighborCache& operator=(const NeighborCache&) = delete;

  // Sends `datagram` (an IPv6 datagram) to `next_hop`: framed now if the neighbour is
  // known, else queued while a solicitation asks for it.
  void output(NetStack::State& state, NetInterface& interface, const IpAddress& next_hop, Packet* datagram,
              uint64_t now, PacketList& outbox);
  // A link-layer address learnt from a solicitation's or advertisement's option. `create`:
  // make an entry if there is none (RFC 4861 7.2.3: a solicitation for us does).
  void learn(NetInterface& interface, const IpAddress& address, const MacAddress& mac, bool create, uint64_t now,
             PacketList& outbox);
  // Resends solicitations, gives up on silent neighbours (their datagrams go to `failed`),
  // forgets unused entries. Returns when it wants to run again (~0: never).
  uint64_t tick(NetStack::State& state, uint64_t now, PacketList& outbox, PacketList& failed);
  void flush_interface(uint32_t interface_index);

  bool lookup(uint32_t interface_index, const IpAddress& address, MacAddress& mac) const;
  NdpStatistics& statistics() { return m_statistics; }

 private:
  NeighborEntry* find(uint32_t interface_index, const IpAddress& address);
  NeighborEntry* allocate(uint32_t interface_index, const IpAddress& address, uint64_t now);
  void release(NeighborEntry& entry, PacketList* failed = nullptr);
  void solicit(NetStack::State& state, NetInterface& interface, NeighborEntry& entry, uint64_t now,
               PacketList& outbox);

  NeighborEntry m_entries[kCapacity];
  NdpStatistics m_statistics;
};

// Lock held. An NDP message (packet->data() at its ICMPv6 header, checksum already
// checked) that arrived on `interface`. Frees the packet.
void ndp_input(NetStack::State& state, NetInterface& interface, const IpReceiveInfo& info, Packet* packet,
               PacketList& outbox);
// Lock held. Sends a neighbour solicitation for `target` (to its solicited-node group, or
// to the neighbour itself when `probe`: confirming a known neighbour).
void ndp_send_solicitation(NetStack::State& state, NetInterface& interface, const IpAddress& target,
                           bool probe, PacketList& outbox);
// Lock held. Router solicitations due on any interface; returns the next deadline.
uint64_t ndp_tick_routers(NetStack::State& state, uint64_t now, PacketList& outbox);

}  // namespace nimbus::net
