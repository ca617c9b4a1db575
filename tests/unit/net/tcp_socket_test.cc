// The socket face of TCP: receive flags, low-water mark, ioctls, readiness, shutdown,
// linger, options and TCP_INFO, connect errors, and the /proc/net/tcp listing.
#include <gtest/gtest.h>

#include <cstring>

#include "kernel/fs/linux_abi.h"
#include "kernel/net/socket_abi.h"
#include "tests/unit/net/tcp_test_util.h"

namespace nimbus::net::tcp::test {
namespace {

using namespace nimbus::fs::linux_abi;
constexpr uint32_t kPollRdHup = 0x2000;

Result<> set_int(TcpSocket& s, int level, int name, int value) {
  return s.set_option(level, name, {reinterpret_cast<const std::byte*>(&value), sizeof(value)});
}
int get_int(TcpSocket& s, int level, int name) {
  int value = -1;
  EXPECT_EQ(*s.get_option(level, name, {reinterpret_cast<std::byte*>(&value), sizeof(value)}), 4u);
  return value;
}
int ioctl_int(TcpSocket& s, uint32_t request) {
  int value = -1;
  EXPECT_TRUE(s.ioctl_request(request, reinterpret_cast<uintptr_t>(&value)));
  return value;
}

TEST(TcpSocket, PeekWaitallTruncAndLowWater) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  auto data = pattern(3000, 1);
  send_bytes(*p.client, data);
  net.run_for(50 * kMs);
  EXPECT_EQ(ioctl_int(*p.server, abi::siocinq), 3000);
  std::vector<std::byte> out;
  EXPECT_EQ(*receive_bytes(*p.server, out, 100, abi::msg_peek), 100u);
  EXPECT_EQ(*receive_bytes(*p.server, out, 100, abi::msg_peek), 100u);
  EXPECT_EQ(std::vector<std::byte>(out.begin(), out.begin() + 100), std::vector<std::byte>(out.begin() + 100, out.end()));
  EXPECT_EQ(ioctl_int(*p.server, abi::siocinq), 3000);
  out.clear();
  // MSG_TRUNC discards without copying.
  EXPECT_EQ(*receive_bytes(*p.server, out, 1000, abi::msg_trunc), 1000u);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(ioctl_int(*p.server, abi::siocinq), 2000);
  EXPECT_EQ(*receive_bytes(*p.server, out, 2000), 2000u);
  EXPECT_EQ(out, std::vector<std::byte>(data.begin() + 1000, data.end()));
  // SO_RCVLOWAT: a non-blocking read still returns what there is; poll waits for the mark.
  p.server->options().receive_low_water = 500;
  send_bytes(*p.client, pattern(100, 2));
  net.run_for(50 * kMs);
  EXPECT_EQ(p.server->poll_events() & pollin, 0u);
  send_bytes(*p.client, pattern(400, 3));
  net.run_for(50 * kMs);
  EXPECT_EQ(p.server->poll_events() & pollin, pollin);
  out.clear();
  // MSG_WAITALL on a blocking socket returns once all of it is there (here: already).
  EXPECT_EQ(*receive_bytes(*p.server, out, 500, abi::msg_waitall, false), 500u);
  EXPECT_EQ(receive_bytes(*p.server, out, 10).error(), Errno::eagain);
}

TEST(TcpSocket, ReadinessFollowsTheConnection) {
  TcpTestNetwork net;
  auto c = net.socket(0);
  EXPECT_EQ(c->poll_events(), pollout | pollwrnorm | pollhup);  // unconnected, as on Linux
  auto listener = net.socket(1);
  listener->bind(TcpTestNetwork::sockaddr(net.address(1), 80));
  listener->listen(4);
  EXPECT_EQ(listener->poll_events(), 0u);
  c->connect(TcpTestNetwork::sockaddr(net.address(1), 80), true);
  EXPECT_EQ(c->poll_events(), 0u);  // SYN-SENT
  net.run_for(10 * kMs);
  EXPECT_EQ(c->poll_events(), pollout | pollwrnorm);
  EXPECT_EQ(listener->poll_events(), pollin | pollrdnorm);
  RefPtr<TcpSocket> s(static_cast<TcpSocket*>(listener->accept(true, nullptr)->get()));
  send_bytes(*c, pattern(10, 1));
  net.run_for(50 * kMs);
  EXPECT_EQ(s->poll_events(), pollin | pollrdnorm | pollout | pollwrnorm);
  c->shutdown(abi::shut_wr);
  net.run_for(50 * kMs);
  EXPECT_EQ(s->poll_events(), pollin | pollrdnorm | kPollRdHup | pollout | pollwrnorm);
  EXPECT_EQ(c->poll_events(), pollout | pollwrnorm);  // writes shut but not reads
  s->shutdown(abi::shut_wr);
  net.run_for(50 * kMs);
  EXPECT_EQ(c->poll_events() & (pollhup | pollin | kPollRdHup), pollhup | pollin | kPollRdHup);
  // A send buffer that fills stops POLLOUT.
  Pair p = connect_pair(net, 90, [](TcpSocket& l, TcpSocket& client) {
    l.options().receive_buffer = 8192;
    client.options().send_buffer = 8192;
  });
  while (send_bytes(*p.client, pattern(1000, 2))) {}
  EXPECT_EQ(p.client->poll_events() & pollout, 0u);
  EXPECT_EQ(ioctl_int(*p.client, abi::siocoutq), 4096);
  EXPECT_GT(ioctl_int(*p.client, abi::siocoutqnsd), 0);
}

TEST(TcpSocket, ShutdownReadAndWrite) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  EXPECT_EQ(net.socket(0)->shutdown(abi::shut_rd).error(), Errno::enotconn);
  EXPECT_EQ(p.client->shutdown(7).error(), Errno::einval);
  ASSERT_TRUE(p.client->shutdown(abi::shut_rd));
  std::vector<std::byte> out;
  EXPECT_EQ(*receive_bytes(*p.client, out, 10), 0u);  // end of stream at once
  ASSERT_TRUE(p.client->shutdown(abi::shut_wr));
  EXPECT_EQ(send_bytes(*p.client, pattern(5, 1)).error(), Errno::epipe);
  net.run_for(50 * kMs);
  EXPECT_EQ(*receive_bytes(*p.server, out, 10), 0u);
}

