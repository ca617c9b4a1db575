// TCP header parsing and building, and the TCP checksum.
#include "kernel/net/tcp/tcp_header.h"

#include "kernel/net/checksum.h"
#include "kernel/net/ipv4.h"

namespace nimbus::net::tcp {
namespace {

constexpr uint8_t kOptionEnd = 0;
constexpr uint8_t kOptionNop = 1;
constexpr uint8_t kOptionMss = 2;
constexpr uint8_t kOptionWindowScale = 3;
constexpr uint8_t kOptionSackPermitted = 4;
constexpr uint8_t kOptionSack = 5;
constexpr uint8_t kOptionTimestamps = 8;

uint16_t load16(const std::byte* p) { return static_cast<uint16_t>((uint16_t(p[0]) << 8) | uint16_t(p[1])); }
uint32_t load32(const std::byte* p) { return (uint32_t(load16(p)) << 16) | load16(p + 2); }
void store16(std::byte* p, uint16_t v) {
  p[0] = std::byte(v >> 8);
  p[1] = std::byte(v);
}
void store32(std::byte* p, uint32_t v) {
  store16(p, uint16_t(v >> 16));
  store16(p + 2, uint16_t(v));
}

// RFC 9293 3.2: the options list; every option but END and NOP has a length octet that
// counts the kind and length octets too.
Result<> parse_options(std::span<const std::byte> options, TcpOptions& out) {
  size_t i = 0;
  while (i < options.size()) {
    uint8_t kind = uint8_t(options[i]);
    if (kind == kOptionEnd) break;
    if (kind == kOptionNop) {
      i++;
      continue;
    }
    if (i + 1 >= options.size()) return error(Errno::einval);
    size_t length = uint8_t(options[i + 1]);
    if (length < 2 || i + length > options.size()) return error(Errno::einval);
    const std::byte* body = options.data() + i + 2;
    switch (kind) {
      case kOptionMss:
        if (length != 4) return error(Errno::einval);
        out.has_mss = true;
        out.mss = load16(body);
        break;
      case kOptionWindowScale:
        if (length != 3) return error(Errno::einval);
        out.has_window_scale = true;
        // RFC 7323 2.3: a shift above 14 is used as 14.
        out.window_scale = uint8_t(body[0]) > kMaxWindowScale ? kMaxWindowScale : uint8_t(body[0]);
        break;
      case kOptionSackPermitted:
        if (length != 2) return error(Errno::einval);
        out.sack_permitted = true;
        break;
      case kOptionSack: {
        if (length < 10 || (length - 2) % 8 != 0) return error(Errno::einval);
        size_t blocks = (length - 2) / 8;
        out.sack_count = 0;
        for (size_t b = 0; b < blocks && b < kMaxSackBlocks; b++) {
          out.sack[b].left = load32(body + 8 * b);
          out.sack[b].right = load32(body + 8 * b + 4);
          out.sack_count++;
        }
        break;
      }
      case kOptionTimestamps:
        if (length != 10) return error(Errno::einval);
        out.has_timestamps = true;
        out.ts_value = load32(body);
        out.ts_echo = load32(body + 4);
        break;
      default:
        break;  // unknown options are skipped by their length (RFC 9293 3.2)
    }
    i += length;
  }
  return {};
}

size_t sack_blocks_that_fit(const TcpOptions& options, size_t used) {
  if (options.sack_count == 0) return 0;
  size_t room = 40 - used;
  if (room < 4 + 8) return 0;
  size_t fit = (room - 4) / 8;
  return options.sack_count < fit ? options.sack_count : fit;
}

size_t fixed_options_length(const TcpOptions& options) {
  size_t length = 0;
  if (options.has_mss) length += 4;
  if (options.has_window_scale) length += 4;  // NOP + 3
  if (options.has_timestamps)
    length += 12;  // NOP NOP + 10, or SACK-permitted (2) + 10 when both
  else if (options.sack_permitted)
    length += 4;  // NOP NOP + 2
  return length;
}

}  // namespace

Result<TcpHeader> parse_tcp_header(std::span<const std::byte> segment) {
  if (segment.size() < kMinHeaderLength) return error(Errno::einval);
  TcpHeader header;
  const std::byte* p = segment.data();
  header.source_port = load16(p);
  header.destination_port = load16(p + 2);
  header.seq = load32(p + 4);
  header.ack = load32(p + 8);
  size_t data_offset = (uint8_t(p[12]) >> 4) * 4;
  if (data_offset < kMinHeaderLength || data_offset > segment.size()) return error(Errno::einval);
  header.header_length = data_offset;
  header.flags = uint8_t(p[13]);
  header.window = load16(p + 14);
  header.urgent = load16(p + 18);
  TRY(parse_options(segment.subspan(kMinHeaderLength, data_offset - kMinHeaderLength), header.options));
  return header;
}

size_t tcp_options_length(const TcpOptions& options) {
  size_t fixed = fixed_options_length(options);
  size_t blocks = sack_blocks_that_fit(options, fixed);
  return fixed + (blocks ? 4 + 8 * blocks : 0);
}

size_t build_tcp_header(std::span<std::byte> out, const TcpHeader& header) {
  const TcpOptions& o = header.options;
  size_t length = kMinHeaderLength + tcp_options_length(o);
  std::byte* p = out.data();
  store16(p, header.source_port);
  store16(p + 2, header.destination_port);
  store32(p + 4, header.seq);
  store32(p + 8, header.ack);
  p[12] = std::byte((length / 4) << 4);
  p[13] = std::byte(header.flags);
  store16(p + 14, header.window);
  store16(p + 16, 0);
  store16(p + 18, header.urgent);
  std::byte* q = p + kMinHeaderLength;
  auto put = [&](uint8_t b) { *q++ = std::byte(b); };
  if (o.has_mss) {
    put(kOptionMss), put(4);
    store16(q, o.mss), q += 2;
  }
  if (o.has_window_scale) put(kOptionNop), put(kOptionWindowScale), put(3), put(o.window_scale);
  if (o.has_timestamps) {
    if (o.sack_permitted)
      put(kOptionSackPermitted), put(2);
    else
      put(kOptionNop), put(kOptionNop);
    put(kOptionTimestamps), put(10);
    store32(q, o.ts_value), q += 4;
    store32(q, o.ts_echo), q += 4;
  } else if (o.sack_permitted) {
    put(kOptionNop), put(kOptionNop), put(kOptionSackPermitted), put(2);
  }
  size_t blocks = sack_blocks_that_fit(o, fixed_options_length(o));
  if (blocks) {
    put(kOptionNop), put(kOptionNop), put(kOptionSack), put(uint8_t(2 + 8 * blocks));
    for (size_t b = 0; b < blocks; b++) {
      store32(q, o.sack[b].left), q += 4;
      store32(q, o.sack[b].right), q += 4;
    }
  }
  return length;
}

uint16_t tcp_checksum(const IpAddress& source, const IpAddress& destination, std::span<const std::byte> segment) {
  // RFC 9293 3.1: the pseudo-header (addresses, protocol, TCP length), then the segment.
  uint32_t sum = pseudo_header_sum(source, destination, kIpProtocolTcp, uint32_t(segment.size()));
  return checksum_finish(checksum_add(sum, segment));
}

}  // namespace nimbus::net::tcp
