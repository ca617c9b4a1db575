// Loss and time: RTO back-off and giving up, SYN retries, lossy transfers with and without
// SACK, window scaling, zero windows and the persist timer, Nagle, delayed ACKs, keepalive,
// and the congestion controllers.
#include <gtest/gtest.h>

#include <cstring>

#include "kernel/net/socket_abi.h"
#include "kernel/net/tcp/tcp_seq.h"
#include "tests/unit/net/tcp_test_util.h"

namespace nimbus::net::tcp::test {
namespace {

std::vector<uint64_t> data_send_times(const TcpTestNetwork& net, int from, size_t first = 0) {
  std::vector<uint64_t> times;
  for (size_t i = first; i < net.log.size(); i++)
    if (net.log[i].from == from && net.log[i].payload > 0) times.push_back(net.log[i].time_ns);
  return times;
}

Result<> set_int(TcpSocket& s, int level, int name, int value) {
  return s.set_option(level, name, {reinterpret_cast<const std::byte*>(&value), sizeof(value)});
}

TEST(TcpRecovery, RetransmissionTimeoutDoublesThenGivesUp) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  size_t mark = net.log.size();
  net.filter = [](int from, std::vector<std::byte>&) { return from != 0; };  // the client is cut off
  auto data = pattern(1000, 5);
  ASSERT_EQ(*send_bytes(*p.client, data), 1000u);
  uint64_t rto = p.client->connection().rto_ns;
  EXPECT_EQ(rto, 200 * kMs);  // Linux's floor on a 2 ms path
  net.run_until([&] { return p.client->connection().state == TcpState::closed; }, net.now() + 3000 * kSecond);
  auto times = data_send_times(net, 0, mark);
  ASSERT_EQ(times.size(), 1u + kMaxRetries);  // the original and 15 retransmissions
  uint64_t expected = rto;
  for (size_t i = 1; i < times.size(); i++) {
    EXPECT_EQ(times[i] - times[i - 1], expected) << "retransmission " << i;
    expected = expected * 2 > kMaxRtoNs ? kMaxRtoNs : expected * 2;
  }
  EXPECT_EQ(p.client->take_error(), int(Errno::etimedout));
  std::vector<std::byte> out;
  EXPECT_EQ(send_bytes(*p.client, data).error(), Errno::epipe);
  EXPECT_EQ(net.log.back().header.flags & kRst, kRst);
}

TEST(TcpRecovery, SynRetriesThenEtimedout) {
  TcpTestNetwork net;
  net.filter = [](int from, std::vector<std::byte>&) { return from != 0; };
  auto c = net.socket(0);
  EXPECT_EQ(c->connect(TcpTestNetwork::sockaddr(net.address(1), 80), true).error(), Errno::einprogress);
  uint64_t start = net.now();
  net.run_until([&] { return c->connection().state == TcpState::closed; }, net.now() + 1000 * kSecond);
  std::vector<uint64_t> syns;
  for (const Segment& s : net.log)
    if (s.header.flags == kSyn) syns.push_back(s.time_ns - start);
  ASSERT_EQ(syns.size(), 1u + kMaxSynRetries);
  for (size_t i = 1; i < syns.size(); i++) EXPECT_EQ(syns[i] - syns[i - 1], kSecond << (i - 1));
  EXPECT_EQ(net.now() - start, 127 * kSecond);  // 1 + 2 + ... + 64
  EXPECT_EQ(c->take_error(), int(Errno::etimedout));
}

uint64_t lossy_transfer(bool sack, size_t bytes, uint64_t seed, size_t* received_ok) {
  WireConditions conditions;
  conditions.loss = 0.02;
  conditions.reorder = 0.02;
  conditions.duplicate = 0.01;
  conditions.seed = seed;
  TcpTestNetwork net(conditions);
  net.record = false;
  net.engine(0).settings().sack = sack;
  net.engine(1).settings().sack = sack;
  Pair p = connect_pair(net, 80, [](TcpSocket& listener, TcpSocket& client) {
    listener.options().receive_buffer = 2 * 1024 * 1024;
    client.options().send_buffer = 2 * 1024 * 1024;
  });
  if (!p.server) return ~0ull;
  EXPECT_EQ(p.client->connection().sack_ok, sack);
  auto data = pattern(bytes, uint32_t(seed));
  auto received = transfer(net, *p.client, *p.server, data, 3000 * kSecond);
  *received_ok = received == data ? received.size() : 0;
  if (received != data) {
    size_t i = 0;
    while (i < received.size() && i < data.size() && received[i] == data[i]) i++;
    printf("sack=%d received %zu of %zu, first difference at %zu; client %s una=%u nxt=%u max=%u unsent=%u wnd=%u cwnd=%u; server rcv_nxt=%u buffered=%zu ooo=%zu\n", sack,
           received.size(), data.size(), i, state_name(p.client->connection().state), p.client->connection().snd_una,
           p.client->connection().snd_nxt, p.client->connection().snd_max, p.client->connection().unsent_bytes(),
           p.client->connection().snd_wnd, p.client->connection().window.cwnd, p.server->connection().rcv_nxt,
           p.server->connection().receive_buffer.size(), p.server->connection().out_of_order.count());
  }
  printf("sack=%d retransmits=%llu timeouts=%llu recoveries=%llu\n", sack,
         (unsigned long long)p.client->connection().total_retransmits,
         (unsigned long long)p.client->connection().timeouts, (unsigned long long)p.client->connection().recoveries);
  return p.client->connection().total_retransmits;
}

TEST(TcpRecovery, LossyTransferIsByteExactAndSackRetransmitsLess) {
  constexpr size_t kBytes = 4 * 1024 * 1024;
  size_t ok_sack = 0, ok_plain = 0;
  uint64_t with_sack = lossy_transfer(true, kBytes, 42, &ok_sack);
  uint64_t without_sack = lossy_transfer(false, kBytes, 42, &ok_plain);
  EXPECT_EQ(ok_sack, kBytes);
  EXPECT_EQ(ok_plain, kBytes);
  EXPECT_GT(with_sack, 0u);
  EXPECT_LT(with_sack, without_sack);
  printf("retransmissions for 4 MiB at 2%% loss: SACK %llu, without %llu\n", (unsigned long long)with_sack,
         (unsigned long long)without_sack);
}

TEST(TcpRecovery, WindowScalingOpensWindowsBeyond64KiB) {
  TcpTestNetwork net;
  Pair p = connect_pair(net, 80, [](TcpSocket& listener, TcpSocket& client) {
    listener.options().receive_buffer = 8 * 1024 * 1024;
    client.options().send_buffer = 8 * 1024 * 1024;
    client.options().receive_buffer = 8 * 1024 * 1024;
  });
  TcpConnection& c = p.client->connection();
  TcpConnection& s = p.server->connection();
  EXPECT_TRUE(c.wscale_ok);
  EXPECT_EQ(s.rcv_wscale, 7);  // 4 MiB needs a shift of 7 (65535 << 6 is under 4 MiB)
  EXPECT_EQ(c.snd_wscale, 7);
  auto data = pattern(3 * 1024 * 1024, 11);
  EXPECT_EQ(transfer(net, *p.client, *p.server, data), data);
  EXPECT_GT(c.snd_wnd, 4000000u);  // the whole 4 MiB buffer is offered
  uint32_t largest_flight = 0;
  (void)largest_flight;
  // The server advertised more than 16 bits can say.
  uint64_t largest = 0;
  for (const Segment& seg : net.log)
    if (seg.from == 1 && !(seg.header.flags & kSyn)) largest = std::max<uint64_t>(largest, uint64_t(seg.header.window) << 7);
  EXPECT_GT(largest, 65535u * 8);
}

TEST(TcpRecovery, ZeroWindowIsProbedUntilItOpens) {
  TcpTestNetwork net;
  Pair p = connect_pair(net, 80, [](TcpSocket& listener, TcpSocket&) {
    listener.options().receive_buffer = 2 * 16384;  // 16 KiB for data
  });
  TcpConnection& c = p.client->connection();
  auto data = pattern(64 * 1024, 12);
  size_t sent = *send_bytes(*p.client, data);
  net.run_for(kSecond);
  EXPECT_EQ(c.snd_wnd, 0u);
  EXPECT_EQ(p.server->connection().receive_buffer.size(), 16384u);
  size_t mark = net.log.size();
  net.run_for(20 * kSecond);
  std::vector<uint64_t> probes;
  for (size_t i = mark; i < net.log.size(); i++)
    if (net.log[i].from == 0 && net.log[i].payload == 0 && net.log[i].header.seq == c.snd_una - 1)
      probes.push_back(net.log[i].time_ns);
  ASSERT_GE(probes.size(), 4u);
  for (size_t i = 2; i < probes.size(); i++)
    EXPECT_EQ(probes[i] - probes[i - 1], 2 * (probes[i - 1] - probes[i - 2]));  // backed off
  // Reading opens the window; everything arrives.
  std::vector<std::byte> received;
  while (received.size() < data.size()) {
    if (sent < data.size()) {
      auto n = send_bytes(*p.client, std::span(data).subspan(sent));
      if (n) sent += *n;
    }
    receive_bytes(*p.server, received, 1 << 20);
    net.run_for(10 * kMs);
    if (net.now() > 1000 * kSecond) break;
  }
  EXPECT_EQ(received, data);
  EXPECT_EQ(c.total_retransmits, 0u);  // probes are not retransmissions
}

TEST(TcpRecovery, NagleHoldsASecondSmallSegmentUntilTheAck) {
  for (bool nodelay : {false, true}) {
    TcpTestNetwork net;
    Pair p = connect_pair(net);
    if (nodelay) {
      ASSERT_TRUE(set_int(*p.client, abi::ipproto_tcp, kTcpNodelay, 1));
    }
    size_t mark = net.log.size();
    auto small = pattern(10, 1);
    send_bytes(*p.client, small);
    send_bytes(*p.client, small);
    net.run_for(200 * kMs);
    auto times = data_send_times(net, 0, mark);
    ASSERT_EQ(times.size(), 2u);
    if (nodelay) {
      EXPECT_EQ(times[1], times[0]);
    } else {
      // Held for the delayed ACK (40 ms) plus the round trip.
      EXPECT_EQ(times[1] - times[0], 40 * kMs + 2 * kMs);
    }
  }
}

TEST(TcpRecovery, CorkAndMsgMoreFillSegments) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  ASSERT_TRUE(set_int(*p.client, abi::ipproto_tcp, kTcpCork, 1));
  size_t mark = net.log.size();
  auto chunk = pattern(500, 2);
  for (int i = 0; i < 5; i++) send_bytes(*p.client, chunk);
  net.run_for(100 * kMs);
  auto times = data_send_times(net, 0, mark);
  ASSERT_EQ(times.size(), 1u);  // one full 1448-byte segment, 1052 bytes held
  EXPECT_EQ(p.client->connection().unsent_bytes(), 2500u - 1448);
  ASSERT_TRUE(set_int(*p.client, abi::ipproto_tcp, kTcpCork, 0));
  net.run_for(100 * kMs);
  EXPECT_EQ(p.client->connection().unsent_bytes(), 0u);
  // MSG_MORE holds the tail the same way; a send without it releases it.
  mark = net.log.size();
  ASSERT_TRUE(set_int(*p.client, abi::ipproto_tcp, kTcpNodelay, 1));
  send_bytes(*p.client, chunk, abi::msg_more);
  net.run_for(100 * kMs);
  EXPECT_EQ(data_send_times(net, 0, mark).size(), 0u);
  send_bytes(*p.client, chunk);
  net.run_for(100 * kMs);
  ASSERT_EQ(data_send_times(net, 0, mark).size(), 1u);
  EXPECT_EQ(net.log[net.log.size() - 2].payload, 1000u);
}

