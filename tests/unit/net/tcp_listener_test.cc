// Listeners: backlog and SYN cookies under a SYN flood, SO_REUSEPORT spreading, deferred
// accept, and the bind() rules.
#include <gtest/gtest.h>

#include "kernel/net/socket_abi.h"
#include "tests/unit/net/tcp_test_util.h"

namespace nimbus::net::tcp::test {
namespace {

uint16_t port_of(const std::vector<std::byte>& segment) {
  return uint16_t((uint16_t(segment[2]) << 8) | uint16_t(segment[3]));
}

TEST(TcpListener, SynFloodIsAnsweredWithCookiesAndACookieConnectionWorks) {
  TcpTestNetwork net;
  auto listener = net.socket(1);
  ASSERT_TRUE(listener->bind(TcpTestNetwork::sockaddr(net.address(1), 80)));
  ASSERT_TRUE(listener->listen(4));
  // Spoofed SYNs from ports 10000..10049 whose answers go nowhere.
  net.filter = [](int from, std::vector<std::byte>& segment) {
    return !(from == 1 && port_of(segment) >= 10000 && port_of(segment) < 10100);
  };
  for (uint16_t i = 0; i < 50; i++) {
    TcpHeader syn;
    syn.source_port = uint16_t(10000 + i);
    syn.destination_port = 80;
    syn.seq = 1000u * i;
    syn.flags = kSyn;
    syn.window = 65535;
    syn.options.has_mss = true;
    syn.options.mss = 1460;
    inject_segment(net, 1, syn);
  }
  TcpConnection& l = listener->connection();
  EXPECT_EQ(l.syn_queue.size(), 4u);
  EXPECT_EQ(net.engine(1).cookies_sent(), 46u);
  // A real client now gets a cookie too, and its connection completes from the cookie.
  size_t mark = net.log.size();
  auto client = net.socket(0);
  EXPECT_EQ(client->connect(TcpTestNetwork::sockaddr(net.address(1), 80), true).error(), Errno::einprogress);
  net.run_until([&] { return client->connection().state == TcpState::established; }, net.now() + 5 * kSecond);
  net.run_for(10 * kMs);
  ASSERT_EQ(client->connection().state, TcpState::established);
  EXPECT_EQ(net.engine(1).cookies_sent(), 47u);
  const Segment& syn_ack = net.log[mark + 1];
  EXPECT_EQ(syn_ack.header.flags, kSyn | kAck);
  EXPECT_FALSE(syn_ack.header.options.has_window_scale);  // a cookie carries only the MSS
  EXPECT_EQ(syn_ack.header.options.mss, 1460);
  auto accepted = listener->accept(true, nullptr);
  ASSERT_TRUE(accepted);
  RefPtr<TcpSocket> server(static_cast<TcpSocket*>(accepted->get()));
  EXPECT_EQ(server->connection().mss, 1460);
  EXPECT_EQ(server->connection().iss + 1, client->connection().irs + 1);
  auto up = pattern(100000, 1), down = pattern(50000, 2);
  EXPECT_EQ(transfer(net, *client, *server, up), up);
  EXPECT_EQ(transfer(net, *server, *client, down), down);
  // A forged final ACK with a wrong cookie is reset, not accepted.
  TcpHeader forged;
  forged.source_port = 20000;
  forged.destination_port = 80;
  forged.seq = 5;
  forged.ack = 0x12345678;
  forged.flags = kAck;
  mark = net.log.size();
  inject_segment(net, 1, forged);
  ASSERT_EQ(net.log.size(), mark + 1);
  EXPECT_EQ(net.log.back().header.flags, kRst);
  EXPECT_EQ(net.log.back().header.seq, 0x12345678u);
  EXPECT_FALSE(listener->accept(true, nullptr));
}

TEST(TcpListener, EmbryonicConnectionsTimeOutAfterSynAckRetries) {
  TcpTestNetwork net;
  auto listener = net.socket(1);
  ASSERT_TRUE(listener->bind(TcpTestNetwork::sockaddr(net.address(1), 80)));
  ASSERT_TRUE(listener->listen(8));
  net.filter = [](int from, std::vector<std::byte>&) { return from != 1; };
  TcpHeader syn;
  syn.source_port = 10000;
  syn.destination_port = 80;
  syn.seq = 77;
  syn.flags = kSyn;
  syn.window = 1000;
  inject_segment(net, 1, syn);
  EXPECT_EQ(listener->connection().syn_queue.size(), 1u);
  net.run_for(200 * kSecond);
  EXPECT_EQ(listener->connection().syn_queue.size(), 0u);
  size_t syn_acks = 0;
  for (const Segment& s : net.log) syn_acks += s.header.flags == (kSyn | kAck);
  EXPECT_EQ(syn_acks, 1u + kMaxSynAckRetries);
  TcpConnectionInfo rows[4];
  EXPECT_EQ(net.engine(1).list(rows), 1u);  // only the listener is left
}

TEST(TcpListener, ReusePortSpreadsConnections) {
  TcpTestNetwork net;
  RefPtr<TcpSocket> listeners[2];
  for (auto& l : listeners) {
    l = net.socket(1);
    l->options().reuse_port = true;
    ASSERT_TRUE(l->bind(TcpTestNetwork::sockaddr(IpAddress::from_ipv4({}), 80)));
    ASSERT_TRUE(l->listen(64));
  }
  auto third = net.socket(1);
  EXPECT_EQ(third->bind(TcpTestNetwork::sockaddr(IpAddress::from_ipv4({}), 80)).error(), Errno::eaddrinuse);
  std::vector<RefPtr<TcpSocket>> clients;
  for (int i = 0; i < 32; i++) {
    clients.push_back(net.socket(0));
    clients.back()->connect(TcpTestNetwork::sockaddr(net.address(1), 80), true);
  }
  net.run_for(100 * kMs);
  size_t counts[2] = {0, 0};
  for (int i = 0; i < 2; i++)
    while (listeners[i]->accept(true, nullptr)) counts[i]++;
  EXPECT_EQ(counts[0] + counts[1], 32u);
  EXPECT_GE(counts[0], 4u);
  EXPECT_GE(counts[1], 4u);
}

TEST(TcpListener, DeferAcceptWaitsForData) {
  TcpTestNetwork net;
  auto listener = net.socket(1);
  ASSERT_TRUE(listener->bind(TcpTestNetwork::sockaddr(net.address(1), 80)));
  int five = 5;
  ASSERT_TRUE(listener->set_option(abi::ipproto_tcp, kTcpDeferAccept, {reinterpret_cast<std::byte*>(&five), 4}));
  ASSERT_TRUE(listener->listen(8));
  auto quiet = net.socket(0);
  auto talker = net.socket(0);
  quiet->connect(TcpTestNetwork::sockaddr(net.address(1), 80), true);
  talker->connect(TcpTestNetwork::sockaddr(net.address(1), 80), true);
  net.run_for(100 * kMs);
  EXPECT_EQ(listener->accept(true, nullptr).error(), Errno::eagain);
  EXPECT_EQ(listener->poll_events(), 0u);
  send_bytes(*talker, pattern(10, 1));
  net.run_for(10 * kMs);
  auto first = listener->accept(true, nullptr);
  ASSERT_TRUE(first);
  EXPECT_EQ(static_cast<TcpSocket*>(first->get())->connection().remote.port, talker->connection().local.port);
  EXPECT_FALSE(listener->accept(true, nullptr));
  net.run_for(6 * kSecond);  // the quiet one is handed over when the period ends
  auto second = listener->accept(true, nullptr);
  ASSERT_TRUE(second);
  EXPECT_EQ(static_cast<TcpSocket*>(second->get())->connection().remote.port, quiet->connection().local.port);
}

TEST(TcpListener, BindRules) {
  TcpTestNetwork net;
  auto a = net.socket(1), b = net.socket(1), c = net.socket(1);
  auto any80 = TcpTestNetwork::sockaddr(IpAddress::from_ipv4({}), 80);
  ASSERT_TRUE(a->bind(any80));
  EXPECT_EQ(a->bind(any80).error(), Errno::einval);  // already bound
  EXPECT_EQ(b->bind(TcpTestNetwork::sockaddr(net.address(1), 80)).error(), Errno::eaddrinuse);
  EXPECT_EQ(b->bind(TcpTestNetwork::sockaddr(net.address(0), 81)).error(), Errno::eaddrnotavail);
  // SO_REUSEADDR on both: sharing is allowed while neither listens.
  a->options().reuse_address = true;
  b->options().reuse_address = true;
  a->get_option(abi::ipproto_tcp, kTcpNodelay, {});  // any call syncs the options
  ASSERT_TRUE(b->bind(any80));
  EXPECT_TRUE(a->listen(1));
  EXPECT_EQ(b->listen(1).error(), Errno::eaddrinuse);
  c->options().reuse_address = true;
  EXPECT_EQ(c->bind(any80).error(), Errno::eaddrinuse);  // a listener holds it
  // shutdown(SHUT_WR) leaves a listener listening (Linux's inet_shutdown).
  EXPECT_TRUE(a->shutdown(abi::shut_wr));
  EXPECT_TRUE(a->is_listening());
  // Ephemeral ports come from 32768-60999 and are reported by getsockname.
  auto e = net.socket(1);
  ASSERT_TRUE(e->bind(TcpTestNetwork::sockaddr(IpAddress::from_ipv4({}), 0)));
  auto name = e->local_address();
  ASSERT_TRUE(name);
  uint16_t port = uint16_t((uint16_t(name->bytes[2]) << 8) | uint16_t(name->bytes[3]));
  EXPECT_GE(port, 32768);
  EXPECT_LE(port, 60999);
  // The wrong family.
  auto v6 = TcpTestNetwork::sockaddr(net.host(1).v6, 90, 10);
  EXPECT_EQ(net.socket(1)->bind(v6).error(), Errno::eafnosupport);
}

// A TIME-WAIT connection keeps its port from a new bind() unless both sockets set
// SO_REUSEADDR (the accepted side inherits its listener's).
TEST(TcpListener, TimeWaitYieldsOnlyToReuseAddressOnBothSides) {
  for (bool reuse_in_time_wait : {false, true}) {
    TcpTestNetwork net;
    Pair p = connect_pair(net, 80, [&](TcpSocket& listener, TcpSocket&) {
      listener.options().reuse_address = reuse_in_time_wait;
    });
    // The server closes first, so its accepted connection ends in TIME-WAIT on port 80.
    p.listener->close();
    ASSERT_TRUE(p.server->shutdown(abi::shut_wr));
    net.run_for(50 * kMs);
    ASSERT_TRUE(p.client->shutdown(abi::shut_wr));
    net.run_until([&] { return p.server->connection().state == TcpState::time_wait; }, net.now() + kSecond);
    ASSERT_EQ(p.server->connection().state, TcpState::time_wait);
    auto fresh = net.socket(1);
    fresh->options().reuse_address = true;
    auto bound = fresh->bind(TcpTestNetwork::sockaddr(IpAddress::from_ipv4({}), 80));
    if (reuse_in_time_wait) {
      EXPECT_TRUE(bound);
    } else {
      EXPECT_EQ(bound.error(), Errno::eaddrinuse);
    }
  }
}

TEST(TcpListener, DualStackListenerAndV6Only) {
  TcpTestNetwork net;
  auto listener = net.socket(1, 10);
  ASSERT_TRUE(listener->bind(TcpTestNetwork::sockaddr(IpAddress{}, 80, 10)));
  ASSERT_TRUE(listener->listen(8));
  // An IPv4 client reaches the :: listener; the peer is reported as ::ffff:10.0.0.1.
  auto v4 = net.socket(0);
  v4->connect(TcpTestNetwork::sockaddr(net.address(1), 80), true);
  // An IPv6 client too.
  auto v6 = net.socket(0, 10);
  v6->connect(TcpTestNetwork::sockaddr(net.host(1).v6, 80, 10), true);
  net.run_for(50 * kMs);
  SocketAddress peer;
  auto first = listener->accept(true, &peer);
  ASSERT_TRUE(first);
  EXPECT_EQ(peer.length, 28u);
  EXPECT_EQ(uint8_t(peer.bytes[18]), 0xff);  // ::ffff:...
  EXPECT_EQ(uint8_t(peer.bytes[23]), 1);
  auto second = listener->accept(true, &peer);
  ASSERT_TRUE(second);
  EXPECT_EQ(uint8_t(peer.bytes[8]), 0xfd);
  auto data = pattern(20000, 5);
  RefPtr<TcpSocket> server6(static_cast<TcpSocket*>(second->get()));
  EXPECT_EQ(transfer(net, *v6, *server6, data), data);
  // A v6-only listener refuses IPv4.
  auto only = net.socket(1, 10);
  int one = 1;
  ASSERT_TRUE(only->set_option(abi::ipproto_ipv6, abi::ipv6_v6only, {reinterpret_cast<std::byte*>(&one), 4}));
  ASSERT_TRUE(only->bind(TcpTestNetwork::sockaddr(IpAddress{}, 81, 10)));
  ASSERT_TRUE(only->listen(8));
  auto refused = net.socket(0);
  refused->connect(TcpTestNetwork::sockaddr(net.address(1), 81), true);
  net.run_for(50 * kMs);
  EXPECT_EQ(refused->take_error(), int(Errno::econnrefused));
  EXPECT_EQ(only->set_option(abi::ipproto_ipv6, abi::ipv6_v6only, {reinterpret_cast<std::byte*>(&one), 4}).error(),
            Errno::einval);  // after bind
}

// memcached and nginx listen on 0.0.0.0 and on [::] with IPV6_V6ONLY, both with SO_REUSEADDR,
// on one port, in either order.
TEST(TcpListener, Ipv4AndV6OnlyWildcardsShareAPort) {
  TcpTestNetwork net;
  int one = 1;
  std::span<const std::byte> on{reinterpret_cast<std::byte*>(&one), 4};
  for (bool v4_first : {true, false}) {
    uint16_t port = v4_first ? 90 : 91;
    auto v4 = net.socket(1);
    auto v6 = net.socket(1, 10);
    ASSERT_TRUE(v4->set_socket_option(1, 2, on));  // SOL_SOCKET, SO_REUSEADDR
    ASSERT_TRUE(v6->set_socket_option(1, 2, on));
    ASSERT_TRUE(v6->set_option(abi::ipproto_ipv6, abi::ipv6_v6only, on));
    auto& first = v4_first ? v4 : v6;
    auto& second = v4_first ? v6 : v4;
    ASSERT_TRUE(first->bind(TcpTestNetwork::sockaddr(v4_first ? IpAddress::from_ipv4({}) : IpAddress{}, port, v4_first ? 2 : 10)));
    ASSERT_TRUE(first->listen(8));
    ASSERT_TRUE(second->bind(TcpTestNetwork::sockaddr(v4_first ? IpAddress{} : IpAddress::from_ipv4({}), port, v4_first ? 10 : 2)));
    EXPECT_TRUE(second->listen(8)) << "v4 first: " << v4_first;
    // Without IPV6_V6ONLY the [::] listener takes IPv4 too, so the pair conflicts.
    auto both = net.socket(1, 10);
    ASSERT_TRUE(both->set_socket_option(1, 2, on));
    EXPECT_EQ(both->bind(TcpTestNetwork::sockaddr(IpAddress{}, port, 10)).error(), Errno::eaddrinuse);
  }
}

}  // namespace
}  // namespace nimbus::net::tcp::test
