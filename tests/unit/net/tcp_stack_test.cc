// TCP inside the real stack: TcpProtocol sockets over NetStack, IPv4, ARP and Ethernet on
// the simulated link (with loss), over loopback, and the /proc/net/tcp listing.
#include <gtest/gtest.h>

#include "kernel/net/socket_abi.h"
#include "kernel/net/loopback_device.h"
#include "kernel/net/tcp/tcp_protocol.h"
#include "kernel/net/tcp/tcp_socket.h"
#include "tests/unit/net/simulated_link.h"
#include "tests/unit/net/two_stacks.h"
#include "tests/unit/net/tcp_test_network.h"

namespace nimbus::net::tcp::test {
namespace {

using net::test::LinkConditions;
constexpr uint64_t kSecond = 1'000'000'000;

class TcpStack : public ::testing::Test, protected net::test::TwoStackNetwork {
 protected:
  explicit TcpStack(LinkConditions conditions = {.loss = 0.01, .seed = 3}) : TwoStackNetwork(conditions) {
    link.record = false;
  }
  ~TcpStack() override {
    for (auto& s : sockets) s->close();
  }
  RefPtr<TcpSocket> socket(NetStack& stack) {
    auto created = stack.tcp().create_socket(abi::af_inet);
    EXPECT_TRUE(created);
    RefPtr<TcpSocket> s(static_cast<TcpSocket*>(created->get()));
    sockets.push_back(s);
    return s;
  }
  static SocketAddress to(Ipv4Address address, uint16_t port) {
    return TcpTestNetwork::sockaddr(IpAddress::from_ipv4(address), port);
  }
  // Moves `data` while the stacks run.
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

TEST_F(TcpStack, TransferBetweenStacksOverALossyLink) {
  auto listener = socket(b);
  ASSERT_TRUE(listener->bind(to({}, 8080)));
  ASSERT_TRUE(listener->listen(8));
  auto client = socket(a);
  EXPECT_EQ(client->connect(to(address_b, 8080), true).error(), Errno::einprogress);
  ASSERT_TRUE(network.run_until([&] { return client->connection().state == TcpState::established; },
                                env.now_ns() + 30 * kSecond));
  network.run_for(kSecond / 10);
  SocketAddress peer;
  auto accepted = listener->accept(true, &peer);
  ASSERT_TRUE(accepted);
  RefPtr<TcpSocket> server(static_cast<TcpSocket*>(accepted->get()));
  EXPECT_EQ(uint8_t(peer.bytes[7]), 10);  // 192.168.1.10
  EXPECT_EQ(server->connection().mss, 1448);
  auto up = pattern(1 << 20, 1), down = pattern(300000, 2);
  EXPECT_EQ(transfer(*client, *server, up), up);
  EXPECT_EQ(transfer(*server, *client, down), down);
  EXPECT_GT(client->connection().total_retransmits, 0u);  // the link did lose some
  TcpConnectionRow rows[4];
  ASSERT_EQ(b.tcp().list_connections(rows), 2u);
  EXPECT_EQ(rows[1].state, uint8_t(TcpState::established));
  EXPECT_EQ(rows[1].local.port, 8080);
  EXPECT_EQ(rows[1].remote.address, IpAddress::from_ipv4(address_a));
}

TEST_F(TcpStack, LoopbackConnection) {
  auto listener = socket(a);
  ASSERT_TRUE(listener->bind(to(Ipv4Address::from_octets(127, 0, 0, 1), 9000)));
  ASSERT_TRUE(listener->listen(8));
  auto client = socket(a);
  client->connect(to(Ipv4Address::from_octets(127, 0, 0, 1), 9000), true);
  ASSERT_TRUE(network.run_until([&] { return client->connection().state == TcpState::established; },
                                env.now_ns() + 5 * kSecond));
  network.run_for(kSecond / 100);
  auto accepted = listener->accept(true, nullptr);
  ASSERT_TRUE(accepted);
  RefPtr<TcpSocket> server(static_cast<TcpSocket*>(accepted->get()));
  EXPECT_EQ(client->connection().mss, 65495 - 12);  // loopback's 65536 MTU less headers and timestamps
  auto data = pattern(2 << 20, 3);
  EXPECT_EQ(transfer(*client, *server, data), data);
  EXPECT_EQ(client->connection().total_retransmits, 0u);
}

// /proc/net/sockstat's TCP counts: both ends in use while connected, the side that closes
// first in TIME_WAIT until it expires, the other side back to its listener alone.
TEST_F(TcpStack, SocketCountsFollowConnectionsThroughCloseAndTimeWait) {
  size_t live_before = Socket::live_count();
  auto listener = socket(b);
  ASSERT_TRUE(listener->bind(to({}, 8081)));
  ASSERT_TRUE(listener->listen(8));
  EXPECT_EQ(b.tcp().count_sockets().in_use_ipv4, 1u);
  auto client = socket(a);
  EXPECT_EQ(Socket::live_count(), live_before + 2);
  client->connect(to(address_b, 8081), true);
  ASSERT_TRUE(network.run_until([&] { return client->connection().state == TcpState::established; },
                                env.now_ns() + 30 * kSecond));
  network.run_for(kSecond / 10);
  auto accepted = listener->accept(true, nullptr);
  ASSERT_TRUE(accepted);
  RefPtr<TcpSocket> server(static_cast<TcpSocket*>(accepted->get()));
  auto data = pattern(100000, 4);
  EXPECT_EQ(transfer(*client, *server, data), data);
  TcpSocketCounts connected = b.tcp().count_sockets();
  EXPECT_EQ(connected.in_use_ipv4, 2u);
  EXPECT_EQ(connected.in_use_ipv6, 0u);
  EXPECT_EQ(connected.time_wait, 0u);
  EXPECT_EQ(a.tcp().count_sockets().in_use_ipv4, 1u);

  client->close();
  ASSERT_TRUE(network.run_until([&] { return server->connection().state == TcpState::close_wait; },
                                env.now_ns() + 30 * kSecond));
  server->close();
  ASSERT_TRUE(network.run_until([&] { return a.tcp().count_sockets().time_wait == 1; }, env.now_ns() + 30 * kSecond));
  network.run_for(kSecond);
  EXPECT_EQ(a.tcp().count_sockets().in_use_ipv4, 0u);
  TcpSocketCounts after = b.tcp().count_sockets();
  EXPECT_EQ(after.in_use_ipv4, 1u);  // the listener
  EXPECT_EQ(after.orphans, 0u);
  EXPECT_EQ(after.time_wait, 0u);
  EXPECT_EQ(after.buffer_pages, 0u);
  network.run_for(130 * kSecond);  // past 2 MSL
  EXPECT_EQ(a.tcp().count_sockets().time_wait, 0u);
}

// As on Linux, a connect to 0.0.0.0 goes to this host.
TEST_F(TcpStack, ConnectToTheAnyAddressReachesThisHost) {
  auto listener = socket(a);
  ASSERT_TRUE(listener->bind(to({}, 9001)));
  ASSERT_TRUE(listener->listen(8));
  auto client = socket(a);
  EXPECT_EQ(client->connect(to({}, 9001), true).error(), Errno::einprogress);
  ASSERT_TRUE(network.run_until([&] { return client->connection().state == TcpState::established; },
                                env.now_ns() + 5 * kSecond));
  EXPECT_EQ(client->connection().remote.address, IpAddress::from_ipv4(Ipv4Address::from_octets(127, 0, 0, 1)));
  EXPECT_TRUE(listener->accept(true, nullptr));
}

TEST_F(TcpStack, ConnectToAClosedPortIsRefusedThroughTheStack) {
  auto client = socket(a);
  client->connect(to(address_b, 1), true);
  network.run_for(kSecond / 10);
  EXPECT_EQ(client->take_error(), int(Errno::econnrefused));
}

}  // namespace
}  // namespace nimbus::net::tcp::test
