// IPv6 fragment reassembly (RFC 8200 4.5) over fragment_reassembly.h: a 60 s timeout, and the
// whole datagram gets a fixed header made from the first fragment's.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/net/fragment_reassembly.h"
#include "kernel/net/ipv6.h"
#include "kernel/net/packet.h"

namespace nimbus::net {

// Runs under the stack's lock.
class Ipv6Reassembly {
 public:
  static constexpr uint64_t kTimeoutNs = 60'000'000'000ull;  // RFC 8200 4.5
  static constexpr size_t kDefaultMemoryLimit = FragmentReassembly::kDefaultMemoryLimit;
  static constexpr size_t kMaxFragmentsPerDatagram = FragmentReassembly::kMaxFragmentsPerDatagram;
  static constexpr size_t kMaxDatagrams = FragmentReassembly::kMaxDatagrams;

  Ipv6Reassembly();

  // A fragment: packet->data() at its fragment header, `header` the datagram's fixed
  // header. Takes ownership. Returns the whole datagram once every piece is in: a fixed
  // header (payload length set, Next Header the fragment header's) followed by the
  // fragmentable part; the unfragmentable extension headers, already processed, are not
  // kept. Else nullptr.
  Packet* add(Packet* fragment, const Ipv6Header& header, uint64_t now);
  // Drops datagrams older than kTimeoutNs; returns the next expiry (~0: none).
  uint64_t expire(uint64_t now) { return m_fragments.expire(now); }

  void set_memory_limit(size_t bytes) { m_fragments.set_memory_limit(bytes); }
  size_t bytes_held() const { return m_fragments.bytes_held(); }
  size_t datagrams_held() const { return m_fragments.datagrams_held(); }
  const ReassemblyStatistics& statistics() const { return m_fragments.statistics(); }

 private:
  FragmentReassembly m_fragments;
};

}  // namespace nimbus::net
