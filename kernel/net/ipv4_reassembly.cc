// IPv4 fragment reassembly with memory, count and time limits.
#include "kernel/net/ipv4_reassembly.h"

#include <cstring>
#include <new>

#include "kernel/lib/ref_ptr.h"
#include "kernel/net/checksum.h"

namespace nimbus::net {

namespace {
constexpr uint64_t kNever = ~0ull;

struct FragmentView {
  uint32_t header_length;
  uint32_t offset;  // payload bytes
  uint32_t length;  // payload bytes
  bool more;
};

FragmentView view(const Packet& packet) {
  const std::byte* p = packet.data();
  uint32_t header_length = (uint32_t(p[0]) & 0xf) * 4;
  uint16_t flags = load_be16(p + 6);
  return {header_length, uint32_t(flags & 0x1fff) * 8, uint32_t(packet.length()) - header_length, (flags & 0x2000) != 0};
}
}  // namespace

Ipv4Reassembly::~Ipv4Reassembly() {
  while (Datagram* datagram = m_datagrams.front()) drop(datagram);
}

void Ipv4Reassembly::drop(Datagram* datagram) {
  while (Packet* fragment = datagram->fragments.pop_front()) Packet::free(fragment);
  m_bytes -= datagram->bytes;
  m_datagrams.remove(datagram);
  delete datagram;
}

Ipv4Reassembly::Datagram* Ipv4Reassembly::find_or_create(const Ipv4Header& header, uint64_t now) {
  // RFC 791: fragments belong together when source, destination, protocol and id match.
  for (Datagram* d = m_datagrams.front(); d; d = m_datagrams.next(d))
    if (d->id == header.id && d->source == header.source && d->destination == header.destination &&
        d->protocol == header.protocol)
      return d;
  if (m_datagrams.size() >= kMaxDatagrams) {
    m_statistics.memory_drops++;
    m_statistics.failed++;
    drop(m_datagrams.front());
  }
  Datagram* datagram = new (kNoThrow) Datagram();
  if (!datagram) return nullptr;
  datagram->source = header.source;
  datagram->destination = header.destination;
  datagram->id = header.id;
  datagram->protocol = header.protocol;
  datagram->deadline_ns = now + kTimeoutNs;
  m_datagrams.push_back(datagram);
  return datagram;
}

Packet* Ipv4Reassembly::add(Packet* fragment, const Ipv4Header& header, uint64_t now) {
  m_statistics.fragments++;
  FragmentView piece = view(*fragment);
  // A piece that is not the last must carry a multiple of 8 bytes (offsets count 8-byte
  // units), and an empty one says nothing.
  if (piece.length == 0 || (piece.more && piece.length % 8) ||
      piece.header_length + piece.offset + piece.length > kIpv4MaxDatagram) {
    Packet::free(fragment);
    return nullptr;
  }
  // Memory: evict the oldest datagrams (the likeliest to be lost causes) to make room.
  while (m_bytes + fragment->length() > m_memory_limit && !m_datagrams.empty()) {
    m_statistics.memory_drops++;
    m_statistics.failed++;
    drop(m_datagrams.front());
  }
  if (fragment->length() > m_memory_limit) {
    m_statistics.memory_drops++;
    Packet::free(fragment);
    return nullptr;
  }
  Datagram* datagram = find_or_create(header, now);
  if (!datagram) {
    Packet::free(fragment);
    return nullptr;
  }
  uint32_t piece_end = piece.offset + piece.length;
  bool fail = false;
  bool overlap = false;
  if (!piece.more) {
    if (datagram->end && datagram->end != piece_end) fail = true;  // two different last pieces
    datagram->end = piece_end;
  }
  if (datagram->end && piece_end > datagram->end) fail = true;

  // Find the first fragment at or after our offset; check both neighbours for overlap.
  Packet* after = datagram->fragments.front();
  while (after && view(*after).offset < piece.offset) after = datagram->fragments.next(after);
  Packet* before = after ? datagram->fragments.prev(after) : datagram->fragments.back();
  if (!fail && after) {
    FragmentView next = view(*after);
    if (next.offset == piece.offset && next.length == piece.length && next.more == piece.more) {
      // An exact repeat (a duplicating link or a retransmission): harmless, drop it alone.
      m_statistics.duplicates++;
      Packet::free(fragment);
      return nullptr;
    }
    if (next.offset < piece_end) overlap = true;
  }
  if (!fail && before) {
    FragmentView previous = view(*before);
    if (previous.offset + previous.length > piece.offset) overlap = true;
  }
  if (overlap) {
    m_statistics.overlaps++;
    fail = true;
  }
  if (!fail && datagram->fragments.size() >= kMaxFragmentsPerDatagram) fail = true;
  if (fail) {
    m_statistics.failed++;
    Packet::free(fragment);
    drop(datagram);
    return nullptr;
  }
  datagram->fragments.insert_before(after, fragment);
  datagram->bytes += fragment->length();
  m_bytes += fragment->length();

  if (!datagram->end) return nullptr;
  uint32_t covered = 0;
  for (Packet* p = datagram->fragments.front(); p; p = datagram->fragments.next(p)) {
    FragmentView v = view(*p);
    if (v.offset != covered) return nullptr;  // a hole
    covered += v.length;
  }
  if (covered != datagram->end) return nullptr;
  return complete(datagram);
}

Packet* Ipv4Reassembly::complete(Datagram* datagram) {
  Packet* first = datagram->fragments.front();
  FragmentView head = view(*first);
  size_t total = head.header_length + datagram->end;
  // The first piece's header may be longer than the last one's: check the sum again.
  if (total > kIpv4MaxDatagram) {
    m_statistics.failed++;
    drop(datagram);
    return nullptr;
  }
  Packet* whole = nullptr;
  if (auto allocated = Packet::try_allocate(Packet::kDefaultHeadroom + total)) whole = *allocated;
  if (!whole) {
    m_statistics.failed++;
    drop(datagram);
    return nullptr;
  }
  std::byte* out = whole->put(total);
  std::memcpy(out, first->data(), head.header_length);
  for (Packet* p = datagram->fragments.front(); p; p = datagram->fragments.next(p)) {
    FragmentView v = view(*p);
    std::memcpy(out + head.header_length + v.offset, p->data() + v.header_length, v.length);
  }
  store_be16(out + 2, static_cast<uint16_t>(total));
  store_be16(out + 6, 0);
  store_be16(out + 10, 0);
  store_be16(out + 10, internet_checksum({out, head.header_length}));
  whole->interface_index = first->interface_index;
  m_statistics.reassembled++;
  drop(datagram);
  return whole;
}

uint64_t Ipv4Reassembly::expire(uint64_t now) {
  while (Datagram* oldest = m_datagrams.front()) {
    if (oldest->deadline_ns > now) return oldest->deadline_ns;
    m_statistics.timeouts++;
    m_statistics.failed++;
    drop(oldest);
  }
  return kNever;
}

}  // namespace nimbus::net
