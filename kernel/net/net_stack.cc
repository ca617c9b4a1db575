// NetStack: interfaces and addresses, routing, the receive dispatch by EtherType, the
// deferred queue and the timer list that poll() runs.
#include "kernel/net/net_stack.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "kernel/lib/ref_ptr.h"
#include "kernel/net/ethernet.h"
#include "kernel/net/icmp.h"
#include "kernel/net/net_stack_state.h"
#include "kernel/net/tcp/tcp_protocol.h"
#include "kernel/net/udp.h"

namespace nimbus::net {

namespace {
constexpr uint64_t kNever = ~0ull;
}

NetStack::NetStack(NetEnvironment& environment) : m_environment(environment) {
  // The kernel cannot run without its stack: allocation at boot does not fail in practice,
  // and the members are used unconditionally afterwards.
  m_state = new (kNoThrow) State(*this);
  m_state->next_ip_id = static_cast<uint16_t>(environment.random64());
  m_state->next_ipv6_fragment_id = static_cast<uint32_t>(environment.random64());
  m_tcp = new (kNoThrow) TcpProtocol(*this);
  m_udp = new (kNoThrow) UdpProtocol(*this);
  m_ping = new (kNoThrow) UdpProtocol(*this, UdpProtocol::Kind::ping);
}

NetStack::~NetStack() {
  delete m_tcp;
  delete m_udp;
  delete m_ping;
  while (Packet* packet = m_state->deferred.pop_front()) Packet::free(packet);
  delete m_state;
}

// --- interfaces and addresses ---

Result<uint32_t> NetStack::add_interface(NetDevice& device) {
  MutexGuard guard(m_state->lock);
  if (m_state->interface_count == State::kMaxInterfaces) return error(Errno::enospc);
  NetInterface& interface = m_state->interfaces[m_state->interface_count];
  interface = NetInterface{};
  interface.index = static_cast<uint32_t>(++m_state->interface_count);
  interface.device = &device;
  interface.mac = device.mac();
  interface.mtu = device.mtu();
  interface.features = device.features();
  return interface.index;
}

Result<> NetStack::set_ipv4_address(uint32_t interface_index, InterfaceAddress address) {
  if (address.prefix_length > 32) return error(Errno::einval);
  PacketList outbox;
  {
    MutexGuard guard(m_state->lock);
    NetInterface* interface = m_state->interface(interface_index);
    if (!interface) return error(Errno::enodev);
    interface->has_ipv4 = true;
    interface->ipv4 = address;
    m_state->arp.flush_interface(interface_index);
    // Announce the address so neighbours with a stale mapping learn ours (RFC 5227 3).
    if (!interface->is_loopback()) m_state->arp.announce(*interface, address.address, outbox);
  }
  m_state->transmit(outbox);
  return {};
}

Result<> NetStack::clear_ipv4_address(uint32_t interface_index) {
  MutexGuard guard(m_state->lock);
  NetInterface* interface = m_state->interface(interface_index);
  if (!interface) return error(Errno::enodev);
  interface->has_ipv4 = false;
  interface->ipv4 = {};
  m_state->arp.flush_interface(interface_index);
  return {};
}

Result<InterfaceAddress> NetStack::ipv4_address(uint32_t interface_index) {
  MutexGuard guard(m_state->lock);
  NetInterface* interface = m_state->interface(interface_index);
  if (!interface) return error(Errno::enodev);
  if (!interface->has_ipv4) return error(Errno::enoent);
  return interface->ipv4;
}

Result<> NetStack::set_ipv4_gateway(Ipv4Address gateway) {
  MutexGuard guard(m_state->lock);
  m_state->gateway = gateway;
  return {};
}

Ipv4Address NetStack::ipv4_gateway() {
  MutexGuard guard(m_state->lock);
  return m_state->gateway;
}

NetDevice* NetStack::device(uint32_t interface_index) {
  MutexGuard guard(m_state->lock);
  NetInterface* interface = m_state->interface(interface_index);
  return interface ? interface->device : nullptr;
}

size_t NetStack::interface_count() const {
  MutexGuard guard(m_state->lock);
  return m_state->interface_count;
}

NetInterface* NetStack::State::loopback_interface() {
  for (size_t i = 0; i < interface_count; i++)
    if (interfaces[i].is_loopback()) return &interfaces[i];
  return nullptr;
}

bool NetStack::State::is_local_ipv4(Ipv4Address address) {
  for (size_t i = 0; i < interface_count; i++)
    if (interfaces[i].has_ipv4 && interfaces[i].ipv4.address == address) return true;
  // Linux's "local" table covers all of 127/8 once lo is up.
  if (address.is_loopback()) {
    NetInterface* lo = loopback_interface();
    return lo && lo->has_ipv4;
  }
  return false;
}

// RFC 1122 3.3.1: local addresses and 127/8 go through loopback; on-link destinations
// directly (the longest prefix wins); everything else to the default gateway.
Result<Ipv4Route> NetStack::State::route(Ipv4Address destination) {
  Ipv4Route route;
  if (destination.is_loopback() || is_local_ipv4(destination)) {
    NetInterface* lo = loopback_interface();
    if (!lo) return error(Errno::enetunreach);
    route.interface_index = lo->index;
    route.next_hop = destination;
    // Linux's local routes prefer lo's address (127.0.0.1) for 127/8, the address itself
    // for our other addresses.
    route.source = destination.is_loopback() && lo->has_ipv4 ? lo->ipv4.address : destination;
    return route;
  }
  // The on-link interface with the longest prefix covering `address` (nullptr: none).
  auto on_link = [&](Ipv4Address address) -> NetInterface* {
    NetInterface* best = nullptr;
    for (size_t i = 0; i < interface_count; i++) {
      NetInterface& interface = interfaces[i];
      if (interface.is_loopback() || !interface.has_ipv4) continue;
      bool matches = address.is_broadcast() || interface.on_link(address);
      if (matches && (!best || interface.ipv4.prefix_length > best->ipv4.prefix_length)) best = &interface;
    }
    return best;
  };
  if (NetInterface* direct = on_link(destination)) {
    route.interface_index = direct->index;
    route.next_hop = destination;
    route.source = direct->ipv4.address;
    return route;
  }
  if (!gateway.is_any() && !destination.is_broadcast()) {
    if (NetInterface* via = on_link(gateway)) {
      route.interface_index = via->index;
      route.next_hop = gateway;
      route.source = via->ipv4.address;
      return route;
    }
  }
  return error(Errno::enetunreach);
}

void NetStack::State::link_output(NetInterface& interface, Ipv4Address next_hop, Packet* datagram,
                                  PacketList& outbox) {
  datagram->interface_index = interface.index;
  if (interface.is_loopback()) {
    outbox.push_back(datagram);
    return;
  }
  MacAddress destination;
  if (next_hop.is_broadcast() || (interface.has_ipv4 && next_hop == interface.subnet_broadcast())) {
    destination = kBroadcastMac;
  } else if (next_hop.is_multicast()) {
    destination = ipv4_multicast_mac(next_hop.value);
  } else {
    arp.output(interface, next_hop, datagram, stack.now_ns(), outbox);
    return;
  }
  if (!ethernet_push(*datagram, destination, interface.mac, kEtherTypeIpv4)) {
    Packet::free(datagram);
    return;
  }
  outbox.push_back(datagram);
}

void NetStack::State::transmit(PacketList& outbox) {
  while (Packet* frame = outbox.pop_front()) {
    NetDevice* device;
    {
      MutexGuard guard(lock);
      NetInterface* target = interface(frame->interface_index);
      device = target ? target->device : nullptr;
    }
    if (!device) {
      Packet::free(frame);
      continue;
    }
    (void)device->transmit(frame);  // ENOBUFS: dropped, as Linux drops on a full queue
  }
}

// --- receiving ---

void NetStack::receive(uint32_t interface_index, Packet* packet) {
  NetInterface interface;
  {
    MutexGuard guard(m_state->lock);
    NetInterface* found = m_state->interface(interface_index);
    if (!found) {
      Packet::free(packet);
      return;
    }
    interface = *found;
  }
  packet->interface_index = interface_index;
  if (interface.is_loopback()) {
    // No link header: the version nibble says which IP it is.
    if (packet->length() >= 1 && (uint8_t(packet->data()[0]) >> 4) == 6)
      ipv6_input(*m_state, interface_index, packet);
    else
      ipv4_input(*m_state, interface_index, packet);
    return;
  }
  EthernetHeader header;
  if (!ethernet_pull(*packet, header)) {
    count(m_state->counters.link_malformed);
    Packet::free(packet);
    return;
  }
  if (!ethernet_accepts(header.destination, interface.mac)) {
    count(m_state->counters.link_not_for_us);
    Packet::free(packet);
    return;
  }
  switch (header.type) {
    case kEtherTypeIpv4:
      ipv4_input(*m_state, interface_index, packet);
      return;
    case kEtherTypeIpv6:
      ipv6_input(*m_state, interface_index, packet);
      return;
    case kEtherTypeArp: {
      PacketList outbox;
      {
        MutexGuard guard(m_state->lock);
        NetInterface* live = m_state->interface(interface_index);
        m_state->arp.receive(*live, packet, now_ns(), outbox);
      }
      m_state->transmit(outbox);
      return;
    }
    default:
      count(m_state->counters.link_unknown_type);
      Packet::free(packet);
      return;
  }
}

void NetStack::defer_receive(uint32_t interface_index, Packet* packet) {
  packet->interface_index = interface_index;
  {
    MutexGuard guard(m_state->queue_lock);
    m_state->deferred.push_back(packet);
  }
  m_environment.request_poll();
}

// --- the worker ---

void NetStack::arm_timer(NetTimer& timer, uint64_t deadline_ns) {
  bool earliest;
  {
    MutexGuard guard(m_state->queue_lock);
    if (timer.armed()) m_state->timers.remove(&timer);
    timer.deadline_ns = deadline_ns;
    NetTimer* position = m_state->timers.front();
    while (position && position->deadline_ns <= deadline_ns) position = m_state->timers.next(position);
    m_state->timers.insert_before(position, &timer);
    earliest = m_state->timers.front() == &timer;
  }
  // The worker may be sleeping until a later deadline.
  if (earliest) m_environment.request_poll_by(deadline_ns);
}

void NetStack::disarm_timer(NetTimer& timer) {
  MutexGuard guard(m_state->queue_lock);
  if (timer.armed()) m_state->timers.remove(&timer);
}

uint64_t NetStack::poll() {
  // Deferred frames first: a bounded batch, so a loopback flood cannot starve timers.
  PacketList batch;
  {
    MutexGuard guard(m_state->queue_lock);
    for (int i = 0; i < 256 && !m_state->deferred.empty(); i++) batch.push_back(m_state->deferred.pop_front());
  }
  while (Packet* packet = batch.pop_front()) receive(packet->interface_index, packet);

  uint64_t now = now_ns();
  // Bounded too: a callback that re-arms itself for "now" runs again on the next poll
  // instead of spinning here.
  bool more_due = false;
  for (int fired = 0;; fired++) {
    NetTimer* timer;
    {
      MutexGuard guard(m_state->queue_lock);
      timer = m_state->timers.front();
      if (!timer || timer->deadline_ns > now) break;
      if (fired == 1024) {
        more_due = true;
        break;
      }
      m_state->timers.remove(timer);
    }
    timer->callback(*timer);
  }

  uint64_t next;
  PacketList outbox;
  PacketList failed;
  PacketList failed6;
  {
    MutexGuard guard(m_state->lock);
    next = m_state->arp.tick(m_state->interfaces, m_state->interface_count, now, outbox, failed);
    uint64_t reassembly = m_state->reassembly.expire(now);
    if (reassembly < next) next = reassembly;
    next = std::min(next, m_state->neighbors.tick(*m_state, now, outbox, failed6));
    next = std::min(next, m_state->reassembly6.expire(now));
    next = std::min(next, ndp_tick_routers(*m_state, now, outbox));
  }
  m_state->transmit(outbox);
  while (Packet* datagram = failed6.pop_front()) {
    count(m_state->counters.ip_link_failures);
    icmpv6_report_local_error(*m_state, datagram->bytes());
    Packet::free(datagram);
  }
  while (Packet* datagram = failed.pop_front()) {
    // As if a router had said "host unreachable" about each (RFC 1122 2.3.2.2 leaves it to
    // the link layer to tell IP, which tells the transport).
    count(m_state->counters.ip_link_failures);
    icmp_report_local_error(*m_state, kIcmpDestinationUnreachable, kIcmpHostUnreachable, datagram->bytes());
    Packet::free(datagram);
  }
  {
    MutexGuard guard(m_state->queue_lock);
    if (!m_state->deferred.empty() || more_due) return now;
    NetTimer* first = m_state->timers.front();
    if (first && first->deadline_ns < next) next = first->deadline_ns;
  }
  return next == kNever ? kNoTimer : next;
}

// --- introspection and hooks ---

NetStatistics NetStack::statistics() {
  NetStatistics s;
  AtomicCounters& c = m_state->counters;
  auto get = [](std::atomic<uint64_t>& counter) { return counter.load(std::memory_order_relaxed); };
  s.ip_in_receives = get(c.ip_in_receives);
  s.ip_in_header_errors = get(c.ip_in_header_errors);
  s.ip_in_address_errors = get(c.ip_in_address_errors);
  s.ip_in_unknown_protocols = get(c.ip_in_unknown_protocols);
  s.ip_in_discards = get(c.ip_in_discards);
  s.ip_in_delivers = get(c.ip_in_delivers);
  s.ip_out_requests = get(c.ip_out_requests);
  s.ip_out_no_routes = get(c.ip_out_no_routes);
  s.ip_out_discards = get(c.ip_out_discards);
  s.ip_fragments_ok = get(c.ip_fragments_ok);
  s.ip_fragments_failed = get(c.ip_fragments_failed);
  s.ip_fragments_created = get(c.ip_fragments_created);
  s.ip_truncated = get(c.ip_truncated);
  s.ip_bad_version = get(c.ip_bad_version);
  s.ip_bad_header_length = get(c.ip_bad_header_length);
  s.ip_bad_total_length = get(c.ip_bad_total_length);
  s.ip_bad_checksum = get(c.ip_bad_checksum);
  s.icmp_in_messages = get(c.icmp_in_messages);
  s.icmp_in_errors = get(c.icmp_in_errors);
  s.icmp_in_echos = get(c.icmp_in_echos);
  s.icmp_in_echo_replies = get(c.icmp_in_echo_replies);
  s.icmp_in_destination_unreachables = get(c.icmp_in_destination_unreachables);
  s.icmp_out_messages = get(c.icmp_out_messages);
  s.icmp_out_echo_replies = get(c.icmp_out_echo_replies);
  s.icmp_out_destination_unreachables = get(c.icmp_out_destination_unreachables);
  s.icmp_out_rate_limited = get(c.icmp_out_rate_limited);
  s.link_not_for_us = get(c.link_not_for_us);
  s.link_malformed = get(c.link_malformed);
  s.link_unknown_type = get(c.link_unknown_type);
  s.ip_link_failures = get(c.ip_link_failures);
  s.ip6_in_receives = get(c.ip6_in_receives);
  s.ip6_in_header_errors = get(c.ip6_in_header_errors);
  s.ip6_in_address_errors = get(c.ip6_in_address_errors);
  s.ip6_in_unknown_protocols = get(c.ip6_in_unknown_protocols);
  s.ip6_in_discards = get(c.ip6_in_discards);
  s.ip6_in_delivers = get(c.ip6_in_delivers);
  s.ip6_out_requests = get(c.ip6_out_requests);
  s.ip6_out_no_routes = get(c.ip6_out_no_routes);
  s.ip6_fragments_created = get(c.ip6_fragments_created);
  s.icmp6_in_messages = get(c.icmp6_in_messages);
  s.icmp6_in_errors = get(c.icmp6_in_errors);
  s.icmp6_in_echos = get(c.icmp6_in_echos);
  s.icmp6_out_messages = get(c.icmp6_out_messages);
  s.icmp6_out_echo_replies = get(c.icmp6_out_echo_replies);
  s.icmp6_out_destination_unreachables = get(c.icmp6_out_destination_unreachables);
  s.icmp6_out_rate_limited = get(c.icmp6_out_rate_limited);
  s.icmp6_in_packet_too_big = get(c.icmp6_in_packet_too_big);
  MutexGuard guard(m_state->lock);
  const ReassemblyStatistics& r6 = m_state->reassembly6.statistics();
  s.ip6_reassembly_required = r6.fragments;
  s.ip6_reassembly_ok = r6.reassembled;
  s.ip6_reassembly_failed = r6.failed;
  NdpStatistics& n = m_state->neighbors.statistics();
  s.ndp_solicitations_sent = n.solicitations_sent;
  s.ndp_advertisements_sent = n.advertisements_sent;
  s.ndp_solicitations_received = n.solicitations_received;
  s.ndp_advertisements_received = n.advertisements_received;
  s.ndp_router_solicitations_sent = n.router_solicitations_sent;
  s.ndp_router_advertisements_received = n.router_advertisements_received;
  s.ndp_malformed = n.malformed;
  s.ndp_unresolved_drops = n.unresolved_drops;
  s.ndp_entries = n.entries;
  const ReassemblyStatistics& r = m_state->reassembly.statistics();
  s.ip_reassembly_required = r.fragments;
  s.ip_reassembly_ok = r.reassembled;
  s.ip_reassembly_failed = r.failed;
  const ArpStatistics& a = m_state->arp.statistics();
  s.arp_requests_sent = a.requests_sent;
  s.arp_replies_sent = a.replies_sent;
  s.arp_requests_received = a.requests_received;
  s.arp_replies_received = a.replies_received;
  s.arp_malformed = a.malformed;
  s.arp_unresolved_drops = a.unresolved_drops;
  s.arp_queue_drops = a.queue_overflow_drops;
  s.arp_entries = a.entries;
  return s;
}

Result<InterfaceSnapshot> NetStack::interface_snapshot(uint32_t interface_index) {
  InterfaceSnapshot snapshot;
  NetDevice* device;
  {
    MutexGuard guard(m_state->lock);
    NetInterface* interface = m_state->interface(interface_index);
    if (!interface) return error(Errno::enodev);
    snapshot.index = interface->index;
    snapshot.mac = interface->mac;
    snapshot.mtu = interface->mtu;
    snapshot.features = interface->features;
    snapshot.has_ipv4 = interface->has_ipv4;
    snapshot.ipv4_address = interface->ipv4.address;
    snapshot.ipv4_prefix_length = interface->ipv4.prefix_length;
    for (size_t i = 0; i < interface->ipv6_count && i < InterfaceSnapshot::kMaxIpv6Addresses; i++) {
      snapshot.ipv6[i] = {interface->ipv6[i].address, interface->ipv6[i].prefix_length,
                          interface->ipv6[i].autoconfigured};
      snapshot.ipv6_count = i + 1;
    }
    device = interface->device;
  }
  const char* name = device->name();
  for (size_t i = 0; i + 1 < sizeof(snapshot.name) && name[i]; i++) snapshot.name[i] = name[i];
  snapshot.statistics = device->statistics();
  return snapshot;
}

size_t NetStack::interface_snapshots(std::span<InterfaceSnapshot> out) {
  size_t count = interface_count();  // interfaces are only ever added
  size_t written = 0;
  for (uint32_t index = 1; index <= count && written < out.size(); index++)
    if (auto snapshot = interface_snapshot(index)) out[written++] = *snapshot;
  return count;
}

Result<> NetStack::add_udp_hook(const UdpHook& hook) {
  MutexGuard guard(m_state->lock);
  for (UdpHook& slot : m_state->hooks) {
    if (!slot.callback) {
      slot = hook;
      return {};
    }
  }
  return error(Errno::enospc);
}

void NetStack::remove_udp_hook(void* context) {
  MutexGuard guard(m_state->lock);
  for (UdpHook& slot : m_state->hooks)
    if (slot.context == context) slot = {};
}

}  // namespace nimbus::net
