// TCP segmentation in software (the fallback for TSO).
#include "kernel/net/tcp_segmentation.h"

#include <cstring>

#include "kernel/net/checksum.h"
#include "kernel/net/ipv4.h"

namespace nimbus::net {
namespace {

// RFC 9293 3.1: the flags byte and the bits cut pieces treat specially.
constexpr size_t kFlagsOffset = 13;
constexpr uint8_t kFin = 0x01;
constexpr uint8_t kPsh = 0x08;
constexpr uint8_t kCwr = 0x80;
constexpr size_t kMinTcpHeader = 20;

void free_list(PacketList& list) {
  while (Packet* packet = list.pop_front()) Packet::free(packet);
}

size_t header_length_of(std::span<const std::byte> bytes) {
  return bytes.size() >= kMinTcpHeader ? (uint8_t(bytes[12]) >> 4) * 4u : 0;
}

}  // namespace

size_t tcp_segment_piece_length(const Packet& segment) {
  size_t data = segment.length() - header_length_of(segment.bytes());
  return header_length_of(segment.bytes()) + (data < segment.offload.gso_size ? data : segment.offload.gso_size);
}

Result<> tcp_segment_in_software(Packet* segment, const IpAddress& source, const IpAddress& destination,
                                 PacketList& pieces) {
  std::span<const std::byte> bytes = segment->bytes();
  size_t header_length = header_length_of(bytes);
  size_t piece_size = segment->offload.gso_size;
  if (header_length < kMinTcpHeader || header_length > bytes.size() || piece_size == 0) {
    Packet::free(segment);
    return error(Errno::einval);
  }
  size_t data_length = bytes.size() - header_length;
  uint32_t seq = load_be32(bytes.data() + 4);
  uint8_t flags = uint8_t(bytes[kFlagsOffset]);
  PacketList made;
  size_t offset = 0;
  do {
    size_t length = data_length - offset < piece_size ? data_length - offset : piece_size;
    bool first = offset == 0, last = offset + length == data_length;
    auto allocated = Packet::try_allocate(Packet::kDefaultHeadroom + header_length + length);
    if (!allocated) {
      free_list(made);
      Packet::free(segment);
      return error(Errno::enobufs);
    }
    Packet* piece = *allocated;
    std::byte* out = piece->put(header_length + length);
    memcpy(out, bytes.data(), header_length);
    memcpy(out + header_length, bytes.data() + header_length + offset, length);
    store_be32(out + 4, seq + uint32_t(offset));
    uint8_t piece_flags = flags;
    if (!last) piece_flags &= uint8_t(~(kFin | kPsh));
    if (!first) piece_flags &= uint8_t(~kCwr);
    out[kFlagsOffset] = std::byte(piece_flags);
    store_be16(out + 16, static_cast<uint16_t>(pseudo_header_sum(source, destination, kIpProtocolTcp,
                                                                 uint32_t(header_length + length))));
    piece->offload.checksum_needed = true;
    piece->offload.checksum_start = 0;
    piece->offload.checksum_offset = 16;
    made.push_back(piece);
    offset += length;
  } while (offset < data_length);
  Packet::free(segment);
  while (Packet* piece = made.pop_front()) pieces.push_back(piece);
  return {};
}

}  // namespace nimbus::net