TEST(TcpSocket, LingerZeroResetsAndLingerTimeoutWaits) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  p.client->options().linger = true;
  p.client->options().linger_seconds = 0;
  p.client->close();
  net.run_for(10 * kMs);
  EXPECT_EQ(p.server->connection().state, TcpState::closed);
  EXPECT_EQ(p.server->take_error(), int(Errno::econnreset));
}

TEST(TcpSocket, ConnectErrors) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  // The first connect() after a non-blocking one completed reports the success (Linux's
  // SS_CONNECTING); only later ones say EISCONN.
  EXPECT_TRUE(p.client->connect(TcpTestNetwork::sockaddr(net.address(1), 80), true));
  EXPECT_EQ(p.client->connect(TcpTestNetwork::sockaddr(net.address(1), 80), true).error(), Errno::eisconn);
  EXPECT_EQ(p.server->connect(TcpTestNetwork::sockaddr(net.address(0), 80), true).error(), Errno::eisconn);
  EXPECT_EQ(p.listener->connect(TcpTestNetwork::sockaddr(net.address(1), 80), true).error(), Errno::einval);
  EXPECT_EQ(p.client->listen(5).error(), Errno::einval);
  auto s = net.socket(0);
  SocketAddress short_address = TcpTestNetwork::sockaddr(net.address(1), 80);
  short_address.length = 8;
  EXPECT_EQ(s->connect(short_address, true).error(), Errno::einval);
  std::vector<std::byte> out;
  EXPECT_EQ(receive_bytes(*s, out, 1).error(), Errno::enotconn);
  EXPECT_EQ(send_bytes(*s, pattern(1, 1)).error(), Errno::epipe);
  EXPECT_EQ(s->peer_address().error(), Errno::enotconn);
  EXPECT_EQ(p.listener->accept(true, nullptr).error(), Errno::eagain);
  EXPECT_EQ(s->accept(true, nullptr).error(), Errno::einval);
}

