// The TCP header (RFC 9293 3.1) and its options (MSS, window scale, SACK, timestamps):
// parsing with every length checked, building, and the checksum over the pseudo-header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/lib/result.h"
#include "kernel/net/ip_address.h"

namespace nimbus::net::tcp {

constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;
constexpr uint8_t kPsh = 0x08;
constexpr uint8_t kAck = 0x10;
constexpr uint8_t kUrg = 0x20;
constexpr uint8_t kEce = 0x40;
constexpr uint8_t kCwr = 0x80;

constexpr size_t kMinHeaderLength = 20;
constexpr size_t kMaxHeaderLength = 60;
constexpr uint8_t kMaxWindowScale = 14;  // RFC 7323 2.3
constexpr size_t kMaxSackBlocks = 4;

// A SACK block (RFC 2018 3): the sequence numbers [left, right) arrived.
struct SackBlock {
  uint32_t left = 0;
  uint32_t right = 0;
};

struct TcpOptions {
  bool has_mss = false;
  uint16_t mss = 0;
  bool has_window_scale = false;
  uint8_t window_scale = 0;
  bool sack_permitted = false;
  bool has_timestamps = false;
  uint32_t ts_value = 0;
  uint32_t ts_echo = 0;
  uint8_t sack_count = 0;
  SackBlock sack[kMaxSackBlocks];
};

struct TcpHeader {
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;  // as on the wire (unscaled)
  uint16_t urgent = 0;
  TcpOptions options;
  size_t header_length = kMinHeaderLength;  // set by parse
};

// Parses the header at the start of `segment`. EINVAL when the segment is shorter than 20
// bytes, the data offset is below 5 or beyond the segment, or an option's length runs past
// the header or is too short for its kind (the whole segment is then dropped: RFC 9293 3.1
// does not say to ignore a malformed option and carry on, and Linux drops such segments).
Result<TcpHeader> parse_tcp_header(std::span<const std::byte> segment);

// The bytes build_tcp_header() will write for these options (a multiple of 4, at most 40).
// SACK blocks beyond what fits are left out.
size_t tcp_options_length(const TcpOptions& options);
// Writes the header (checksum zero) into `out`, which must hold 20 + tcp_options_length()
// bytes; returns the header length.
size_t build_tcp_header(std::span<std::byte> out, const TcpHeader& header);

// The Internet checksum (RFC 1071) of the TCP segment with the pseudo-header of IPv4 (both
// addresses IPv4-mapped) or IPv6 (RFC 8200 8.1). A received segment checks as 0.
uint16_t tcp_checksum(const IpAddress& source, const IpAddress& destination, std::span<const std::byte> segment);

}  // namespace nimbus::net::tcp
