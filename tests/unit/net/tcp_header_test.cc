// TCP header parsing/building, its options and checksum, and the range sets and rings.
#include <gtest/gtest.h>

#include <vector>

#include "kernel/net/tcp/tcp_header.h"
#include "kernel/net/tcp/tcp_ring.h"

namespace nimbus::net::tcp {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(std::byte(v));
  return out;
}

TEST(TcpHeader, BuildsAndParsesEveryOption) {
  TcpHeader h;
  h.source_port = 1234;
  h.destination_port = 80;
  h.seq = 0xdeadbeef;
  h.ack = 0x01020304;
  h.flags = kSyn | kAck;
  h.window = 65000;
  h.options.has_mss = true;
  h.options.mss = 1460;
  h.options.has_window_scale = true;
  h.options.window_scale = 7;
  h.options.sack_permitted = true;
  h.options.has_timestamps = true;
  h.options.ts_value = 111;
  h.options.ts_echo = 222;
  std::vector<std::byte> out(60);
  size_t length = build_tcp_header(out, h);
  EXPECT_EQ(length, 20u + 4 + 4 + 12);
  auto parsed = parse_tcp_header(std::span(out).first(length));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->source_port, 1234);
  EXPECT_EQ(parsed->destination_port, 80);
  EXPECT_EQ(parsed->seq, 0xdeadbeefu);
  EXPECT_EQ(parsed->ack, 0x01020304u);
  EXPECT_EQ(parsed->flags, kSyn | kAck);
  EXPECT_EQ(parsed->window, 65000);
  EXPECT_EQ(parsed->header_length, length);
  EXPECT_EQ(parsed->options.mss, 1460);
  EXPECT_EQ(parsed->options.window_scale, 7);
  EXPECT_TRUE(parsed->options.sack_permitted);
  EXPECT_EQ(parsed->options.ts_value, 111u);
  EXPECT_EQ(parsed->options.ts_echo, 222u);
}

TEST(TcpHeader, SackBlocksAreLimitedByTheOptionSpace) {
  TcpHeader h;
  h.flags = kAck;
  h.options.has_timestamps = true;
  h.options.sack_count = 4;
  for (uint32_t i = 0; i < 4; i++) h.options.sack[i] = {100 * i + 10, 100 * i + 20};
  std::vector<std::byte> out(60);
  size_t length = build_tcp_header(out, h);
  EXPECT_EQ(length, 20u + 12 + 4 + 3 * 8);  // only three blocks fit beside timestamps
  auto parsed = parse_tcp_header(std::span(out).first(length));
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->options.sack_count, 3);
  EXPECT_EQ(parsed->options.sack[2].left, 210u);
  EXPECT_EQ(parsed->options.sack[2].right, 220u);
  h.options.has_timestamps = false;
  length = build_tcp_header(out, h);
  EXPECT_EQ(length, 20u + 4 + 4 * 8);
  EXPECT_EQ(parse_tcp_header(std::span(out).first(length))->options.sack_count, 4);
}

TEST(TcpHeader, RejectsMalformedHeaders) {
  std::vector<std::byte> h(20);
  h[12] = std::byte(5 << 4);
  EXPECT_TRUE(parse_tcp_header(h));
  EXPECT_FALSE(parse_tcp_header(std::span(h).first(19)));  // too short
  h[12] = std::byte(4 << 4);                              // data offset below 5
  EXPECT_FALSE(parse_tcp_header(h));
  h[12] = std::byte(6 << 4);  // offset beyond the segment
  EXPECT_FALSE(parse_tcp_header(h));
  // An option whose length runs past the header.
  auto bad = bytes({0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 6 << 4, 2, 0, 0, 0, 0, 0, 0, 2, 8, 5, 0});
  EXPECT_FALSE(parse_tcp_header(bad));
  // An option length below 2.
  bad[20] = std::byte(8), bad[21] = std::byte(1);
  EXPECT_FALSE(parse_tcp_header(bad));
  // A kind without its length octet at the end.
  bad = bytes({0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 6 << 4, 2, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2});
  EXPECT_FALSE(parse_tcp_header(bad));
  // MSS with the wrong length.
  bad = bytes({0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 6 << 4, 2, 0, 0, 0, 0, 0, 0, 2, 3, 5, 0});
  EXPECT_FALSE(parse_tcp_header(bad));
  // Unknown options are skipped; END stops parsing.
  auto good = bytes({0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 7 << 4, 2, 0, 0, 0, 0, 0, 0,
                     99, 4, 0, 0, 3, 3, 20, 0});
  auto parsed = parse_tcp_header(good);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->options.has_window_scale);
  EXPECT_EQ(parsed->options.window_scale, 14);  // clamped (RFC 7323 2.3)
}