// tcp(7): a corked partial segment goes out after at most 200 ms, and the next one waits again.
TEST(TcpRecovery, CorkHoldsAPartialSegmentAtMost200Ms) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  ASSERT_TRUE(set_int(*p.client, abi::ipproto_tcp, kTcpCork, 1));
  for (int round = 0; round < 2; round++) {
    size_t mark = net.log.size();
    uint64_t start = net.now();
    send_bytes(*p.client, pattern(500, 4));
    net.run_for(150 * kMs);
    EXPECT_EQ(data_send_times(net, 0, mark).size(), 0u) << "round " << round;
    net.run_for(100 * kMs);
    auto times = data_send_times(net, 0, mark);
    ASSERT_EQ(times.size(), 1u) << "round " << round;
    EXPECT_EQ(times[0] - start, 200 * kMs) << "round " << round;
    EXPECT_EQ(p.client->connection().unsent_bytes(), 0u);
  }
}

TEST(TcpRecovery, DelayedAckTiming) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  size_t mark = net.log.size();
  send_bytes(*p.client, pattern(100, 3));
  net.run_for(200 * kMs);
  // Data at t, arrival t+1 ms, ACK at t+41 ms.
  ASSERT_EQ(net.log.size(), mark + 2);
  EXPECT_EQ(net.log[mark + 1].from, 1);
  EXPECT_EQ(net.log[mark + 1].time_ns - net.log[mark].time_ns, 41 * kMs);
  // Two full segments: the second is ACKed on arrival.
  mark = net.log.size();
  send_bytes(*p.client, pattern(2 * 1448, 4));
  net.run_for(200 * kMs);
  ASSERT_EQ(net.log.size(), mark + 3);
  EXPECT_EQ(net.log[mark + 2].from, 1);
  EXPECT_EQ(net.log[mark + 2].header.ack, p.client->connection().snd_max);
  EXPECT_EQ(net.log[mark + 2].time_ns - net.log[mark + 1].time_ns, 1 * kMs);
}

