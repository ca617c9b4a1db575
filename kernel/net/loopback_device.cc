// The loopback interface: transmit queues the datagram for the stack's worker.
#include "kernel/net/loopback_device.h"

namespace nimbus::net {

Result<uint32_t> LoopbackDevice::attach(NetStack& stack, LoopbackDevice& device) {
  uint32_t index = TRY(stack.add_interface(device));
  device.m_interface_index = index;
  TRY(stack.set_ipv4_address(index, {Ipv4Address::from_octets(127, 0, 0, 1), 8}));
  TRY(stack.add_ipv6_address(index, IpAddress::ipv6_loopback(), 128));
  return index;
}

DeviceFeatures LoopbackDevice::features() const {
  DeviceFeatures features;
  features.loopback = true;
  // Nothing is computed for a frame that never leaves memory.
  features.tx_checksum = true;
  features.rx_checksum = true;
  return features;
}

Result<> LoopbackDevice::transmit(Packet* packet) {
  {
    MutexGuard guard(m_lock);
    // Both directions at once: what lo sends it receives.
    m_statistics.tx_packets++;
    m_statistics.tx_bytes += packet->length();
    m_statistics.rx_packets++;
    m_statistics.rx_bytes += packet->length();
  }
  packet->offload.checksum_needed = false;
  packet->offload.checksum_verified = true;
  m_stack.defer_receive(m_interface_index ? m_interface_index : packet->interface_index, packet);
  return {};
}

DeviceStatistics LoopbackDevice::statistics() const {
  MutexGuard guard(const_cast<Mutex&>(m_lock));
  return m_statistics;
}

}  // namespace nimbus::net
