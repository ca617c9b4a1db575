// NetDevice: what the stack needs from a network interface's hardware (virtio-net, the
// loopback device, the mock link of the unit tests).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.h"
#include "kernel/net/packet.h"

namespace nimbus::net {

using MacAddress = std::array<uint8_t, 6>;

// Counters as /proc/net/dev and RTM_GETLINK report them.
struct DeviceStatistics {
  uint64_t rx_packets = 0, rx_bytes = 0, rx_errors = 0, rx_dropped = 0;
  uint64_t tx_packets = 0, tx_bytes = 0, tx_errors = 0, tx_dropped = 0;
};

// One transmit/receive queue pair's counters, and the CPU that processes it (-1: any).
struct QueueStatistics {
  DeviceStatistics counters;
  int32_t cpu = -1;
};

struct DeviceFeatures {
  bool tx_checksum = false;  // accepts PacketOffload::checksum_needed
  bool rx_checksum = false;  // may set PacketOffload::checksum_verified
  // Accepts PacketOffload::gso_size on TCP over IPv4 / IPv6 (with tx_checksum): TSO.
  bool tcp_segmentation_ipv4 = false;
  bool tcp_segmentation_ipv6 = false;
  bool loopback = false;     // no link layer: frames are IP datagrams, no Ethernet header
};

class NetDevice {
 public:
  virtual const char* name() const = 0;  // "eth0", "lo"
  virtual MacAddress mac() const = 0;
  virtual uint32_t mtu() const = 0;      // the largest IP datagram, link header excluded
  virtual DeviceFeatures features() const = 0;
  // Sends a whole frame (Ethernet header included, unless loopback) and takes ownership of
  // the packet in every case. Never sleeps; may be called from any thread. ENOBUFS when the
  // transmit ring is full (the packet is freed: TCP retransmits, UDP drops as Linux does).
  virtual Result<> transmit(Packet* packet) = 0;
  virtual DeviceStatistics statistics() const = 0;
  // Queue pairs in use (a multiqueue device has several), and each one's counters.
  virtual size_t queue_count() const { return 1; }
  virtual QueueStatistics queue_statistics(size_t queue) const {
    return queue == 0 ? QueueStatistics{statistics(), -1} : QueueStatistics{};
  }

 protected:
  ~NetDevice() = default;
};

}  // namespace nimbus::net