TEST(TcpRecovery, KeepaliveEndsADeadConnection) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  ASSERT_TRUE(set_int(*p.client, abi::ipproto_tcp, kTcpKeepidle, 10));
  ASSERT_TRUE(set_int(*p.client, abi::ipproto_tcp, kTcpKeepintvl, 2));
  ASSERT_TRUE(set_int(*p.client, abi::ipproto_tcp, kTcpKeepcnt, 3));
  p.client->options().keepalive = true;
  ASSERT_TRUE(set_int(*p.client, abi::sol_socket, 9 /* SO_KEEPALIVE */, 1));
  EXPECT_EQ(set_int(*p.client, abi::ipproto_tcp, kTcpKeepcnt, 0).error(), Errno::einval);
  uint64_t start = net.now();
  // Let one probe be answered: the connection stays.
  net.run_for(11 * kSecond + 500 * kMs);
  EXPECT_EQ(p.client->connection().state, TcpState::established);
  net.filter = [](int from, std::vector<std::byte>&) { return from != 1; };  // the server dies
  size_t mark = net.log.size();
  net.run_until([&] { return p.client->connection().state == TcpState::closed; }, net.now() + 100 * kSecond);
  EXPECT_EQ(p.client->take_error(), int(Errno::etimedout));
  std::vector<uint64_t> probes;
  for (size_t i = mark; i < net.log.size(); i++)
    if (net.log[i].from == 0 && !(net.log[i].header.flags & kRst)) probes.push_back(net.log[i].time_ns - start);
  ASSERT_EQ(probes.size(), 3u);
  EXPECT_EQ(probes[0], 20 * kSecond + 2 * kMs);  // idle 10 s after the probe's answer came
  EXPECT_EQ(probes[1] - probes[0], 2 * kSecond);
  EXPECT_EQ(probes[2] - probes[1], 2 * kSecond);
  EXPECT_EQ(net.now() - start, probes[2] + 2 * kSecond);
}

