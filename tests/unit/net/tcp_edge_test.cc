// Edge cases of the receive path: PAWS, the SACK blocks a receiver sends, ICMP errors, and a
// full accept queue.
#include <gtest/gtest.h>

#include "kernel/net/tcp/tcp_seq.h"
#include "tests/unit/net/tcp_test_util.h"

namespace nimbus::net::tcp::test {
namespace {

TcpHeader from_client(TcpConnection& server, uint8_t flags) {
  TcpHeader h;
  h.source_port = server.remote.port;
  h.destination_port = server.local.port;
  h.seq = server.rcv_nxt;
  h.ack = server.snd_nxt;
  h.flags = flags;
  h.window = 1000;
  return h;
}

// RFC 7323 5.3: a segment with an older timestamp than TS.Recent is dropped and ACKed.
TEST(TcpEdge, PawsDropsSegmentsWithOldTimestamps) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  TcpConnection& s = p.server->connection();
  ASSERT_TRUE(s.ts_ok);
  auto payload = pattern(20, 1);
  TcpHeader old = from_client(s, kAck | kPsh);
  old.options.has_timestamps = true;
  old.options.ts_value = s.ts_recent - 1000;
  size_t logged = net.log.size();
  inject_segment(net, 1, old, payload);
  EXPECT_EQ(s.receive_buffer.size(), 0u);
  ASSERT_EQ(net.log.size(), logged + 1);  // an ACK, nothing taken
  EXPECT_EQ(net.log.back().header.ack, s.rcv_nxt);
  TcpHeader fresh = old;
  fresh.options.ts_value = s.ts_recent + 5;
  inject_segment(net, 1, fresh, payload);
  EXPECT_EQ(s.receive_buffer.size(), 20u);
  EXPECT_EQ(s.ts_recent, fresh.options.ts_value);
}

// An ACK loop (RFC 5961 10; Linux's tcp_invalid_ratelimit): a forged data segment moves the
// server's RCV.NXT past anything the client sent. The server's ACK now acknowledges unsent
// data and the client answers it; the client's ACK lies below the server's window and the
// server answers that, and so on, one exchange per round trip, for ever. The TCP fuzzer's
// round seeded 20261215 found this (it never ended). Each end now answers invalid segments at
// most once per 500 ms, so the exchange dies out. Returns the segments sent in 10 s.
size_t segments_after_forged_data(uint32_t invalid_ratelimit_ms) {
  TcpTestNetwork net;
  net.engine(0).settings().invalid_ratelimit_ms = invalid_ratelimit_ms;
  net.engine(1).settings().invalid_ratelimit_ms = invalid_ratelimit_ms;
  Pair p = connect_pair(net);
  TcpConnection& s = p.server->connection();
  TcpConnection& c = p.client->connection();
  auto payload = pattern(10, 3);
  TcpHeader forged = from_client(s, kAck | kPsh);
  forged.options.has_timestamps = true;
  forged.options.ts_value = s.ts_recent + 1;
  size_t logged = net.log.size();
  inject_segment(net, 1, forged, payload);
  EXPECT_EQ(s.rcv_nxt, c.snd_max + 10);  // the server took bytes the client never sent
  net.run_for(10 * kSecond);
  EXPECT_EQ(s.state, TcpState::established);
  EXPECT_EQ(c.state, TcpState::established);
  return net.log.size() - logged;
}

TEST(TcpEdge, ForgedDataDoesNotStartAnAckLoop) {
  // Without the limit, the loop: about one segment per millisecond of one-way latency.
  EXPECT_GT(segments_after_forged_data(0), 5000u);
  // With Linux's 500 ms, a handful of segments and then silence.
  EXPECT_LT(segments_after_forged_data(500), 10u);
}

// Answers to invalid segments are limited per connection, not only engine-wide: a pure ACK
// below the window is answered once, then not again within 500 ms, then again after.
TEST(TcpEdge, OutOfWindowAcksAreAnsweredAtMostTwiceASecond) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  TcpConnection& s = p.server->connection();
  TcpHeader stale = from_client(s, kAck);
  stale.seq = s.rcv_nxt - 100000;  // far below the window
  stale.options.has_timestamps = true;
  stale.options.ts_value = s.ts_recent + 1;
  size_t logged = net.log.size();
  inject_segment(net, 1, stale, {});
  EXPECT_EQ(net.log.size(), logged + 1);
  inject_segment(net, 1, stale, {});
  inject_segment(net, 1, stale, {});
  EXPECT_EQ(net.log.size(), logged + 1);
  net.run_for(600 * kMs);
  logged = net.log.size();
  inject_segment(net, 1, stale, {});
  EXPECT_EQ(net.log.size(), logged + 1);
  // A data segment below the window (a retransmission) is always ACKed.
  auto payload = pattern(10, 4);
  TcpHeader duplicate = stale;
  duplicate.seq = s.rcv_nxt - 10;
  inject_segment(net, 1, duplicate, payload);
  EXPECT_EQ(net.log.size(), logged + 2);
}

