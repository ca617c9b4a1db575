// IPv6 fragment reassembly with memory, count and time limits.
#include "kernel/net/ipv6_reassembly.h"

#include <cstring>
#include <new>

#include "kernel/lib/ref_ptr.h"
#include "kernel/net/checksum.h"

namespace nimbus::net {

namespace {
constexpr uint64_t kNever = ~0ull;
constexpr uint32_t kMaxPayload = 65535;

struct FragmentView {
  uint32_t offset;  // bytes of the fragmentable part
  uint32_t length;  // bytes after the fragment header
  bool more;
  uint8_t next_header;
};

// RFC 8200 4.5: Next Header, reserved, offset (13 bits, 8-byte units), 2 reserved bits and
// M, then the 32-bit identification.
FragmentView view(const Packet& packet) {
  const std::byte* p = packet.data();
  uint16_t field = load_be16(p + 2);
  return {uint32_t(field & 0xfff8), uint32_t(packet.length() - kIpv6FragmentHeaderSize), (field & 1) != 0,
          uint8_t(p[0])};
}
}  // namespace

Ipv6Reassembly::~Ipv6Reassembly() {
  while (Datagram* datagram = m_datagrams.front()) drop(datagram);
}

void Ipv6Reassembly::drop(Datagram* datagram) {
  while (Packet* fragment = datagram->fragments.pop_front()) Packet::free(fragment);
  m_bytes -= datagram->bytes;
  m_datagrams.remove(datagram);
  delete datagram;
}

Ipv6Reassembly::Datagram* Ipv6Reassembly::find_or_create(const Ipv6Header& header, uint32_t id, uint64_t now) {
  // RFC 8200 4.5: fragments belong together when source, destination and id match.
  for (Datagram* d = m_datagrams.front(); d; d = m_datagrams.next(d))
    if (d->id == id && d->source == header.source && d->destination == header.destination) return d;
  if (m_datagrams.size() >= kMaxDatagrams) {
    m_statistics.memory_drops++;
    m_statistics.failed++;
    drop(m_datagrams.front());
  }
  Datagram* datagram = new (kNoThrow) Datagram();
  if (!datagram) return nullptr;
  datagram->source = header.source;
  datagram->destination = header.destination;
  datagram->id = id;
  datagram->deadline_ns = now + kTimeoutNs;
  m_datagrams.push_back(datagram);
  return datagram;
}

Packet* Ipv6Reassembly::add(Packet* fragment, const Ipv6Header& header, uint64_t now) {
  m_statistics.fragments++;
  if (fragment->length() < kIpv6FragmentHeaderSize) {
    Packet::free(fragment);
    return nullptr;
  }
  FragmentView piece = view(*fragment);
  uint32_t id = load_be32(fragment->data() + 4);
  // Every piece but the last carries a multiple of 8 bytes; an empty one says nothing.
  if (piece.length == 0 || (piece.more && piece.length % 8) || piece.offset + piece.length > kMaxPayload) {
    Packet::free(fragment);
    return nullptr;
  }
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
  Datagram* datagram = find_or_create(header, id, now);
  if (!datagram) {
    Packet::free(fragment);
    return nullptr;
  }
  uint32_t piece_end = piece.offset + piece.length;
  bool fail = false;
  if (!piece.more) {
    if (datagram->end && datagram->end != piece_end) fail = true;
    datagram->end = piece_end;
  }
  if (datagram->end && piece_end > datagram->end) fail = true;

  Packet* after = datagram->fragments.front();
  while (after && view(*after).offset < piece.offset) after = datagram->fragments.next(after);
  Packet* before = after ? datagram->fragments.prev(after) : datagram->fragments.back();
  bool overlap = false;
  if (!fail && after) {
    FragmentView next = view(*after);
    if (next.offset == piece.offset && next.length == piece.length && next.more == piece.more) {
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
  if (piece.offset == 0) {
    datagram->first = header;
    datagram->next_header = piece.next_header;
    datagram->have_first = true;
  }
  datagram->fragments.insert_before(after, fragment);
  datagram->bytes += fragment->length();
  m_bytes += fragment->length();

  if (!datagram->end || !datagram->have_first) return nullptr;
  uint32_t covered = 0;
  for (Packet* p = datagram->fragments.front(); p; p = datagram->fragments.next(p)) {
    FragmentView v = view(*p);
    if (v.offset != covered) return nullptr;
    covered += v.length;
  }
  if (covered != datagram->end) return nullptr;
  return complete(datagram);
}

Packet* Ipv6Reassembly::complete(Datagram* datagram) {
  size_t total = kIpv6HeaderSize + datagram->end;
  Packet* whole = nullptr;
  if (auto allocated = Packet::try_allocate(Packet::kDefaultHeadroom + total)) whole = *allocated;
  if (!whole) {
    m_statistics.failed++;
    drop(datagram);
    return nullptr;
  }
  std::byte* out = whole->put(total);
  Ipv6Header header = datagram->first;
  header.payload_length = static_cast<uint16_t>(datagram->end);
  header.next_header = datagram->next_header;
  ipv6_write_header(out, header);
  for (Packet* p = datagram->fragments.front(); p; p = datagram->fragments.next(p)) {
    FragmentView v = view(*p);
    std::memcpy(out + kIpv6HeaderSize + v.offset, p->data() + kIpv6FragmentHeaderSize, v.length);
  }
  whole->interface_index = datagram->fragments.front()->interface_index;
  m_statistics.reassembled++;
  drop(datagram);
  return whole;
}

uint64_t Ipv6Reassembly::expire(uint64_t now) {
  while (Datagram* oldest = m_datagrams.front()) {
    if (oldest->deadline_ns > now) return oldest->deadline_ns;
    m_statistics.timeouts++;
    m_statistics.failed++;
    drop(oldest);
  }
  return kNever;
}

}  // namespace nimbus::net