// The keepalive timer is not moved for every segment; it re-arms itself when it fires early.
// The first probe must still come TCP_KEEPIDLE after the last segment heard, not after the
// timer was first armed.
TEST(TcpRecovery, KeepaliveIdleCountsFromTheLastSegmentHeard) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  ASSERT_TRUE(set_int(*p.client, abi::ipproto_tcp, kTcpKeepidle, 10));
  ASSERT_TRUE(set_int(*p.client, abi::ipproto_tcp, kTcpKeepintvl, 2));
  p.client->options().keepalive = true;
  ASSERT_TRUE(set_int(*p.client, abi::sol_socket, 9 /* SO_KEEPALIVE */, 1));
  uint64_t start = net.now();
  net.run_for(6 * kSecond);
  send_bytes(*p.server, pattern(100, 7));  // heard by the client 1 ms later
  net.run_for(7 * kSecond);
  send_bytes(*p.server, pattern(100, 8));  // and again at 13 s
  size_t mark = net.log.size();
  net.run_for(20 * kSecond);
  std::vector<uint64_t> probes;
  for (size_t i = mark; i < net.log.size(); i++)
    if (net.log[i].from == 0 && net.log[i].header.seq == p.client->connection().snd_una - 1)
      probes.push_back(net.log[i].time_ns - start);
  ASSERT_GE(probes.size(), 1u);
  EXPECT_EQ(probes[0], 23 * kSecond + 1 * kMs);
  EXPECT_EQ(p.client->connection().state, TcpState::established);
}