// gVisor's NonBlockingConnectNoListener{,Read,Peek} and CleanupOnConnectionRefused, after
// Linux: a refused attempt reports its error once (SO_ERROR, read or connect), then reads
// end of stream; the next connect() says ECONNABORTED and leaves the socket unconnected;
// a port the socket did not name in bind() is free again at once.
TEST(TcpSocket, RefusedConnectReportsOnceAndGivesBackItsPort) {
  TcpTestNetwork net;
  auto client = net.socket(0);
  ASSERT_TRUE(client->bind(TcpTestNetwork::sockaddr(net.address(0), 0)));
  auto bound = client->local_address();
  ASSERT_TRUE(bound);
  uint16_t port = uint16_t((uint8_t(bound->bytes[2]) << 8) | uint8_t(bound->bytes[3]));
  ASSERT_NE(port, 0);
  EXPECT_EQ(client->connect(TcpTestNetwork::sockaddr(net.address(1), 81), true).error(), Errno::einprogress);
  net.run_for(50 * kMs);
  EXPECT_EQ(client->connection().state, TcpState::closed);
  EXPECT_EQ(client->take_error(), int(Errno::econnrefused));
  std::vector<std::byte> out;
  EXPECT_EQ(*receive_bytes(*client, out, 1), 0u);
  EXPECT_EQ(*receive_bytes(*client, out, 1, abi::msg_peek), 0u);
  // Another socket may take the automatically chosen port now.
  auto other = net.socket(0);
  EXPECT_TRUE(other->bind(TcpTestNetwork::sockaddr(net.address(0), port)));
  EXPECT_EQ(client->connect(TcpTestNetwork::sockaddr(net.address(1), 81), true).error(), Errno::econnaborted);
  // Unconnected again: a new attempt starts (and is refused again, from another port).
  EXPECT_EQ(client->connect(TcpTestNetwork::sockaddr(net.address(1), 81), true).error(), Errno::einprogress);
  net.run_for(50 * kMs);
  // The error not yet taken: the next read (a peek too) reports it, then the end of stream.
  EXPECT_EQ(receive_bytes(*client, out, 1, abi::msg_peek).error(), Errno::econnrefused);
  EXPECT_EQ(*receive_bytes(*client, out, 1, abi::msg_peek), 0u);
  EXPECT_EQ(client->connect(TcpTestNetwork::sockaddr(net.address(1), 81), true).error(), Errno::econnaborted);
  // A port named in bind() stays with its socket.
  auto named = net.socket(0);
  ASSERT_TRUE(named->bind(TcpTestNetwork::sockaddr(net.address(0), 4000)));
  EXPECT_EQ(named->connect(TcpTestNetwork::sockaddr(net.address(1), 81), true).error(), Errno::einprogress);
  net.run_for(50 * kMs);
  EXPECT_EQ(named->take_error(), int(Errno::econnrefused));
  EXPECT_EQ(net.socket(0)->bind(TcpTestNetwork::sockaddr(net.address(0), 4000)).error(), Errno::eaddrinuse);
}

// gVisor's Shutdown{Read,Write,ReadWrite}ConnectingSocket: inet_shutdown disconnects a
// SYN-SENT socket; it polls POLLHUP | POLLERR with ECONNRESET pending.
TEST(TcpSocket, ShutdownOfAConnectingSocketDisconnectsIt) {
  for (int how : {abi::shut_rd, abi::shut_wr, abi::shut_rdwr}) {
    TcpTestNetwork net;
    auto client = net.socket(0);
    EXPECT_EQ(client->connect(TcpTestNetwork::sockaddr(net.address(1), 81), true).error(), Errno::einprogress);
    ASSERT_EQ(client->connection().state, TcpState::syn_sent);
    EXPECT_TRUE(client->shutdown(how));
    EXPECT_EQ(client->connection().state, TcpState::closed);
    EXPECT_EQ(client->poll_events() & (pollhup | pollerr), pollhup | pollerr);
    EXPECT_EQ(client->take_error(), int(Errno::econnreset));
    net.run_for(50 * kMs);
    EXPECT_EQ(client->take_error(), 0);
    // It may connect again.
    EXPECT_EQ(client->connect(TcpTestNetwork::sockaddr(net.address(1), 81), true).error(), Errno::einprogress);
  }
}

