// TCP connections end to end: handshake (and simultaneous open), data both ways, every
// closing path through TIME-WAIT, RST handling and RFC 5961 challenge ACKs.
#include <gtest/gtest.h>

#include "kernel/net/socket_abi.h"
#include "kernel/net/tcp/tcp_seq.h"
#include "tests/unit/net/tcp_test_util.h"

namespace nimbus::net::tcp::test {
namespace {

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


TEST(TcpConnection, DataFlowsBothWaysByteExact) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  auto up = pattern(300'000, 1);
  auto down = pattern(200'000, 2);
  EXPECT_EQ(transfer(net, *p.client, *p.server, up), up);
  EXPECT_EQ(transfer(net, *p.server, *p.client, down), down);
  EXPECT_EQ(p.client->connection().total_retransmits, 0u);
  // Every data segment respects the MSS.
  for (const Segment& s : net.log) EXPECT_LE(s.payload, 1448u);
}

TEST(TcpConnection, GracefulCloseThroughEveryState) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  TcpConnection& c = p.client->connection();
  TcpConnection& s = p.server->connection();
  ASSERT_TRUE(p.client->shutdown(abi::shut_wr));
  EXPECT_EQ(c.state, TcpState::fin_wait_1);
  net.run_until([&] { return c.state == TcpState::fin_wait_2; }, net.now() + kSecond);
  EXPECT_EQ(c.state, TcpState::fin_wait_2);
  EXPECT_EQ(s.state, TcpState::close_wait);
  std::vector<std::byte> out;
  EXPECT_EQ(*receive_bytes(*p.server, out, 100), 0u);  // end of stream
  // The server can still send in CLOSE-WAIT.
  auto last = pattern(1000, 3);
  EXPECT_EQ(*send_bytes(*p.server, last), 1000u);
  net.run_for(50 * kMs);
  EXPECT_EQ(*receive_bytes(*p.client, out, 2000), 1000u);
  EXPECT_EQ(out, last);
  p.server->close();
  EXPECT_EQ(s.state, TcpState::last_ack);
  net.run_until([&] { return c.state == TcpState::time_wait; }, net.now() + kSecond);
  EXPECT_EQ(c.state, TcpState::time_wait);
  net.run_for(10 * kMs);
  EXPECT_EQ(s.state, TcpState::closed);
  // TIME-WAIT lasts 60 s, then the connection leaves the table.
  uint64_t entered = net.now();
  net.run_until([&] { return c.state == TcpState::closed; }, net.now() + 120 * kSecond);
  EXPECT_EQ(c.state, TcpState::closed);
  EXPECT_NEAR(double(net.now() - entered), double(60 * kSecond), double(20 * kMs));
  p.client->close();
  TcpConnectionInfo rows[4];
  EXPECT_EQ(net.engine(0).list(rows), 0u);
  EXPECT_EQ(net.engine(1).list(rows), 1u);  // the listener
  EXPECT_EQ(rows[0].state, uint8_t(TcpState::listen));
}

TEST(TcpConnection, SimultaneousCloseGoesThroughClosing) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  TcpConnection& c = p.client->connection();
  TcpConnection& s = p.server->connection();
  ASSERT_TRUE(p.client->shutdown(abi::shut_wr));
  ASSERT_TRUE(p.server->shutdown(abi::shut_wr));
  EXPECT_EQ(c.state, TcpState::fin_wait_1);
  EXPECT_EQ(s.state, TcpState::fin_wait_1);
  bool saw_closing = false;
  net.run_until([&] {
    saw_closing = saw_closing || c.state == TcpState::closing || s.state == TcpState::closing;
    return c.state == TcpState::time_wait && s.state == TcpState::time_wait;
  }, net.now() + kSecond);
  EXPECT_TRUE(saw_closing);
  EXPECT_EQ(c.state, TcpState::time_wait);
  EXPECT_EQ(s.state, TcpState::time_wait);
}

TEST(TcpConnection, SimultaneousOpen) {
  TcpTestNetwork net;
  auto a = net.socket(0);
  auto b = net.socket(1);
  ASSERT_TRUE(a->bind(TcpTestNetwork::sockaddr(net.address(0), 5000)));
  ASSERT_TRUE(b->bind(TcpTestNetwork::sockaddr(net.address(1), 6000)));
  EXPECT_EQ(a->connect(TcpTestNetwork::sockaddr(net.address(1), 6000), true).error(), Errno::einprogress);
  EXPECT_EQ(b->connect(TcpTestNetwork::sockaddr(net.address(0), 5000), true).error(), Errno::einprogress);
  bool saw_syn_received = false;
  net.run_until([&] {
    saw_syn_received = saw_syn_received || a->connection().state == TcpState::syn_received;
    return a->connection().state == TcpState::established && b->connection().state == TcpState::established;
  }, net.now() + 5 * kSecond);
  EXPECT_TRUE(saw_syn_received);
  ASSERT_EQ(a->connection().state, TcpState::established);
  ASSERT_EQ(b->connection().state, TcpState::established);
  auto data = pattern(5000, 9);
  EXPECT_EQ(transfer(net, *a, *b, data), data);
}

TEST(TcpConnection, ConnectToClosedPortIsRefused) {
  TcpTestNetwork net;
  auto c = net.socket(0);
  EXPECT_EQ(c->connect(TcpTestNetwork::sockaddr(net.address(1), 81), true).error(), Errno::einprogress);
  EXPECT_EQ(c->connect(TcpTestNetwork::sockaddr(net.address(1), 81), true).error(), Errno::ealready);
  net.run_for(50 * kMs);
  EXPECT_EQ(c->connection().state, TcpState::closed);
  EXPECT_EQ(c->take_error(), int(Errno::econnrefused));
  EXPECT_EQ(c->take_error(), 0);
  EXPECT_TRUE(c->poll_events() & 0x010);  // POLLHUP
  ASSERT_GE(net.log.size(), 2u);
  EXPECT_EQ(net.log[1].header.flags, kRst | kAck);
}

// gVisor's TCPResetAfterClose: data reaching a closed socket's connection in FIN-WAIT-2 is
// answered with RST (Linux's TCPAbortOnData), so the sender's next send fails with EPIPE.
TEST(TcpConnection, DataForAClosedSocketResetsTheSender) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  p.client->close();
  net.run_until([&] { return p.client->connection().state == TcpState::fin_wait_2; }, net.now() + kSecond);
  ASSERT_EQ(p.client->connection().state, TcpState::fin_wait_2);
  EXPECT_EQ(*send_bytes(*p.server, pattern(4, 1)), 4u);
  net.run_for(50 * kMs);
  EXPECT_EQ(p.server->connection().state, TcpState::closed);
  EXPECT_EQ(send_bytes(*p.server, pattern(4, 2)).error(), Errno::epipe);
}