TEST(TcpRecovery, UserTimeoutEndsAnUnacknowledgedConnectionEarly) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  ASSERT_TRUE(set_int(*p.client, abi::ipproto_tcp, kTcpUserTimeout, 3000));
  net.filter = [](int from, std::vector<std::byte>&) { return from != 0; };
  send_bytes(*p.client, pattern(100, 1));
  uint64_t start = net.now();
  net.run_until([&] { return p.client->connection().state == TcpState::closed; }, net.now() + 100 * kSecond);
  EXPECT_EQ(p.client->take_error(), int(Errno::etimedout));
  EXPECT_GE(net.now() - start, 3 * kSecond);
  EXPECT_LT(net.now() - start, 7 * kSecond);
}

TEST(TcpCongestion, CubicReducesByBetaAndRegrowsTowardWmax) {
  Cubic cubic;
  CongestionWindow w;
  w.mss = 1000;
  cubic.reset(w, 0);
  EXPECT_EQ(w.cwnd, 10000u);
  w.ssthresh = 10000;  // start in congestion avoidance
  w.cwnd = 100000;
  uint32_t ssthresh = cubic.on_loss(w, 100000, 0);
  EXPECT_EQ(ssthresh, 70000u);
  EXPECT_EQ(cubic.w_max(), 100000u);
  w.cwnd = ssthresh;
  w.ssthresh = ssthresh;
  // K = cbrt(30 segments / 0.4) = 4.2 s: cwnd climbs back near W_max by then, then beyond.
  uint64_t t = 0;
  uint64_t rtt = 100 * kMs;
  while (t < 4200 * kMs) {
    cubic.on_ack(w, w.cwnd, t, rtt);
    t += rtt;
  }
  EXPECT_GT(w.cwnd, 95000u);
  EXPECT_LT(w.cwnd, 106000u);
  while (t < 8000 * kMs) {
    cubic.on_ack(w, w.cwnd, t, rtt);
    t += rtt;
  }
  EXPECT_GT(w.cwnd, 115000u);  // convex growth past W_max
}

TEST(TcpCongestion, NewRenoHalvesAndGrowsOneSegmentPerWindow) {
  NewReno reno;
  CongestionWindow w;
  w.mss = 1000;
  reno.reset(w, 0);
  EXPECT_EQ(reno.on_loss(w, 40000, 0), 20000u);
  w.cwnd = 20000;
  w.ssthresh = 20000;
  reno.on_ack(w, 20000, 0, 0);
  EXPECT_EQ(w.cwnd, 21000u);
  reno.on_timeout(w, 21000, 0);
  EXPECT_EQ(w.cwnd, 1000u);
  EXPECT_EQ(w.ssthresh, 10500u);
}

TEST(TcpCongestion, AlgorithmIsChosenByOption) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  std::byte name[16] = {};
  EXPECT_EQ(*p.client->get_option(abi::ipproto_tcp, kTcpCongestion, name), 16u);
  EXPECT_STREQ(reinterpret_cast<char*>(name), "cubic");
  const char reno[] = "reno";
  ASSERT_TRUE(p.client->set_option(abi::ipproto_tcp, kTcpCongestion, {reinterpret_cast<const std::byte*>(reno), 4}));
  p.client->get_option(abi::ipproto_tcp, kTcpCongestion, name);
  EXPECT_STREQ(reinterpret_cast<char*>(name), "reno");
  const char bogus[] = "bbr9";
  EXPECT_EQ(p.client->set_option(abi::ipproto_tcp, kTcpCongestion, {reinterpret_cast<const std::byte*>(bogus), 4}).error(),
            Errno::enoent);
  auto data = pattern(200000, 8);
  EXPECT_EQ(transfer(net, *p.client, *p.server, data), data);
}

}  // namespace
}  // namespace nimbus::net::tcp::test
