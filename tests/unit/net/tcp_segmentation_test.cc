// TCP segmentation offload: the software cut (tcp_segment_in_software) on its own, IP's
// fallback to it when the device cannot cut, and TCP over a link whose ends take and carry
// 64 KiB TSO segments (virtio-net's HOST_TSO and GUEST_TSO), byte-exact under loss.
#include <gtest/gtest.h>

#include "kernel/net/checksum.h"
#include "kernel/net/ipv4.h"
#include "kernel/net/socket_abi.h"
#include "kernel/net/tcp/tcp_header.h"
#include "kernel/net/tcp/tcp_protocol.h"
#include "kernel/net/tcp/tcp_socket.h"
#include "kernel/net/tcp_segmentation.h"
#include "tests/unit/net/tcp_test_network.h"
#include "tests/unit/net/two_stacks.h"

namespace nimbus::net::tcp::test {
namespace {

using net::test::LinkConditions;
constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint8_t kCwr = 0x80;

const IpAddress kSource = IpAddress::from_ipv4(Ipv4Address::from_octets(192, 168, 1, 10));
const IpAddress kDestination = IpAddress::from_ipv4(Ipv4Address::from_octets(192, 168, 1, 20));

// A TCP segment with `data` bytes of pattern, timestamps, the given flags, its checksum left
// to offload and cut into `piece`-byte pieces.
Packet* tso_segment(size_t data, uint16_t piece, uint8_t flags, uint32_t seq = 1000) {
  TcpHeader h;
  h.source_port = 40000;
  h.destination_port = 80;
  h.seq = seq;
  h.ack = 77;
  h.flags = flags;
  h.window = 512;
  h.options.has_timestamps = true;
  h.options.ts_value = 5;
  h.options.ts_echo = 6;
  size_t header = kMinHeaderLength + tcp_options_length(h.options);
  Packet* packet = *Packet::try_allocate(Packet::kDefaultHeadroom + header + data);
  std::byte* out = packet->put(header + data);
  build_tcp_header({out, header}, h);
  auto bytes = pattern(data, 9);
  memcpy(out + header, bytes.data(), data);
  store_be16(out + 16, uint16_t(pseudo_header_sum(kSource, kDestination, kIpProtocolTcp, uint32_t(header + data))));
  packet->offload.checksum_needed = true;
  packet->offload.checksum_offset = 16;
  packet->offload.gso_size = piece;
  return packet;
}

TEST(TcpSegmentation, SoftwareCutCopiesTheHeaderAndMovesTheSequence) {
  PacketList pieces;
  Packet* segment = tso_segment(3 * 1448 + 700, 1448, kAck | kPsh | kFin | kCwr);
  EXPECT_EQ(tcp_segment_piece_length(*segment), 32u + 1448u);
  ASSERT_TRUE(tcp_segment_in_software(segment, kSource, kDestination, pieces));
  auto expected = pattern(3 * 1448 + 700, 9);
  std::vector<std::byte> joined;
  size_t count = 0;
  uint32_t seq = 1000;
  while (Packet* piece = pieces.pop_front()) {
    bool last = pieces.empty();
    ASSERT_TRUE(piece->offload.checksum_needed);
    EXPECT_EQ(piece->offload.gso_size, 0u);
    // Finish the checksum as IP would, then check it as the receiver does.
    std::byte* field = piece->data() + 16;
    store_be16(field, checksum_finish(checksum_add(0, piece->bytes())));
    EXPECT_EQ(tcp_checksum(kSource, kDestination, piece->bytes()), 0);
    auto header = parse_tcp_header(piece->bytes());
    ASSERT_TRUE(header);
    EXPECT_EQ(header->seq, seq);
    EXPECT_EQ(header->ack, 77u);
    EXPECT_TRUE(header->options.has_timestamps);
    EXPECT_EQ(bool(header->flags & kFin), last);
    EXPECT_EQ(bool(header->flags & kPsh), last);
    EXPECT_EQ(bool(header->flags & kCwr), count == 0);
    size_t data = piece->length() - header->header_length;
    EXPECT_EQ(data, last ? 700u : 1448u);
    joined.insert(joined.end(), piece->data() + header->header_length, piece->data() + piece->length());
    seq += uint32_t(data);
    count++;
    Packet::free(piece);
  }
  EXPECT_EQ(count, 4u);
  EXPECT_EQ(joined, expected);
}

TEST(TcpSegmentation, MalformedSegmentsAreRefused) {
  PacketList pieces;
  Packet* no_size = tso_segment(4000, 1448, kAck);
  no_size->offload.gso_size = 0;
  EXPECT_EQ(tcp_segment_in_software(no_size, kSource, kDestination, pieces).error(), Errno::einval);
  Packet* short_one = *Packet::try_allocate(Packet::kDefaultHeadroom + 10);
  short_one->put(10);
  short_one->offload.gso_size = 1448;
  EXPECT_EQ(tcp_segment_in_software(short_one, kSource, kDestination, pieces).error(), Errno::einval);
  EXPECT_TRUE(pieces.empty());
}

// IP with a TSO segment for a device that cannot cut it: the pieces leave one by one, each
// with a finished checksum and within the MTU.
TEST(TcpSegmentation, IpCutsInSoftwareForADeviceWithoutTso) {
  net::test::TwoStackNetwork net({.tx_checksum = false});
  net.link.record = true;
  net.link.sent.clear();
  IpSendOptions options;
  options.checksum_offloaded = true;
  Packet* segment = tso_segment(10 * 1448, 1448, kAck | kPsh);
  ASSERT_TRUE(net.a.ip_output(segment, kSource, kDestination, kIpProtocolTcp, options));
  net.network.run_for(kSecond / 100);
  size_t data_frames = 0;
  for (auto& frame : net.link.sent) {
    if (frame.from_side != 0 || frame.bytes.size() < 14 + 20 + 20 || frame.bytes[23] != std::byte{6}) continue;
    EXPECT_LE(frame.bytes.size(), 14u + 1500u);
    std::span<const std::byte> tcp(frame.bytes.data() + 34, frame.bytes.size() - 34);
    EXPECT_EQ(tcp_checksum(kSource, kDestination, tcp), 0);
    data_frames++;
  }
  EXPECT_EQ(data_frames, 10u);
}

class TcpOverTso : public ::testing::Test, protected net::test::TwoStackNetwork {
 protected:
  explicit TcpOverTso(LinkConditions conditions = {.loss = 0.05, .seed = 5, .tx_checksum = true,
                                                   .rx_checksum = true, .tcp_segmentation = true})
      : TwoStackNetwork(conditions) {}
  ~TcpOverTso() override {
    for (auto& s : sockets) s->close();
  }
  RefPtr<TcpSocket> socket(NetStack& stack) {
    auto created = stack.tcp().create_socket(abi::af_inet);
    EXPECT_TRUE(created);
    RefPtr<TcpSocket> s(static_cast<TcpSocket*>(created->get()));
    sockets.push_back(s);
    return s;
  }
  std::vector<std::byte> transfer(TcpSocket& from, TcpSocket& into, const std::vector<std::byte>& data) {
    std::vector<std::byte> received;
    size_t sent = 0;
    uint64_t deadline = env.now_ns() + 600 * kSecond;
    while (received.size() < data.size() && env.now_ns() < deadline) {
      if (sent < data.size())
        if (auto n = send_bytes(from, std::span(data).subspan(sent))) sent += *n;
      while (true) {
        auto n = receive_bytes(into, received, 1 << 20);
        if (!n || *n == 0) break;
      }
      network.run_for(kSecond / 100);
    }
    return received;
  }
  std::vector<RefPtr<TcpSocket>> sockets;
};

TEST_F(TcpOverTso, LargeSegmentsCrossTheLinkAndTheDataArrivesExactly) {
  link.record = true;
  auto listener = socket(b);
  ASSERT_TRUE(listener->bind(TcpTestNetwork::sockaddr({}, 8080)));
  ASSERT_TRUE(listener->listen(8));
  auto client = socket(a);
  client->connect(TcpTestNetwork::sockaddr(IpAddress::from_ipv4(address_b), 8080), true);
  ASSERT_TRUE(network.run_until([&] { return client->connection().state == TcpState::established; },
                                env.now_ns() + 30 * kSecond));
  network.run_for(kSecond / 10);
  auto accepted = listener->accept(true, nullptr);
  ASSERT_TRUE(accepted);
  RefPtr<TcpSocket> server(static_cast<TcpSocket*>(accepted->get()));
  sockets.push_back(server);
  auto up = pattern(2 << 20, 3), down = pattern(500000, 4);
  EXPECT_EQ(transfer(*client, *server, up), up);
  EXPECT_EQ(transfer(*server, *client, down), down);
  size_t largest = 0;
  for (auto& frame : link.sent) largest = std::max(largest, frame.bytes.size());
  EXPECT_GT(largest, 14u + 1500u);  // TSO segments went out whole
  EXPECT_LE(largest, 14u + 65535u);
  EXPECT_GT(client->connection().total_retransmits, 0u);  // the link did lose some
}

}  // namespace
}  // namespace nimbus::net::tcp::test
