// The simulated cable and the virtual-time event loop of the network unit tests.
#include "tests/unit/net/simulated_link.h"

#include <algorithm>
#include <cstring>

namespace nimbus::net::test {

DeviceFeatures SimulatedLink::End::features() const {
  DeviceFeatures features;
  features.tx_checksum = m_link->m_conditions.tx_checksum;
  features.rx_checksum = m_link->m_conditions.rx_checksum;
  features.tcp_segmentation_ipv4 = features.tcp_segmentation_ipv6 = m_link->m_conditions.tcp_segmentation;
  return features;
}

Result<> SimulatedLink::End::transmit(Packet* packet) {
  m_statistics.tx_packets++;
  m_statistics.tx_bytes += packet->length();
  m_link->send(m_side, packet);
  return {};
}

SimulatedLink::SimulatedLink(VirtualEnvironment& environment, LinkConditions conditions)
    : m_environment(environment), m_conditions(conditions), m_random(conditions.seed) {
  for (int side = 0; side < 2; side++) {
    m_ends[side].m_link = this;
    m_ends[side].m_side = side;
    m_ends[side].m_mac = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(side + 1)};
  }
}

SimulatedLink::~SimulatedLink() { clear(); }

void SimulatedLink::attach(int side, NetStack& stack, uint32_t interface_index) {
  m_stacks[side] = &stack;
  m_interfaces[side] = interface_index;
}

void SimulatedLink::set_conditions(const LinkConditions& conditions) {
  m_conditions = conditions;
  m_random.seed(conditions.seed);
}

void SimulatedLink::clear() {
  for (InFlight& frame : m_queue) Packet::free(frame.packet);
  m_queue.clear();
}

Packet* SimulatedLink::copy(const Packet& packet) {
  auto result = Packet::try_allocate(packet.length() + Packet::kDefaultHeadroom);
  if (!result) return nullptr;
  Packet* clone = *result;
  std::memcpy(clone->put(packet.length()), packet.data(), packet.length());
  return clone;
}

void SimulatedLink::send(int from_side, Packet* packet) {
  if (record) {
    Frame frame{from_side, m_environment.now_ns(), {}};
    frame.bytes.assign(packet->data(), packet->data() + packet->length());
    sent.push_back(std::move(frame));
  }
  if (filter && !filter(from_side, *packet)) {
    m_dropped++;
    Packet::free(packet);
    return;
  }
  std::uniform_real_distribution<double> chance(0.0, 1.0);
  if (m_conditions.loss > 0 && chance(m_random) < m_conditions.loss) {
    m_dropped++;
    Packet::free(packet);
    return;
  }
  // What the receiving device sees: a fresh buffer (the sender's offload state does not
  // cross the wire) with the checksum marked verified when that end offloads it.
  Packet* frame = copy(*packet);
  Packet::free(packet);
  if (!frame) return;
  int to_side = 1 - from_side;
  uint64_t due = m_environment.now_ns() + m_conditions.latency_ns;
  if (m_conditions.reorder > 0 && chance(m_random) < m_conditions.reorder) due += m_conditions.reorder_delay_ns;
  m_queue.push_back({due, m_order++, to_side, frame});
  if (m_conditions.duplicate > 0 && chance(m_random) < m_conditions.duplicate) {
    if (Packet* twin = copy(*frame)) m_queue.push_back({due, m_order++, to_side, twin});
  }
}

size_t SimulatedLink::deliver_due() {
  size_t delivered = 0;
  for (;;) {
    uint64_t now = m_environment.now_ns();
    auto earliest = m_queue.end();
    for (auto it = m_queue.begin(); it != m_queue.end(); ++it) {
      if (it->due_ns > now) continue;
      if (earliest == m_queue.end() || it->due_ns < earliest->due_ns ||
          (it->due_ns == earliest->due_ns && it->order < earliest->order))
        earliest = it;
    }
    if (earliest == m_queue.end()) return delivered;
    InFlight frame = *earliest;
    m_queue.erase(earliest);
    End& end = m_ends[frame.to_side];
    NetStack* stack = m_stacks[frame.to_side];
    if (!stack) {
      Packet::free(frame.packet);
      continue;
    }
    end.m_statistics.rx_packets++;
    end.m_statistics.rx_bytes += frame.packet->length();
    frame.packet->offload.checksum_verified = m_conditions.rx_checksum;
    frame.packet->interface_index = m_interfaces[frame.to_side];
    stack->receive(m_interfaces[frame.to_side], frame.packet);
    delivered++;
  }
}

uint64_t SimulatedLink::next_delivery_ns() const {
  uint64_t next = kNoTimer;
  for (const InFlight& frame : m_queue) next = std::min(next, frame.due_ns);
  return next;
}

void SimulatedNetwork::settle() {
  // Bounded, so a livelock in the code under test fails the test instead of hanging it.
  for (int round = 0; round < 100000; round++) {
    bool progress = m_environment.take_poll_requests() != 0;
    for (StackEntry& entry : m_stacks) entry.next_ns = entry.stack->poll();
    for (SimulatedLink* link : m_links)
      if (link->deliver_due()) progress = true;
    if (m_environment.take_poll_requests()) progress = true;
    if (!progress) return;
  }
}

bool SimulatedNetwork::run_until(const std::function<bool()>& done, uint64_t deadline_ns) {
  for (;;) {
    settle();
    if (done && done()) return true;
    uint64_t next = kNoTimer;
    for (StackEntry& entry : m_stacks) next = std::min(next, entry.next_ns);
    for (SimulatedLink* link : m_links) next = std::min(next, link->next_delivery_ns());
    uint64_t now = m_environment.now_ns();
    if (next <= now) next = now + 1;  // a deadline already passed: step past it
    if (next > deadline_ns) {
      m_environment.set_now(deadline_ns);
      settle();
      return done && done();
    }
    m_environment.set_now(next);
  }
}

void SimulatedNetwork::run_until(uint64_t deadline_ns) { run_until(std::function<bool()>{}, deadline_ns); }

}  // namespace nimbus::net::test