TEST(TcpEdge, ReceiverReportsOutOfOrderDataInSackBlocks) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  TcpConnection& s = p.server->connection();
  uint32_t base = s.rcv_nxt;
  auto payload = pattern(100, 2);
  TcpHeader h = from_client(s, kAck);
  h.options.has_timestamps = true;
  h.options.ts_value = s.ts_recent + 1;
  // Bytes 100-199 and 300-399 arrive; 0-99 and 200-299 are missing.
  h.seq = base + 300;
  inject_segment(net, 1, h, payload);
  h.seq = base + 100;
  size_t logged = net.log.size();
  inject_segment(net, 1, h, payload);
  ASSERT_EQ(net.log.size(), logged + 1);
  const TcpOptions& o = net.log.back().header.options;
  EXPECT_EQ(net.log.back().header.ack, base);  // a duplicate ACK at once
  ASSERT_EQ(o.sack_count, 2);
  EXPECT_EQ(o.sack[0].left, base + 100);  // the newest block first (RFC 2018 4)
  EXPECT_EQ(o.sack[0].right, base + 200);
  EXPECT_EQ(o.sack[1].left, base + 300);
  EXPECT_EQ(o.sack[1].right, base + 400);
  // Filling the first gap makes 0-199 readable at once; the block for 300-399 remains.
  h.seq = base;
  inject_segment(net, 1, h, payload);
  EXPECT_EQ(s.rcv_nxt, base + 200);
  EXPECT_EQ(s.receive_buffer.size(), 200u);
  EXPECT_EQ(net.log.back().header.options.sack_count, 1);
  h.seq = base + 200;
  inject_segment(net, 1, h, payload);
  EXPECT_EQ(s.rcv_nxt, base + 400);
  std::vector<std::byte> out;
  EXPECT_EQ(*receive_bytes(*p.server, out, 1000), 400u);
  for (int i = 0; i < 4; i++)
    EXPECT_EQ(std::vector<std::byte>(out.begin() + 100 * i, out.begin() + 100 * (i + 1)), payload);
}

TEST(TcpEdge, IcmpFragmentationNeededLowersTheMss) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  TcpConnection& c = p.client->connection();
  send_bytes(*p.client, pattern(3000, 3));
  std::byte quoted[8];
  uint32_t seq = c.snd_una;
  quoted[0] = std::byte(c.local.port >> 8), quoted[1] = std::byte(c.local.port);
  quoted[2] = std::byte(c.remote.port >> 8), quoted[3] = std::byte(c.remote.port);
  for (int i = 0; i < 4; i++) quoted[4 + i] = std::byte(seq >> (24 - 8 * i));
  net.engine(0).icmp_error(3, 4, 1000, c.local.address, c.remote.address, quoted);
  EXPECT_EQ(c.mss, 1000 - 40 - 12);
  // A quoted sequence number outside the flight is not believed (RFC 5927).
  quoted[4] = std::byte(uint8_t(quoted[4]) ^ 0x80);
  net.engine(0).icmp_error(3, 4, 600, c.local.address, c.remote.address, quoted);
  EXPECT_EQ(c.mss, 1000 - 40 - 12);
  net.run_for(100 * kMs);
  for (size_t i = net.log.size() - 3; i < net.log.size(); i++)
    if (net.log[i].from == 0) EXPECT_LE(net.log[i].payload, 948u);
}

TEST(TcpEdge, HostUnreachableEndsAConnectingSocket) {
  TcpTestNetwork net;
  net.filter = [](int from, std::vector<std::byte>&) { return from != 0; };
  auto c = net.socket(0);
  c->connect(TcpTestNetwork::sockaddr(net.address(1), 80), true);
  TcpConnection& conn = c->connection();
  std::byte quoted[8];
  quoted[0] = std::byte(conn.local.port >> 8), quoted[1] = std::byte(conn.local.port);
  quoted[2] = std::byte(0), quoted[3] = std::byte(80);
  for (int i = 0; i < 4; i++) quoted[4 + i] = std::byte(conn.iss >> (24 - 8 * i));
  net.engine(0).icmp_error(3, 1, 0, conn.local.address, conn.remote.address, quoted);
  EXPECT_EQ(conn.state, TcpState::closed);
  EXPECT_EQ(c->take_error(), int(Errno::ehostunreach));
}

TEST(TcpEdge, FullAcceptQueueDropsSyns) {
  TcpTestNetwork net;
  auto listener = net.socket(1);
  ASSERT_TRUE(listener->bind(TcpTestNetwork::sockaddr(net.address(1), 80)));
  ASSERT_TRUE(listener->listen(2));
  std::vector<RefPtr<TcpSocket>> clients;
  for (int i = 0; i < 3; i++) {
    clients.push_back(net.socket(0));
    clients.back()->connect(TcpTestNetwork::sockaddr(net.address(1), 80), true);
    net.run_for(10 * kMs);
  }
  EXPECT_EQ(listener->connection().accept_queue.size(), 2u);
  EXPECT_EQ(clients[2]->connection().state, TcpState::syn_sent);  // its SYN was dropped
  ASSERT_TRUE(listener->accept(true, nullptr));
  net.run_for(1100 * kMs);  // the SYN is retried after 1 s and now fits
  EXPECT_EQ(clients[2]->connection().state, TcpState::established);
}

}  // namespace
}  // namespace nimbus::net::tcp::test