// gVisor's ShutdownWriteInTimeWait: the socket of a connection in TIME-WAIT is closed as
// far as the application sees (Linux moved the connection to a timewait socket).
TEST(TcpSocket, TimeWaitIsNotConnected) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  ASSERT_TRUE(p.server->shutdown(abi::shut_wr));
  ASSERT_TRUE(p.client->shutdown(abi::shut_rdwr));
  net.run_for(1 * kSecond);
  ASSERT_EQ(p.server->connection().state, TcpState::time_wait);
  EXPECT_EQ(p.server->shutdown(abi::shut_wr).error(), Errno::enotconn);
  EXPECT_EQ(p.server->peer_address().error(), Errno::enotconn);
}

// gVisor's TcpSCMPriority: SO_TIMESTAMP gives a TCP read a struct timeval control message,
// ahead of TCP_INQ's.
TEST(TcpSocket, TimestampControlMessageComesBeforeInq) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  p.server->options().timestamp = true;
  ASSERT_TRUE(set_int(*p.server, abi::ipproto_tcp, kTcpInq, 1));
  send_bytes(*p.client, pattern(100, 5));
  net.run_for(50 * kMs);
  std::vector<std::byte> out(100);
  fs::IoVec vector{out.data(), out.size()};
  std::byte control[64] = {};
  ReceiveRequest request;
  request.data = {&vector, 1};
  request.control = control;
  request.nonblocking = true;
  ASSERT_EQ(*p.server->receive(request), 100u);
  ASSERT_EQ(request.control_length, 32u + 24u);  // CMSG_SPACE(timeval) + CMSG_SPACE(int)
  int level, type;
  std::memcpy(&level, control + 8, 4);
  std::memcpy(&type, control + 12, 4);
  EXPECT_EQ(level, abi::sol_socket);
  EXPECT_EQ(type, abi::so_timestamp);
  int64_t stamp[2];
  std::memcpy(stamp, control + 16, 16);
  EXPECT_LT(stamp[1], 1'000'000);  // microseconds
  std::memcpy(&level, control + 32 + 8, 4);
  std::memcpy(&type, control + 32 + 12, 4);
  EXPECT_EQ(level, abi::ipproto_tcp);
  EXPECT_EQ(type, kTcpInq);
}

TEST(TcpSocket, OptionsAndTcpInfo) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  TcpSocket& c = *p.client;
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpNodelay), 0);
  ASSERT_TRUE(set_int(c, abi::ipproto_tcp, kTcpNodelay, 1));
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpNodelay), 1);
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpMaxseg), 1448);
  EXPECT_EQ(set_int(c, abi::ipproto_tcp, kTcpMaxseg, 20).error(), Errno::einval);
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpKeepidle), 7200);
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpKeepintvl), 75);
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpKeepcnt), 9);
  ASSERT_TRUE(set_int(c, abi::ipproto_ip, abi::ip_tos, 0x10));
  EXPECT_EQ(get_int(c, abi::ipproto_ip, abi::ip_tos), 0x10);
  // ip_getsockopt: an AF_INET socket has no IPv6 level.
  EXPECT_EQ(c.get_option(abi::ipproto_ipv6, abi::ipv6_v6only, {}).error(), Errno::eopnotsupp);
  EXPECT_EQ(set_int(c, abi::ipproto_tcp, 999, 1).error(), Errno::enoprotoopt);
  EXPECT_EQ(c.set_option(abi::ipproto_tcp, kTcpNodelay, {}).error(), Errno::einval);
  auto data = pattern(50000, 3);
  EXPECT_EQ(transfer(net, c, *p.server, data), data);
  net.run_for(100 * kMs);
  LinuxTcpInfo info;
  ASSERT_EQ(*c.get_option(abi::ipproto_tcp, kTcpInfo, {reinterpret_cast<std::byte*>(&info), sizeof(info)}),
            sizeof(info));
  EXPECT_EQ(info.state, 1);  // TCP_ESTABLISHED
  EXPECT_EQ(info.snd_mss, 1448u);
  EXPECT_EQ(info.options, 1 | 2 | 4);  // timestamps, SACK, window scaling
  EXPECT_EQ(info.bytes_acked, 50000u);
  EXPECT_EQ(info.unacked, 0u);
  EXPECT_EQ(info.total_retrans, 0u);
  EXPECT_GE(info.rtt, 2000u);  // a 2 ms round trip (plus delayed ACKs)
  EXPECT_LE(info.rtt, 45000u);
  EXPECT_EQ(info.rto, 200000u);
  EXPECT_GT(info.snd_cwnd, 10u);
  EXPECT_EQ(info.segs_out, c.connection().segments_out);
  // A short buffer gets the first bytes.
  uint8_t head[8];
  EXPECT_EQ(*c.get_option(abi::ipproto_tcp, kTcpInfo, {reinterpret_cast<std::byte*>(head), 8}), 8u);
  EXPECT_EQ(head[0], 1);
}