TEST(TcpConnection, CloseWithUnreadDataResetsThePeer) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  auto data = pattern(100, 4);
  send_bytes(*p.client, data);
  net.run_for(50 * kMs);
  p.server->close();  // 100 bytes unread
  net.run_for(50 * kMs);
  EXPECT_EQ(net.log.back().header.flags & kRst, kRst);
  EXPECT_EQ(p.client->connection().state, TcpState::closed);
  std::vector<std::byte> out;
  EXPECT_EQ(receive_bytes(*p.client, out, 10).error(), Errno::econnreset);
  EXPECT_EQ(send_bytes(*p.client, data).error(), Errno::epipe);
}

// RFC 5961 3.2 and 4.2: only an exact RST resets; others and SYNs draw challenge ACKs.
TEST(TcpConnection, BlindResetAndSynGetChallengeAcks) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  TcpConnection& s = p.server->connection();
  auto forge = [&](uint32_t seq, uint8_t flags) {
    TcpHeader h;
    h.source_port = s.remote.port;
    h.destination_port = s.local.port;
    h.seq = seq;
    h.ack = s.snd_nxt;
    h.flags = flags;
    h.window = 1000;
    std::vector<std::byte> segment(20);
    build_tcp_header(segment, h);
    uint16_t sum = tcp_checksum(net.address(0), net.address(1), segment);
    segment[16] = std::byte(sum >> 8), segment[17] = std::byte(sum);
    net.inject(1, segment, net.address(0), net.address(1));
  };
  uint64_t challenges = net.engine(1).challenge_acks_sent();
  size_t logged = net.log.size();
  forge(s.rcv_nxt + 100, kRst);  // in the window, not exact
  EXPECT_EQ(s.state, TcpState::established);
  EXPECT_EQ(net.engine(1).challenge_acks_sent(), challenges + 1);
  ASSERT_EQ(net.log.size(), logged + 1);
  EXPECT_EQ(net.log.back().header.flags, kAck);
  EXPECT_EQ(net.log.back().header.ack, s.rcv_nxt);
  forge(s.rcv_nxt + 10'000'000, kRst);  // outside the window: silently dropped
  EXPECT_EQ(net.log.size(), logged + 1);
  forge(s.rcv_nxt + 200, kRst);  // again at once: this connection's limit holds the answer back
  EXPECT_EQ(net.log.size(), logged + 1);
  EXPECT_EQ(net.engine(1).challenge_acks_sent(), challenges + 1);
  net.run_for(kSecond);  // Linux's tcp_invalid_ratelimit (500 ms) has passed
  forge(s.rcv_nxt + 5, kSyn);  // a SYN in ESTABLISHED
  EXPECT_EQ(s.state, TcpState::established);
  EXPECT_EQ(net.engine(1).challenge_acks_sent(), challenges + 2);
  forge(s.rcv_nxt, kRst);  // exact: the connection is reset
  EXPECT_EQ(s.state, TcpState::closed);
  EXPECT_EQ(p.server->take_error(), int(Errno::econnreset));
}

TEST(TcpConnection, TimeWaitIsReusedByANewerSyn) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  uint16_t client_port = p.client->connection().local.port;
  // The server closes first, so the server side holds TIME-WAIT.
  p.server->close();
  net.run_for(10 * kMs);
  p.client->close();
  net.run_until([&] { return p.server->connection().state == TcpState::time_wait; }, net.now() + kSecond);
  ASSERT_EQ(p.server->connection().state, TcpState::time_wait);
  // A new connection from the same client port.
  auto again = net.socket(0);
  again->options().reuse_address = true;
  net.run_for(10 * kMs);  // the client's LAST-ACK ends
  ASSERT_TRUE(again->bind(TcpTestNetwork::sockaddr(net.address(0), client_port)));
  EXPECT_EQ(again->connect(TcpTestNetwork::sockaddr(net.address(1), 80), true).error(), Errno::einprogress);
  net.run_until([&] { return again->connection().state == TcpState::established; }, net.now() + 5 * kSecond);
  EXPECT_EQ(again->connection().state, TcpState::established);
  EXPECT_EQ(p.server->connection().state, TcpState::closed);
  net.run_for(5 * kMs);  // the final ACK reaches the server
  EXPECT_TRUE(p.listener->accept(true, nullptr));
  // RFC 6528: the new incarnation's ISN lies above the old one's.
  EXPECT_TRUE(seq_gt(again->connection().iss, p.client->connection().iss));
}

}  // namespace
}  // namespace nimbus::net::tcp::test
