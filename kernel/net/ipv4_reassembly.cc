// IPv4 fragment reassembly: where a fragment's piece goes, and the whole datagram's header.
#include "kernel/net/ipv4_reassembly.h"

#include "kernel/net/checksum.h"

namespace nimbus::net {

namespace {
FragmentPiece piece_of(const Packet& fragment) {
  const std::byte* p = fragment.data();
  uint32_t header_length = (uint32_t(p[0]) & 0xf) * 4;
  uint16_t flags = load_be16(p + 6);
  return {header_length, uint32_t(flags & 0x1fff) * 8, uint32_t(fragment.length()) - header_length,
          (flags & 0x2000) != 0};
}
}  // namespace

Ipv4Reassembly::Ipv4Reassembly() : m_fragments(kTimeoutNs, kIpv4MaxDatagram, piece_of) {}

Packet* Ipv4Reassembly::add(Packet* fragment, const Ipv4Header& header, uint64_t now) {
  // RFC 791: fragments belong together when source, destination, protocol and id match.
  FragmentKey key{IpAddress::from_ipv4(header.source), IpAddress::from_ipv4(header.destination), header.id,
                  header.protocol};
  uint32_t header_length = piece_of(*fragment).data_offset;
  Packet* whole = m_fragments.add(fragment, key, {fragment->data(), header_length}, now);
  if (!whole) return nullptr;
  std::byte* out = whole->data();
  uint32_t whole_header_length = (uint32_t(out[0]) & 0xf) * 4;
  store_be16(out + 2, static_cast<uint16_t>(whole->length()));
  store_be16(out + 6, 0);
  store_be16(out + 10, 0);
  store_be16(out + 10, internet_checksum({out, whole_header_length}));
  return whole;
}

}  // namespace nimbus::net