// do_tcp_setsockopt / do_ip_setsockopt rules gVisor's tests check, and TCP_INQ's message.
TEST(TcpSocket, LingerSyncntWindowClampQuickackInqAndIpOptions) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  TcpSocket& c = *p.client;
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpLinger2), 60);
  ASSERT_TRUE(set_int(c, abi::ipproto_tcp, kTcpLinger2, -1234));
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpLinger2), -1);
  ASSERT_TRUE(set_int(c, abi::ipproto_tcp, kTcpLinger2, 121));
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpLinger2), 120);
  ASSERT_TRUE(set_int(c, abi::ipproto_tcp, kTcpLinger2, 59));
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpLinger2), 59);
  EXPECT_EQ(c.connection().settings.linger2_s, 59);
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpSyncnt), 6);
  ASSERT_TRUE(set_int(c, abi::ipproto_tcp, kTcpSyncnt, 20));
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpSyncnt), 20);
  EXPECT_EQ(set_int(c, abi::ipproto_tcp, kTcpSyncnt, 256).error(), Errno::einval);
  EXPECT_EQ(set_int(c, abi::ipproto_tcp, kTcpSyncnt, 0).error(), Errno::einval);
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpSyncnt), 20);
  // TCP_WINDOW_CLAMP: 0 refused once connected; small values raised to SOCK_MIN_RCVBUF / 2.
  EXPECT_EQ(set_int(c, abi::ipproto_tcp, kTcpWindowClamp, 0).error(), Errno::einval);
  ASSERT_TRUE(set_int(c, abi::ipproto_tcp, kTcpWindowClamp, 10));
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpWindowClamp), int(abi::sock_min_rcvbuf / 2));
  // TCP_QUICKACK reads 1 unless delayed ACKs were asked for.
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpQuickack), 1);
  ASSERT_TRUE(set_int(c, abi::ipproto_tcp, kTcpQuickack, 0));
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpQuickack), 0);
  ASSERT_TRUE(set_int(c, abi::ipproto_tcp, kTcpQuickack, 1));
  EXPECT_EQ(get_int(c, abi::ipproto_tcp, kTcpQuickack), 1);
  // IPPROTO_IP: the generic options, with TCP's refusals.
  EXPECT_EQ(get_int(c, abi::ipproto_ip, abi::ip_mtu_discover), abi::ip_pmtudisc_want);
  ASSERT_TRUE(set_int(c, abi::ipproto_ip, abi::ip_mtu_discover, abi::ip_pmtudisc_omit));
  EXPECT_EQ(get_int(c, abi::ipproto_ip, abi::ip_mtu_discover), abi::ip_pmtudisc_omit);
  EXPECT_EQ(get_int(c, abi::ipproto_ip, abi::ip_multicast_ttl), 1);
  EXPECT_EQ(get_int(c, abi::ipproto_ip, abi::ip_multicast_loop), 1);
  EXPECT_EQ(set_int(c, abi::ipproto_ip, abi::ip_multicast_ttl, 5).error(), Errno::einval);
  EXPECT_EQ(get_int(c, abi::ipproto_ip, abi::ip_ttl), 64);
  ASSERT_TRUE(set_int(c, abi::ipproto_ip, abi::ip_ttl, 9));
  EXPECT_EQ(get_int(c, abi::ipproto_ip, abi::ip_ttl), 9);
  // TCP_INQ: off by default; when on, each recvmsg says how much is left to read.
  TcpSocket& s = *p.server;
  EXPECT_EQ(get_int(s, abi::ipproto_tcp, kTcpInq), 0);
  ASSERT_TRUE(set_int(s, abi::ipproto_tcp, kTcpInq, 1));
  EXPECT_EQ(get_int(s, abi::ipproto_tcp, kTcpInq), 1);
  send_bytes(c, pattern(1000, 4));
  net.run_for(50 * kMs);
  std::vector<std::byte> data(400);
  std::byte control[64];
  fs::IoVec vector{data.data(), data.size()};
  ReceiveRequest request;
  request.data = {&vector, 1};
  request.control = control;
  request.nonblocking = true;
  ASSERT_EQ(*s.receive(request), 400u);
  ASSERT_EQ(request.control_length, abi::cmsg_space(sizeof(int)));
  abi::CmsgHdr header;
  std::memcpy(&header, control, sizeof(header));
  EXPECT_EQ(header.length, abi::cmsg_len(sizeof(int)));
  EXPECT_EQ(header.level, abi::ipproto_tcp);
  EXPECT_EQ(header.type, kTcpInq);
  int left = -1;
  std::memcpy(&left, control + sizeof(header), sizeof(left));
  EXPECT_EQ(left, 600);
}

