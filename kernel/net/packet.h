// Packet: one network frame in a heap buffer, with room in front for headers that lower
// layers push as the frame goes down the stack, and a read cursor that upper layers pull
// forward as it goes up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/result.h"

namespace nimbus::net {

// What a device or a lower layer already knows about a frame (virtio-net header semantics).
struct PacketOffload {
  // Receive: the device checked the transport checksum (VIRTIO_NET_HDR_F_DATA_VALID), or
  // the frame never left this machine (loopback).
  bool checksum_verified = false;
  // Transmit: the transport checksum is left for the device, which adds the one's
  // complement sum from checksum_start to the end into the 16 bits at
  // checksum_start + checksum_offset (VIRTIO_NET_HDR_F_NEEDS_CSUM); the stack has put the
  // pseudo-header sum there.
  bool checksum_needed = false;
  uint16_t checksum_start = 0;   // from the start of the frame (Ethernet header)
  uint16_t checksum_offset = 0;  // from checksum_start
  // Transmit: a TCP segment carrying more data than one segment may (TCP segmentation
  // offload): it leaves as pieces of gso_size data bytes each, the TCP header copied onto
  // every piece, cut by the device (VIRTIO_NET_F_HOST_TSO4/6) or, when the device cannot, by
  // IP (tcp_segment_in_software). Always with checksum_needed. 0: an ordinary frame.
  uint16_t gso_size = 0;
};

class Packet {
 public:
  // Room for an Ethernet header, IPv6 and TCP with options in front of the payload.
  static constexpr size_t kDefaultHeadroom = 128;

  // A packet with `capacity` bytes, empty, its data starting `headroom` bytes in (ENOMEM).
  static Result<Packet*> try_allocate(size_t capacity, size_t headroom = kDefaultHeadroom);
  static void free(Packet* packet);

  std::byte* data() { return m_buffer + m_head; }
  const std::byte* data() const { return m_buffer + m_head; }
  size_t length() const { return m_length; }
  std::span<std::byte> bytes() { return {data(), m_length}; }
  std::span<const std::byte> bytes() const { return {data(), m_length}; }
  size_t headroom() const { return m_head; }
  size_t tailroom() const { return m_capacity - m_head - m_length; }

  // Grows the data at the front by `n` bytes (a header being added) and returns the new
  // start; nullptr when there is not that much headroom.
  std::byte* push(size_t n);
  // Drops `n` bytes from the front (a header consumed); false if the packet is shorter.
  bool pull(size_t n);
  // Grows the data at the back by `n` bytes and returns where they start; nullptr when
  // there is no such tailroom.
  std::byte* put(size_t n);
  // Cuts the data to `n` bytes (link-layer padding after an IP datagram); no-op if shorter.
  void trim(size_t n);

  PacketOffload offload;
  // Set by the receive path: the interface the frame arrived on (an index, 0: none).
  uint32_t interface_index = 0;
  // Free for the layer that currently owns the packet: queue links.
  ListNode node;

 private:
  Packet() = default;
  std::byte* m_buffer = nullptr;
  size_t m_capacity = 0;
  size_t m_head = 0;
  size_t m_length = 0;
};

using PacketList = IntrusiveList<Packet, &Packet::node>;

}  // namespace nimbus::net
