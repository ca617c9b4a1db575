// IPv6 fragment reassembly: where a fragment's piece goes, and the whole datagram's header.
#include "kernel/net/ipv6_reassembly.h"

#include "kernel/net/checksum.h"

namespace nimbus::net {

namespace {
// The payload of a whole IPv6 datagram, after its fixed header, is at most 65,535 bytes.
constexpr uint32_t kMaxDatagram = kIpv6HeaderSize + 65535;

// RFC 8200 4.5: Next Header, reserved, offset (13 bits, 8-byte units), 2 reserved bits and
// M, then the 32-bit identification.
FragmentPiece piece_of(const Packet& fragment) {
  uint16_t field = load_be16(fragment.data() + 2);
  return {uint32_t(kIpv6FragmentHeaderSize), uint32_t(field & 0xfff8),
          uint32_t(fragment.length() - kIpv6FragmentHeaderSize), (field & 1) != 0};
}
}  // namespace

Ipv6Reassembly::Ipv6Reassembly() : m_fragments(kTimeoutNs, kMaxDatagram, piece_of) {}

Packet* Ipv6Reassembly::add(Packet* fragment, const Ipv6Header& header, uint64_t now) {
  if (fragment->length() < kIpv6FragmentHeaderSize) {
    Packet::free(fragment);
    return nullptr;
  }
  // RFC 8200 4.5: fragments belong together when source, destination and id match. The
  // whole datagram's Next Header is the one in the first fragment's fragment header.
  FragmentKey key{header.source, header.destination, load_be32(fragment->data() + 4), 0};
  Ipv6Header whole_header = header;
  whole_header.next_header = uint8_t(fragment->data()[0]);
  std::byte fixed[kIpv6HeaderSize];
  ipv6_write_header(fixed, whole_header);
  Packet* whole = m_fragments.add(fragment, key, fixed, now);
  if (!whole) return nullptr;
  store_be16(whole->data() + 4, static_cast<uint16_t>(whole->length() - kIpv6HeaderSize));
  return whole;
}

}  // namespace nimbus::net
