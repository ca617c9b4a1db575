// Fragment reassembly with memory, count and time limits, for IPv4 and IPv6.
#include "kernel/net/fragment_reassembly.h"

#include <cstring>
#include <new>

#include "kernel/lib/ref_ptr.h"

namespace nimbus::net {

namespace {
constexpr uint64_t kNever = ~0ull;
}  // namespace

FragmentReassembly::~FragmentReassembly() {
  while (Datagram* datagram = m_datagrams.front()) drop(datagram);
}

void FragmentReassembly::drop(Datagram* datagram) {
  while (Packet* fragment = datagram->fragments.pop_front()) Packet::free(fragment);
  m_bytes -= datagram->bytes;
  m_datagrams.remove(datagram);
  delete datagram;
}

FragmentReassembly::Datagram* FragmentReassembly::find_or_create(const FragmentKey& key, uint64_t now) {
  for (Datagram* d = m_datagrams.front(); d; d = m_datagrams.next(d))
    if (d->key == key) return d;
  if (m_datagrams.size() >= kMaxDatagrams) {
    m_statistics.memory_drops++;
    m_statistics.failed++;
    drop(m_datagrams.front());
  }
  Datagram* datagram = new (kNoThrow) Datagram();
  if (!datagram) return nullptr;
  datagram->key = key;
  datagram->deadline_ns = now + m_timeout_ns;
  m_datagrams.push_back(datagram);
  return datagram;
}

Packet* FragmentReassembly::add(Packet* fragment, const FragmentKey& key, std::span<const std::byte> header,
                                uint64_t now) {
  m_statistics.fragments++;
  FragmentPiece piece = m_piece_of(*fragment);
  // A piece that is not the last must carry a multiple of 8 bytes (offsets count 8-byte
  // units), and an empty one says nothing.
  if (piece.length == 0 || (piece.more && piece.length % 8) || header.size() > kMaxHeader ||
      header.size() + piece.offset + piece.length > m_max_datagram) {
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
  Datagram* datagram = find_or_create(key, now);
  if (!datagram) {
    Packet::free(fragment);
    return nullptr;
  }
  switch (insert(datagram, fragment, piece)) {
    case Insertion::duplicate:
      m_statistics.duplicates++;
      Packet::free(fragment);
      return nullptr;
    case Insertion::give_up:
      m_statistics.failed++;
      Packet::free(fragment);
      drop(datagram);
      return nullptr;
    case Insertion::held:
      break;
  }
  if (piece.offset == 0) {
    std::memcpy(datagram->header, header.data(), header.size());
    datagram->header_length = static_cast<uint32_t>(header.size());
  }
  return has_every_piece(datagram) ? complete(datagram) : nullptr;
}

FragmentReassembly::Insertion FragmentReassembly::insert(Datagram* datagram, Packet* fragment,
                                                         const FragmentPiece& piece) {
  uint32_t piece_end = piece.offset + piece.length;
  if (!piece.more) {
    if (datagram->end && datagram->end != piece_end) return Insertion::give_up;  // two last pieces
    datagram->end = piece_end;
  }
  if (datagram->end && piece_end > datagram->end) return Insertion::give_up;

  // The first fragment at or after our offset; both neighbours are checked for overlap.
  Packet* after = datagram->fragments.front();
  while (after && m_piece_of(*after).offset < piece.offset) after = datagram->fragments.next(after);
  Packet* before = after ? datagram->fragments.prev(after) : datagram->fragments.back();
  bool overlap = false;
  if (after) {
    FragmentPiece next = m_piece_of(*after);
    // An exact repeat (a duplicating link or a retransmission) is harmless.
    if (next.offset == piece.offset && next.length == piece.length && next.more == piece.more)
      return Insertion::duplicate;
    if (next.offset < piece_end) overlap = true;
  }
  if (before) {
    FragmentPiece previous = m_piece_of(*before);
    if (previous.offset + previous.length > piece.offset) overlap = true;
  }
  if (overlap) {
    m_statistics.overlaps++;
    return Insertion::give_up;
  }
  if (datagram->fragments.size() >= kMaxFragmentsPerDatagram) return Insertion::give_up;
  datagram->fragments.insert_before(after, fragment);
  datagram->bytes += fragment->length();
  m_bytes += fragment->length();
  return Insertion::held;
}

bool FragmentReassembly::has_every_piece(Datagram* datagram) {
  if (!datagram->end) return false;
  uint32_t covered = 0;
  for (Packet* p = datagram->fragments.front(); p; p = datagram->fragments.next(p)) {
    FragmentPiece piece = m_piece_of(*p);
    if (piece.offset != covered) return false;  // a hole
    covered += piece.length;
  }
  return covered == datagram->end;
}

Packet* FragmentReassembly::complete(Datagram* datagram) {
  size_t total = datagram->header_length + datagram->end;
  Packet* whole = nullptr;
  // The first piece's header may be longer than the one the size was checked with.
  if (total <= m_max_datagram) {
    if (auto allocated = Packet::try_allocate(Packet::kDefaultHeadroom + total)) whole = *allocated;
  }
  if (!whole) {
    m_statistics.failed++;
    drop(datagram);
    return nullptr;
  }
  std::byte* out = whole->put(total);
  std::memcpy(out, datagram->header, datagram->header_length);
  for (Packet* p = datagram->fragments.front(); p; p = datagram->fragments.next(p)) {
    FragmentPiece piece = m_piece_of(*p);
    std::memcpy(out + datagram->header_length + piece.offset, p->data() + piece.data_offset, piece.length);
  }
  whole->interface_index = datagram->fragments.front()->interface_index;
  m_statistics.reassembled++;
  drop(datagram);
  return whole;
}

uint64_t FragmentReassembly::expire(uint64_t now) {
  while (Datagram* oldest = m_datagrams.front()) {
    if (oldest->deadline_ns > now) return oldest->deadline_ns;
    m_statistics.timeouts++;
    m_statistics.failed++;
    drop(oldest);
  }
  return kNever;
}

}  // namespace nimbus::net
