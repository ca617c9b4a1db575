// IPv4 fragment reassembly (RFC 791 3.2, with RFC 815's hole bookkeeping replaced by a list
// sorted by offset): bounded memory, a per-datagram fragment limit, a 30 s timeout, and any
// overlap drops the datagram (as Linux does since CVE-2018-5391 and RFC 5722 for IPv6).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/intrusive_list.h"
#include "kernel/net/ipv4.h"
#include "kernel/net/packet.h"

namespace nimbus::net {

struct ReassemblyStatistics {
  uint64_t fragments = 0;     // ReasmReqds
  uint64_t reassembled = 0;   // ReasmOKs
  uint64_t failed = 0;        // ReasmFails: datagrams given up (timeout, overlap, limits)
  uint64_t timeouts = 0;
  uint64_t overlaps = 0;
  uint64_t duplicates = 0;    // exact repeats, dropped alone
  uint64_t memory_drops = 0;  // fragments refused or datagrams evicted for memory
};

// Runs under the stack's lock.
class Ipv4Reassembly {
 public:
  static constexpr uint64_t kTimeoutNs = 30'000'000'000ull;
  static constexpr size_t kDefaultMemoryLimit = 4u << 20;  // Linux's ipfrag_high_thresh
  static constexpr size_t kMaxFragmentsPerDatagram = 64;   // Linux's ipfrag_max_dist spirit
  static constexpr size_t kMaxDatagrams = 256;

  Ipv4Reassembly() = default;
  ~Ipv4Reassembly();
  Ipv4Reassembly(const Ipv4Reassembly&) = delete;
  Ipv4Reassembly& operator=(const Ipv4Reassembly&) = delete;

  // A validated fragment (packet->data() at its IP header, trimmed to total_length). Takes
  // ownership; returns the whole datagram once every piece is in (data() at a header with
  // the fragment fields cleared and the checksum redone), else nullptr.
  Packet* add(Packet* fragment, const Ipv4Header& header, uint64_t now);
  // Drops datagrams older than kTimeoutNs; returns the next expiry (~0: none).
  uint64_t expire(uint64_t now);

  void set_memory_limit(size_t bytes) { m_memory_limit = bytes; }
  size_t bytes_held() const { return m_bytes; }
  size_t datagrams_held() const { return m_datagrams.size(); }
  const ReassemblyStatistics& statistics() const { return m_statistics; }

 private:
  struct Datagram {
    Ipv4Address source, destination;
    uint16_t id = 0;
    uint8_t protocol = 0;
    uint64_t deadline_ns = 0;
    size_t bytes = 0;             // held in fragments
    uint32_t end = 0;             // payload length, once the last fragment is in (0: unknown)
    PacketList fragments;         // sorted by offset
    ListNode node;
  };
  Datagram* find_or_create(const Ipv4Header& header, uint64_t now);
  void drop(Datagram* datagram);
  Packet* complete(Datagram* datagram);

  IntrusiveList<Datagram, &Datagram::node> m_datagrams;  // oldest first
  size_t m_bytes = 0;
  size_t m_memory_limit = kDefaultMemoryLimit;
  ReassemblyStatistics m_statistics;
};

}  // namespace nimbus::net