TEST(TcpSocket, ListingReportsEndpointsStatesAndQueues) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  send_bytes(*p.client, pattern(700, 1));
  net.run_for(50 * kMs);
  TcpConnectionInfo rows[8];
  ASSERT_EQ(net.engine(1).list(rows), 2u);
  EXPECT_EQ(rows[0].state, uint8_t(TcpState::listen));
  EXPECT_EQ(rows[0].local.port, 80);
  EXPECT_EQ(rows[1].state, uint8_t(TcpState::established));
  EXPECT_EQ(rows[1].receive_queue, 700u);
  EXPECT_EQ(rows[1].remote.port, p.client->connection().local.port);
  EXPECT_EQ(rows[1].remote.address, net.address(0));
}

TEST(TcpSocket, MalformedSegmentsAreDropped) {
  TcpTestNetwork net;
  Pair p = connect_pair(net);
  TcpConnection& s = p.server->connection();
  TcpHeader h;
  h.source_port = s.remote.port;
  h.destination_port = s.local.port;
  h.seq = s.rcv_nxt;
  h.ack = s.snd_nxt;
  h.flags = kAck | kPsh;
  h.window = 1000;
  auto payload = pattern(10, 7);
  std::vector<std::byte> good(30);
  build_tcp_header(good, h);
  std::copy(payload.begin(), payload.end(), good.begin() + 20);
  auto deliver = [&](std::vector<std::byte> segment, bool fix_checksum) {
    if (fix_checksum && segment.size() >= 18) {
      segment[16] = segment[17] = std::byte{0};
      uint16_t sum = tcp_checksum(net.address(0), net.address(1), segment);
      segment[16] = std::byte(sum >> 8), segment[17] = std::byte(sum);
    }
    net.inject(1, segment, net.address(0), net.address(1));
  };
  uint64_t segments_in = s.segments_in;
  size_t logged = net.log.size();
  auto bad = good;
  deliver(bad, false);  // checksum zero: wrong
  bad[12] = std::byte(4 << 4);  // data offset 16 bytes
  deliver(bad, true);
  bad[12] = std::byte(15 << 4);  // data offset 60 bytes, beyond the segment
  deliver(bad, true);
  // Options whose length runs past the header: offset 6 words, an MSS option of length 8.
  std::vector<std::byte> options = good;
  options.insert(options.begin() + 20, {std::byte(2), std::byte(8), std::byte(5), std::byte(0)});
  options[12] = std::byte(6 << 4);
  deliver(options, true);
  deliver(std::vector<std::byte>(good.begin(), good.begin() + 12), true);  // a truncated header
  EXPECT_EQ(s.segments_in, segments_in);
  EXPECT_EQ(net.log.size(), logged);  // not even a RST in reply
  EXPECT_EQ(s.receive_buffer.size(), 0u);
  // The same segment, well formed, is taken.
  deliver(good, true);
  EXPECT_EQ(s.segments_in, segments_in + 1);
  EXPECT_EQ(s.receive_buffer.size(), 10u);
  // A checksum the device verified is not checked again.
  auto unchecked = good;
  unchecked[4] = std::byte(0);  // a different sequence number: an old duplicate now
  net.inject(1, unchecked, net.address(0), net.address(1), true);
  EXPECT_EQ(s.segments_in, segments_in + 2);
}

}  // namespace
}  // namespace nimbus::net::tcp::test
