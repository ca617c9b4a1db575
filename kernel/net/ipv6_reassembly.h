// IPv6 fragment reassembly (RFC 8200 4.5) with the limits of IPv4's (ipv4_reassembly.h):
// bounded memory, fragments per datagram and datagrams, a 60 s timeout, and any overlap
// drops the whole datagram (RFC 5722).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/intrusive_list.h"
#include "kernel/net/ipv4_reassembly.h"
#include "kernel/net/ipv6.h"
#include "kernel/net/packet.h"

namespace nimbus::net {

// Runs under the stack's lock.
class Ipv6Reassembly {
 public:
  static constexpr uint64_t kTimeoutNs = 60'000'000'000ull;  // RFC 8200 4.5
  static constexpr size_t kDefaultMemoryLimit = 4u << 20;
  static constexpr size_t kMaxFragmentsPerDatagram = 64;
  static constexpr size_t kMaxDatagrams = 256;

  Ipv6Reassembly() = default;
  ~Ipv6Reassembly();
  Ipv6Reassembly(const Ipv6Reassembly&) = delete;
  Ipv6Reassembly& operator=(const Ipv6Reassembly&) = delete;

  // A fragment: packet->data() at its fragment header, `header` the datagram's fixed
  // header. Takes ownership. Returns the whole datagram once every piece is in: a fixed
  // header (payload length set, Next Header the fragment header's) followed by the
  // fragmentable part; the unfragmentable extension headers, already processed, are not
  // kept. Else nullptr.
  Packet* add(Packet* fragment, const Ipv6Header& header, uint64_t now);
  // Drops datagrams older than kTimeoutNs; returns the next expiry (~0: none).
  uint64_t expire(uint64_t now);

  void set_memory_limit(size_t bytes) { m_memory_limit = bytes; }
  size_t bytes_held() const { return m_bytes; }
  size_t datagrams_held() const { return m_datagrams.size(); }
  const ReassemblyStatistics& statistics() const { return m_statistics; }

 private:
  struct Datagram {
    IpAddress source, destination;
    uint32_t id = 0;
    uint64_t deadline_ns = 0;
    size_t bytes = 0;
    uint32_t end = 0;  // fragmentable length, once the last fragment is in (0: unknown)
    Ipv6Header first;  // from the fragment at offset 0
    uint8_t next_header = 0;
    bool have_first = false;
    PacketList fragments;  // sorted by offset, data() at the fragment header
    ListNode node;
  };
  Datagram* find_or_create(const Ipv6Header& header, uint32_t id, uint64_t now);
  void drop(Datagram* datagram);
  Packet* complete(Datagram* datagram);

  IntrusiveList<Datagram, &Datagram::node> m_datagrams;  // oldest first
  size_t m_bytes = 0;
  size_t m_memory_limit = kDefaultMemoryLimit;
  ReassemblyStatistics m_statistics;
};

}  // namespace nimbus::net
