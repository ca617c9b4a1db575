// IPv4 fragment reassembly (RFC 791 3.2) over fragment_reassembly.h: a 30 s timeout, and the
// whole datagram's header is the first fragment's with the fragment fields cleared.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/net/fragment_reassembly.h"
#include "kernel/net/ipv4.h"
#include "kernel/net/packet.h"

namespace nimbus::net {

// Runs under the stack's lock.
class Ipv4Reassembly {
 public:
  static constexpr uint64_t kTimeoutNs = 30'000'000'000ull;
  static constexpr size_t kDefaultMemoryLimit = FragmentReassembly::kDefaultMemoryLimit;
  static constexpr size_t kMaxFragmentsPerDatagram = FragmentReassembly::kMaxFragmentsPerDatagram;
  static constexpr size_t kMaxDatagrams = FragmentReassembly::kMaxDatagrams;

  Ipv4Reassembly();

  // A validated fragment (packet->data() at its IP header, trimmed to total_length). Takes
  // ownership; returns the whole datagram once every piece is in (data() at a header with
  // the fragment fields cleared and the checksum redone), else nullptr.
  Packet* add(Packet* fragment, const Ipv4Header& header, uint64_t now);
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