TEST(TcpHeader, ChecksumVerifiesToZeroForBothFamilies) {
  TcpHeader h;
  h.source_port = 5;
  h.destination_port = 6;
  h.seq = 77;
  h.flags = kPsh | kAck;
  std::vector<std::byte> segment(20 + 5);
  build_tcp_header(segment, h);
  for (int i = 0; i < 5; i++) segment[20 + i] = std::byte('a' + i);
  IpAddress a = IpAddress::from_ipv4(Ipv4Address::from_octets(10, 0, 0, 1));
  IpAddress b = IpAddress::from_ipv4(Ipv4Address::from_octets(10, 0, 0, 2));
  uint16_t sum = tcp_checksum(a, b, segment);
  segment[16] = std::byte(sum >> 8), segment[17] = std::byte(sum);
  EXPECT_EQ(tcp_checksum(a, b, segment), 0);
  EXPECT_NE(tcp_checksum(b, IpAddress::from_ipv4(Ipv4Address::from_octets(10, 0, 0, 3)), segment), 0);
  IpAddress c, d;
  c.bytes[0] = 0xfd, c.bytes[15] = 1;
  d.bytes[0] = 0xfd, d.bytes[15] = 2;
  segment[16] = segment[17] = std::byte{0};
  sum = tcp_checksum(c, d, segment);
  segment[16] = std::byte(sum >> 8), segment[17] = std::byte(sum);
  EXPECT_EQ(tcp_checksum(c, d, segment), 0);
}

TEST(RangeSet, MergesAndTrims) {
  RangeSet set;
  set.add(100, 200);
  set.add(300, 400);
  set.add(500, 600);
  EXPECT_EQ(set.count(), 3u);
  set.add(190, 310);
  ASSERT_EQ(set.count(), 2u);
  EXPECT_EQ(set[0].left, 100u);
  EXPECT_EQ(set[0].right, 400u);
  EXPECT_EQ(set.bytes_above(150), 250u + 100);
  set.trim_below(350);
  EXPECT_EQ(set[0].left, 350u);
  EXPECT_TRUE(set.contains(399));
  EXPECT_FALSE(set.contains(400));
  // Across the sequence wrap.
  RangeSet wrap;
  wrap.add(0xfffffff0u, 0x10);
  wrap.add(0x10, 0x20);
  ASSERT_EQ(wrap.count(), 1u);
  EXPECT_EQ(wrap.bytes_above(0xfffffff0u), 0x30u);
}

TEST(ByteRing, WrapsAndHoldsOutOfOrderBytes) {
  ByteRing ring;
  ring.set_capacity(8);
  auto a = bytes({1, 2, 3, 4, 5, 6});
  EXPECT_EQ(*ring.append(a), 6u);
  ring.consume(4);
  auto b = bytes({7, 8, 9, 10, 11, 12, 13});
  EXPECT_EQ(*ring.append(b), 6u);  // 2 held + 6 = capacity
  std::vector<std::byte> out(8);
  ring.peek(0, out);
  EXPECT_EQ(out, bytes({5, 6, 7, 8, 9, 10, 11, 12}));
  ring.consume(8);
  EXPECT_EQ(*ring.write_beyond(3, bytes({40, 50})), 2u);
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_EQ(*ring.write_beyond(0, bytes({10, 20, 30})), 3u);
  ring.commit(5);
  out.resize(5);
  ring.peek(0, out);
  EXPECT_EQ(out, bytes({10, 20, 30, 40, 50}));
  EXPECT_EQ(*ring.write_beyond(3, bytes({1, 1, 1, 1})), 0u);  // past the capacity
}


// The ring starts small and grows as bytes need the room, keeping wrapped and out-of-order
// bytes where they were relative to the head.
TEST(ByteRing, GrowsWithWrappedAndOutOfOrderBytes) {
  ByteRing ring;
  ring.set_capacity(106496);
  auto pattern = [](size_t from, size_t n) {
    std::vector<std::byte> v(n);
    for (size_t i = 0; i < n; i++) v[i] = static_cast<std::byte>((from + i) * 7 % 251);
    return v;
  };
  // Wrap the first (4 KiB) allocation: 3,000 in, 2,500 out, 3,000 in.
  EXPECT_EQ(*ring.append(pattern(0, 3000)), 3000u);
  ring.consume(2500);
  EXPECT_EQ(*ring.append(pattern(3000, 3000)), 3000u);
  // Out-of-order bytes far past the readable end force growth while the ring is wrapped.
  EXPECT_EQ(*ring.write_beyond(50000, pattern(2500 + 3500 + 50000, 1000)), 1000u);
  EXPECT_EQ(ring.size(), 3500u);
  std::vector<std::byte> out(3500);
  ring.peek(0, out);
  EXPECT_EQ(out, pattern(2500, 3500));
  // Fill the gap; everything up to the end of the out-of-order bytes becomes readable in order.
  EXPECT_EQ(*ring.write_beyond(0, pattern(6000, 50000)), 50000u);
  ring.commit(51000);
  out.resize(54500);
  ring.peek(0, out);
  EXPECT_EQ(out, pattern(2500, 54500));
  // Up to the capacity, and no further.
  EXPECT_EQ(*ring.append(pattern(57000, 60000)), 106496u - 54500u);
  EXPECT_EQ(ring.size(), 106496u);
  ring.consume(100000);
  out.resize(6496);
  ring.peek(0, out);
  EXPECT_EQ(out, pattern(102500, 6496));
  // Shrinking below what is allocated keeps the bytes held.
  ring.set_capacity(8000);
  EXPECT_EQ(ring.capacity(), 8000u);
  ring.peek(0, out);
  EXPECT_EQ(out, pattern(102500, 6496));
}

}  // namespace
}  // namespace nimbus::net::tcp
