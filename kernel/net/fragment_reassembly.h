// Fragment reassembly shared by IPv4 (RFC 791 3.2) and IPv6 (RFC 8200 4.5): RFC 815's hole
// bookkeeping replaced by a list sorted by offset, bounded memory, a per-datagram fragment
// limit, a timeout, and any overlap drops the whole datagram (as Linux does since
// CVE-2018-5391, and RFC 5722 asks for IPv6). The protocols differ only in how a fragment
// says where its piece goes and in the header of the whole datagram; ipv4_reassembly.h and
// ipv6_reassembly.h hold those parts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/lib/intrusive_list.h"
#include "kernel/net/ip_address.h"
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

// Which datagram a fragment belongs to (IPv4 adds its protocol; IPv6 leaves it 0).
struct FragmentKey {
  IpAddress source, destination;
  uint32_t id = 0;
  uint8_t protocol = 0;
  bool operator==(const FragmentKey&) const = default;
};

// Where a fragment's piece goes: bytes `offset`..`offset + length` of the datagram's payload,
// found in the fragment packet from data() + `data_offset`.
struct FragmentPiece {
  uint32_t data_offset;
  uint32_t offset;
  uint32_t length;
  bool more;  // not the last piece
};

// Runs under the stack's lock.
class FragmentReassembly {
 public:
  static constexpr size_t kDefaultMemoryLimit = 4u << 20;  // Linux's ipfrag_high_thresh
  static constexpr size_t kMaxFragmentsPerDatagram = 64;   // Linux's ipfrag_max_dist spirit
  static constexpr size_t kMaxDatagrams = 256;
  static constexpr size_t kMaxHeader = 60;                 // an IPv4 header with options

  using PieceOf = FragmentPiece (*)(const Packet& fragment);

  // `piece_of` reads a held fragment; `max_datagram`: the largest whole datagram, its header
  // included.
  FragmentReassembly(uint64_t timeout_ns, uint32_t max_datagram, PieceOf piece_of)
      : m_timeout_ns(timeout_ns), m_max_datagram(max_datagram), m_piece_of(piece_of) {}
  ~FragmentReassembly();
  FragmentReassembly(const FragmentReassembly&) = delete;
  FragmentReassembly& operator=(const FragmentReassembly&) = delete;

  // Takes ownership of `fragment`. `header` (at most kMaxHeader bytes) is the whole
  // datagram's header as this fragment gives it; the one of the piece at offset 0 is kept.
  // Returns the whole datagram once every piece is in, that header followed by the payload
  // (the caller fixes the header's length and fragment fields), else nullptr.
  Packet* add(Packet* fragment, const FragmentKey& key, std::span<const std::byte> header, uint64_t now);
  // Drops datagrams past their timeout; returns the next expiry (~0: none).
  uint64_t expire(uint64_t now);

  void set_memory_limit(size_t bytes) { m_memory_limit = bytes; }
  size_t bytes_held() const { return m_bytes; }
  size_t datagrams_held() const { return m_datagrams.size(); }
  const ReassemblyStatistics& statistics() const { return m_statistics; }

 private:
  struct Datagram {
    FragmentKey key;
    uint64_t deadline_ns = 0;
    size_t bytes = 0;                 // held in fragments
    uint32_t end = 0;                 // payload length, once the last piece is in (0: unknown)
    std::byte header[kMaxHeader];     // from the piece at offset 0
    uint32_t header_length = 0;
    PacketList fragments;             // sorted by offset
    ListNode node;
  };
  Datagram* find_or_create(const FragmentKey& key, uint64_t now);
  enum class Insertion { held, duplicate, give_up };
  // Places the piece in offset order, unless it repeats one exactly or breaks the datagram.
  Insertion insert(Datagram* datagram, Packet* fragment, const FragmentPiece& piece);
  bool has_every_piece(Datagram* datagram);
  Packet* complete(Datagram* datagram);
  void drop(Datagram* datagram);

  uint64_t m_timeout_ns;
  uint32_t m_max_datagram;
  PieceOf m_piece_of;
  IntrusiveList<Datagram, &Datagram::node> m_datagrams;  // oldest first
  size_t m_bytes = 0;
  size_t m_memory_limit = kDefaultMemoryLimit;
  ReassemblyStatistics m_statistics;
};

}  // namespace nimbus::net
