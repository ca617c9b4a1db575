// TCP connections end to end: handshake (and simultaneous open), data both ways, every
// closing path through TIME-WAIT, RST handling and RFC 5961 challenge ACKs.
#include <gtest/gtest.h>

#include "kernel/net/inet_abi.h"
#include "tests/unit/net/tcp_test_network.h"

namespace nimbus::net::tcp::test {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSecond = 1'000'000'000;

struct Pair {
  RefPtr<TcpSocket> listener, client, server;
};

Pair connect_pair(TcpTestNetwork& net, uint16_t port = 80) {
  Pair p;
  p.listener = net.socket(1);
  EXPECT_TRUE(p.listener->bind(TcpTestNetwork::sockaddr(net.address(1), port)));
  EXPECT_TRUE(p.listener->listen(16));
  p.client = net.socket(0);
  auto started = p.client->connect(TcpTestNetwork::sockaddr(net.address(1), port), true);
  EXPECT_EQ(started.error(), Errno::einprogress);
  net.run_until([&] { return p.client->connection().state == TcpState::established; }, net.now() + 5 * kSecond);
  net.run_for(5 * kMs);
  auto accepted = p.listener->accept(true, nullptr);
  EXPECT_TRUE(accepted);
  if (accepted) p.server = RefPtr<TcpSocket>(static_cast<TcpSocket*>(accepted->get()));
  return p;
}

TEST(TcpConnection, ThreeWayHandshakeNegotiatesOptions) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  ASSERT_TRUE(p.server);
  ASSERT_GE(net.log.size(), 3u);
  const Segment& syn = net.log[0];
  const Segment& syn_ack = net.log[1];
  const Segment& ack = net.log[2];
  EXPECT_EQ(syn.header.flags, kSyn);
  EXPECT_EQ(syn.from, 0);
  EXPECT_TRUE(syn.header.options.has_mss);
  EXPECT_EQ(syn.header.options.mss, 1460);
  EXPECT_TRUE(syn.header.options.sack_permitted);
  EXPECT_TRUE(syn.header.options.has_timestamps);
  EXPECT_EQ(syn_ack.header.flags, kSyn | kAck);
  EXPECT_EQ(syn_ack.header.ack, syn.header.seq + 1);
  EXPECT_EQ(ack.header.flags, kAck);
  EXPECT_EQ(ack.header.seq, syn.header.seq + 1);
  EXPECT_EQ(ack.header.ack, syn_ack.header.seq + 1);
  TcpConnection& c = p.client->connection();
  TcpConnection& s = p.server->connection();
  EXPECT_EQ(s.state, TcpState::established);
  EXPECT_TRUE(c.sack_ok && c.ts_ok && c.wscale_ok);
  EXPECT_EQ(c.mss, 1460 - 12);  // the timestamp option takes 12 bytes of every segment
  EXPECT_EQ(c.remote.port, 80);
  EXPECT_EQ(s.remote.port, c.local.port);
  EXPECT_GE(c.local.port, 32768);
  EXPECT_LE(c.local.port, 60999);
  auto peer = p.server->peer_address();
  ASSERT_TRUE(peer);
  EXPECT_EQ(uint8_t(peer->bytes[7]), 1);  // 10.0.0.1
}

}  // namespace
}  // namespace nimbus::net::tcp::test
