// UDP sockets: between two stacks over the simulated link, over loopback, and the socket
// API's rules (bind, connect, send and receive flags, errors, options, dual-stack).
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <tuple>
#include <thread>

#include "kernel/fs/linux_abi.h"
#include "kernel/net/checksum.h"
#include "kernel/net/ethernet.h"
#include "kernel/net/socket_abi.h"
#include "kernel/net/loopback_device.h"
#include "kernel/net/udp.h"
#include "kernel/net/udp_socket.h"
#include "tests/unit/net/net_test_util.h"
#include "tests/unit/net/simulated_link.h"
#include "tests/unit/net/two_stacks.h"

namespace nimbus::net::test {
namespace {

using namespace abi;
constexpr uint64_t kSecond = 1'000'000'000ull;

std::string text_of(const Bytes& bytes) { return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()); }

UdpSocket& udp(const RefPtr<Socket>& socket) { return *static_cast<UdpSocket*>(socket.get()); }

class Udp : public ::testing::Test, protected TwoStackNetwork {
 protected:
  ~Udp() override {
    for (auto& socket : sockets) udp(socket).close();
  }
  RefPtr<Socket> socket(NetStack& stack, int family = af_inet) {
    auto created = stack.udp().create_socket(family);
    EXPECT_TRUE(created);
    sockets.push_back(*created);
    return *created;
  }
  void run() { network.run_for(kSecond / 10); }

  const Ipv4Address localhost = Ipv4Address::from_octets(127, 0, 0, 1);
  std::vector<RefPtr<Socket>> sockets;
};

TEST_F(Udp, SendAndReplyBetweenStacks) {
  auto server = socket(b);
  SocketAddress any = sockaddr_v4({}, 5353);
  ASSERT_TRUE(server->bind(any));
  auto client = socket(a);
  SocketAddress to_server = sockaddr_v4(address_b, 5353);
  ASSERT_EQ(*send_bytes(*client, bytes_of("question"), &to_server), 8u);
  run();
  auto got = receive_bytes(*server, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(text_of(got->data), "question");
  EXPECT_EQ(sockaddr_v4_address(got->source), address_a);
  uint16_t client_port = sockaddr_port(got->source);
  EXPECT_GE(client_port, 32768);
  EXPECT_LE(client_port, 60999);
  auto name = client->local_address();
  ASSERT_TRUE(name);
  EXPECT_EQ(sockaddr_port(*name), client_port);

  ASSERT_TRUE(send_bytes(*server, bytes_of("answer"), &got->source));
  run();
  auto reply = receive_bytes(*client, 100);
  ASSERT_TRUE(reply);
  EXPECT_EQ(text_of(reply->data), "answer");
  EXPECT_EQ(sockaddr_v4_address(reply->source), address_b);
  EXPECT_EQ(sockaddr_port(reply->source), 5353);
  EXPECT_EQ(b.udp().statistics().in_datagrams, 1u);
  EXPECT_EQ(a.udp().statistics().out_datagrams, 1u);
}

TEST_F(Udp, LargeDatagramCrossesTheLinkInFragments) {
  auto server = socket(b);
  SocketAddress any = sockaddr_v4({}, 7000);
  ASSERT_TRUE(server->bind(any));
  auto client = socket(a);
  Bytes big(20000);
  for (size_t i = 0; i < big.size(); i++) big[i] = std::byte(i * 13 + 1);
  SocketAddress to_server = sockaddr_v4(address_b, 7000);
  ASSERT_TRUE(send_bytes(*client, big, &to_server));
  run();
  auto got = receive_bytes(*server, 30000);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data, big);
  EXPECT_GT(a.statistics().ip_fragments_created, 10u);
}

TEST_F(Udp, Loopback) {
  auto server = socket(a);
  SocketAddress local = sockaddr_v4(localhost, 6000);
  ASSERT_TRUE(server->bind(local));
  auto client = socket(a);
  size_t frames = link.sent.size();
  ASSERT_TRUE(send_bytes(*client, bytes_of("over lo"), &local));
  // Loopback defers delivery to the worker: nothing yet.
  EXPECT_EQ(receive_bytes(*server, 100).error(), Errno::eagain);
  run();
  auto got = receive_bytes(*server, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(text_of(got->data), "over lo");
  EXPECT_EQ(sockaddr_v4_address(got->source), localhost);
  EXPECT_EQ(link.sent.size(), frames);

  // Our own Ethernet address also goes through lo; a socket bound to 127.0.0.1 does not
  // get it, a wildcard one does.
  auto wildcard = socket(a);
  SocketAddress any = sockaddr_v4({}, 6001);
  ASSERT_TRUE(wildcard->bind(any));
  SocketAddress own = sockaddr_v4(address_a, 6001);
  ASSERT_TRUE(send_bytes(*client, bytes_of("own"), &own));
  run();
  got = receive_bytes(*wildcard, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(sockaddr_v4_address(got->source), address_a);
  EXPECT_EQ(link.sent.size(), frames);
}

TEST_F(Udp, PortUnreachableRefusesAConnectedSocket) {
  auto client = socket(a);
  SocketAddress nobody = sockaddr_v4(address_b, 9);
  ASSERT_TRUE(client->connect(nobody, false));
  ASSERT_TRUE(send_bytes(*client, bytes_of("anyone?")));
  run();
  EXPECT_EQ(b.statistics().icmp_out_destination_unreachables, 1u);
  EXPECT_EQ(b.udp().statistics().no_ports, 1u);
  EXPECT_TRUE(udp(client).readiness() & fs::linux_abi::pollerr);
  EXPECT_EQ(receive_bytes(*client, 100).error(), Errno::econnrefused);
  // Reported once.
  EXPECT_EQ(receive_bytes(*client, 100).error(), Errno::eagain);

  // Through SO_ERROR too, and not for an unconnected socket.
  ASSERT_TRUE(send_bytes(*client, bytes_of("again")));
  run();
  EXPECT_EQ(client->take_error(), static_cast<int>(Errno::econnrefused));
  EXPECT_EQ(client->take_error(), 0);
  // And through the next send, which then fails once (sock_alloc_send_pskb).
  ASSERT_TRUE(send_bytes(*client, bytes_of("third")));
  run();
  EXPECT_EQ(send_bytes(*client, bytes_of("fourth")).error(), Errno::econnrefused);
  EXPECT_TRUE(send_bytes(*client, bytes_of("fifth")));
  run();
  auto unconnected = socket(a);
  ASSERT_TRUE(send_bytes(*unconnected, bytes_of("x"), &nobody));
  run();
  EXPECT_EQ(unconnected->take_error(), 0);
  EXPECT_EQ(receive_bytes(*unconnected, 100).error(), Errno::eagain);
}

// gVisor's RecvErrorConnRefused: with IP_RECVERR an ICMP error joins the socket's error
// queue with the data it quoted; recvmsg(MSG_ERRQUEUE) hands it out once, with the
// destination as the source address and a sock_extended_err naming the ICMP sender.
TEST_F(Udp, RecvErrQueuesIcmpErrorsWithTheirData) {
  auto client = socket(a);
  int on = 1;
  ASSERT_TRUE(client->set_option(ipproto_ip, ip_recverr, std::as_bytes(std::span(&on, 1))));
  SocketAddress nobody = sockaddr_v4(address_b, 9);
  ASSERT_TRUE(client->connect(nobody, false));
  Bytes data(300);
  for (size_t i = 0; i < data.size(); i++) data[i] = std::byte(i * 7);
  ASSERT_TRUE(send_bytes(*client, data));
  run();
  EXPECT_TRUE(udp(client).readiness() & fs::linux_abi::pollerr);
  Bytes out(400);
  fs::IoVec vector{out.data(), out.size()};
  std::byte control[128] = {};
  SocketAddress source;
  ReceiveRequest request;
  request.data = {&vector, 1};
  request.source = &source;
  request.control = control;
  request.flags = msg_errqueue;
  auto received = client->receive(request);
  ASSERT_TRUE(received);
  ASSERT_EQ(*received, 300u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 300), data);
  EXPECT_TRUE(request.result_flags & msg_errqueue);
  EXPECT_EQ(sockaddr_port(source), 9);
  EXPECT_EQ(sockaddr_v4_address(source), address_b);
  // One control message: IP_RECVERR, sock_extended_err (16 bytes) + sockaddr_in (16).
  ASSERT_EQ(request.control_length, 16u + 32u);
  uint64_t length;
  int level, type;
  std::memcpy(&length, control, 8);
  std::memcpy(&level, control + 8, 4);
  std::memcpy(&type, control + 12, 4);
  EXPECT_EQ(length, 16u + 32u);
  EXPECT_EQ(level, ipproto_ip);
  EXPECT_EQ(type, ip_recverr);
  uint32_t ee_errno;
  std::memcpy(&ee_errno, control + 16, 4);
  EXPECT_EQ(ee_errno, uint32_t(Errno::econnrefused));
  EXPECT_EQ(uint8_t(control[20]), 2);  // SO_EE_ORIGIN_ICMP
  EXPECT_EQ(uint8_t(control[21]), 3);  // ICMP_DEST_UNREACH
  EXPECT_EQ(uint8_t(control[22]), 3);  // ICMP_PORT_UNREACH
  uint16_t offender_family;
  std::memcpy(&offender_family, control + 32, 2);
  EXPECT_EQ(offender_family, 2);
  EXPECT_EQ(Ipv4Address{load_be32(control + 32 + 4)}, address_b);
  // Dequeued: SO_ERROR is clear and the queue empty.
  EXPECT_EQ(client->take_error(), 0);
  EXPECT_FALSE(udp(client).readiness() & fs::linux_abi::pollerr);
  EXPECT_EQ(receive_bytes(*client, 100, msg_errqueue).error(), Errno::eagain);

  // Without IP_RECVERR nothing is queued; an unconnected socket with it hears of errors too.
  auto plain = socket(a);
  ASSERT_TRUE(plain->connect(nobody, false));
  ASSERT_TRUE(send_bytes(*plain, bytes_of("x")));
  auto unconnected = socket(a);
  ASSERT_TRUE(unconnected->set_option(ipproto_ip, ip_recverr, std::as_bytes(std::span(&on, 1))));
  ASSERT_TRUE(send_bytes(*unconnected, bytes_of("yz"), &nobody));
  run();
  EXPECT_EQ(receive_bytes(*plain, 100, msg_errqueue).error(), Errno::eagain);
  EXPECT_EQ(plain->take_error(), int(Errno::econnrefused));
  auto queued = receive_bytes(*unconnected, 100, msg_errqueue);
  ASSERT_TRUE(queued);
  EXPECT_EQ(queued->data, bytes_of("yz"));
}

TEST_F(Udp, PortUnreachableOverLoopback) {
  auto client = socket(a);
  SocketAddress nobody = sockaddr_v4(localhost, 9);
  ASSERT_TRUE(client->connect(nobody, false));
  ASSERT_TRUE(send_bytes(*client, bytes_of("x")));
  run();
  EXPECT_EQ(receive_bytes(*client, 100).error(), Errno::econnrefused);
}

TEST_F(Udp, BindRules) {
  auto first = socket(a);
  auto second = socket(a);
  SocketAddress any = sockaddr_v4({}, 4000);
  ASSERT_TRUE(first->bind(any));
  EXPECT_EQ(first->bind(sockaddr_v4({}, 4001)).error(), Errno::einval);  // already bound
  EXPECT_EQ(second->bind(any).error(), Errno::eaddrinuse);
  // A specific address under a wildcard on the same port conflicts too.
  EXPECT_EQ(second->bind(sockaddr_v4(address_a, 4000)).error(), Errno::eaddrinuse);
  EXPECT_EQ(second->bind(sockaddr_v4(Ipv4Address::from_octets(10, 9, 9, 9), 4002)).error(), Errno::eaddrnotavail);
  // Different specific addresses may share a port.
  auto third = socket(a);
  auto fourth = socket(a);
  ASSERT_TRUE(third->bind(sockaddr_v4(address_a, 4100)));
  ASSERT_TRUE(fourth->bind(sockaddr_v4(localhost, 4100)));
  // SO_REUSEADDR on both: allowed.
  auto r1 = socket(a);
  auto r2 = socket(a);
  r1->options().reuse_address = true;
  r2->options().reuse_address = true;
  ASSERT_TRUE(r1->bind(sockaddr_v4({}, 4200)));
  ASSERT_TRUE(r2->bind(sockaddr_v4({}, 4200)));
  // Only one side: refused.
  auto r3 = socket(a);
  EXPECT_EQ(r3->bind(sockaddr_v4({}, 4000)).error(), Errno::eaddrinuse);
  // Closing frees the port.
  udp(first).close();
  auto again = socket(a);
  EXPECT_TRUE(again->bind(any));
  // Malformed addresses.
  SocketAddress short_address = sockaddr_v4({}, 1);
  short_address.length = 8;
  EXPECT_EQ(socket(a)->bind(short_address).error(), Errno::einval);
  EXPECT_EQ(socket(a)->bind(sockaddr_v4({}, 1, 10)).error(), Errno::eafnosupport);
}

TEST_F(Udp, EphemeralPortsAreDistinct) {
  std::set<uint16_t> ports;
  for (int i = 0; i < 200; i++) {
    auto s = socket(a);
    ASSERT_TRUE(s->bind(sockaddr_v4({}, 0)));
    uint16_t port = sockaddr_port(*s->local_address());
    EXPECT_GE(port, 32768);
    EXPECT_LE(port, 60999);
    ports.insert(port);
  }
  EXPECT_EQ(ports.size(), 200u);
}

TEST_F(Udp, SendErrors) {
  auto s = socket(a);
  EXPECT_EQ(send_bytes(*s, bytes_of("x")).error(), Errno::edestaddrreq);
  SocketAddress to = sockaddr_v4(address_b, 53);
  EXPECT_EQ(send_bytes(*s, Bytes(65508), &to).error(), Errno::emsgsize);
  EXPECT_TRUE(send_bytes(*s, Bytes(65507), &to));
  SocketAddress port_zero = sockaddr_v4(address_b, 0);
  EXPECT_EQ(send_bytes(*s, bytes_of("x"), &port_zero).error(), Errno::einval);
  SocketAddress broadcast = sockaddr_v4(Ipv4Address{0xffffffff}, 53);
  EXPECT_EQ(send_bytes(*s, bytes_of("x"), &broadcast).error(), Errno::eacces);
  SocketAddress unroutable = sockaddr_v4(Ipv4Address::from_octets(8, 8, 8, 8), 53);
  EXPECT_EQ(send_bytes(*s, bytes_of("x"), &unroutable).error(), Errno::enetunreach);
  EXPECT_EQ(socket(a)->connect(broadcast, false).error(), Errno::eacces);
  // Bound to loopback: nothing leaves the host.
  auto local_only = socket(a);
  ASSERT_TRUE(local_only->bind(sockaddr_v4(localhost, 0)));
  EXPECT_EQ(send_bytes(*local_only, bytes_of("x"), &to).error(), Errno::einval);
}

TEST_F(Udp, ReuseAddressTwinsDeliverToTheLatest) {
  auto older = socket(b);
  auto newer = socket(b);
  older->options().reuse_address = true;
  newer->options().reuse_address = true;
  ASSERT_TRUE(older->bind(sockaddr_v4({}, 9400)));
  ASSERT_TRUE(newer->bind(sockaddr_v4({}, 9400)));
  SocketAddress to = sockaddr_v4(address_b, 9400);
  ASSERT_TRUE(send_bytes(*socket(a), bytes_of("x"), &to));
  run();
  EXPECT_TRUE(receive_bytes(*newer, 10));
  EXPECT_EQ(receive_bytes(*older, 10).error(), Errno::eagain);
}

TEST_F(Udp, BroadcastReachesEverySocketOnThePort) {
  auto r1 = socket(b);
  auto r2 = socket(b);
  r1->options().reuse_address = true;
  r2->options().reuse_address = true;
  ASSERT_TRUE(r1->bind(sockaddr_v4({}, 6767)));
  ASSERT_TRUE(r2->bind(sockaddr_v4({}, 6767)));
  auto sender = socket(a);
  sender->options().broadcast = true;
  SocketAddress broadcast = sockaddr_v4(Ipv4Address{0xffffffff}, 6767);
  ASSERT_TRUE(send_bytes(*sender, bytes_of("all"), &broadcast));
  SocketAddress subnet = sockaddr_v4(Ipv4Address::from_octets(192, 168, 1, 255), 6767);
  ASSERT_TRUE(send_bytes(*sender, bytes_of("subnet"), &subnet));
  run();
  for (auto* r : {&r1, &r2}) {
    auto got = receive_bytes(**r, 100);
    ASSERT_TRUE(got);
    EXPECT_EQ(text_of(got->data), "all");
    got = receive_bytes(**r, 100);
    ASSERT_TRUE(got);
    EXPECT_EQ(text_of(got->data), "subnet");
  }
  EXPECT_EQ(b.statistics().icmp_out_messages, 0u);  // never an ICMP error about a broadcast
}

TEST_F(Udp, ReceiveFlags) {
  auto server = socket(a);
  SocketAddress local = sockaddr_v4(localhost, 6100);
  ASSERT_TRUE(server->bind(local));
  auto client = socket(a);
  ASSERT_TRUE(send_bytes(*client, bytes_of("0123456789"), &local));
  ASSERT_TRUE(send_bytes(*client, bytes_of("second"), &local));
  run();
  EXPECT_EQ(udp(server).next_datagram_size(), 10u);  // FIONREAD: the next datagram only
  int fionread = -1;
  ASSERT_TRUE(udp(server).handle_ioctl(fs::linux_abi::fionread, reinterpret_cast<uintptr_t>(&fionread)));
  EXPECT_EQ(fionread, 10);
  // MSG_PEEK leaves it queued.
  auto peeked = receive_bytes(*server, 100, msg_dontwait | msg_peek);
  ASSERT_TRUE(peeked);
  EXPECT_EQ(text_of(peeked->data), "0123456789");
  // A short buffer truncates: MSG_TRUNC out; with MSG_TRUNC in, the real length returns.
  auto truncated = receive_bytes(*server, 4, msg_dontwait | msg_trunc);
  ASSERT_TRUE(truncated);
  EXPECT_EQ(truncated->returned, 10u);
  EXPECT_EQ(text_of(truncated->data), "0123");
  EXPECT_TRUE(truncated->result_flags & msg_trunc);
  auto short_read = receive_bytes(*server, 3);
  ASSERT_TRUE(short_read);
  EXPECT_EQ(short_read->returned, 3u);
  EXPECT_TRUE(short_read->result_flags & msg_trunc);
  EXPECT_EQ(text_of(short_read->data), "sec");
  EXPECT_EQ(receive_bytes(*server, 100).error(), Errno::eagain);
  EXPECT_EQ(udp(server).next_datagram_size(), 0u);
  EXPECT_FALSE(udp(server).readiness() & fs::linux_abi::pollin);
  EXPECT_TRUE(udp(server).readiness() & fs::linux_abi::pollout);
}

TEST_F(Udp, ReceiveBufferBoundsTheQueue) {
  auto server = socket(a);
  server->options().receive_buffer = 4096;
  SocketAddress local = sockaddr_v4(localhost, 6200);
  ASSERT_TRUE(server->bind(local));
  auto client = socket(a);
  for (int i = 0; i < 20; i++) ASSERT_TRUE(send_bytes(*client, Bytes(1000), &local));
  run();
  int received = 0;
  while (receive_bytes(*server, 2000)) received++;
  EXPECT_GE(received, 3);
  EXPECT_LT(received, 20);
  EXPECT_EQ(udp(server).drops(), uint64_t(20 - received));
  EXPECT_EQ(a.udp().statistics().receive_buffer_errors, uint64_t(20 - received));
}

TEST_F(Udp, ConnectFiltersAndDisconnects) {
  auto server = socket(b);
  ASSERT_TRUE(server->bind(sockaddr_v4({}, 7100)));
  auto peer_one = socket(a);
  auto peer_two = socket(a);
  ASSERT_TRUE(peer_one->bind(sockaddr_v4({}, 1111)));
  ASSERT_TRUE(peer_two->bind(sockaddr_v4({}, 2222)));
  ASSERT_TRUE(server->connect(sockaddr_v4(address_a, 1111), false));
  auto name = server->local_address();
  EXPECT_EQ(sockaddr_v4_address(*name), address_b);  // connect chose the source
  auto peer = server->peer_address();
  ASSERT_TRUE(peer);
  EXPECT_EQ(sockaddr_port(*peer), 1111);
  SocketAddress to_server = sockaddr_v4(address_b, 7100);
  ASSERT_TRUE(send_bytes(*peer_two, bytes_of("stranger"), &to_server));
  ASSERT_TRUE(send_bytes(*peer_one, bytes_of("friend"), &to_server));
  run();
  auto got = receive_bytes(*server, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(text_of(got->data), "friend");
  EXPECT_EQ(receive_bytes(*server, 100).error(), Errno::eagain);
  // The stranger was told the port is closed to it.
  EXPECT_EQ(b.udp().statistics().no_ports, 1u);

  SocketAddress unspec;
  unspec.length = 16;  // family 0
  ASSERT_TRUE(server->connect(unspec, false));
  EXPECT_EQ(server->peer_address().error(), Errno::enotconn);
  name = server->local_address();
  EXPECT_EQ(sockaddr_v4_address(*name), Ipv4Address{});  // connect's choice undone
  EXPECT_EQ(sockaddr_port(*name), 7100);                  // bind's kept
  ASSERT_TRUE(send_bytes(*peer_two, bytes_of("now ok"), &to_server));
  run();
  got = receive_bytes(*server, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(text_of(got->data), "now ok");
}

TEST_F(Udp, ShutdownRules) {
  auto s = socket(a);
  EXPECT_EQ(s->shutdown(shut_rdwr + 1).error(), Errno::einval);
  EXPECT_EQ(s->shutdown(shut_wr).error(), Errno::enotconn);  // recorded nonetheless
  SocketAddress to = sockaddr_v4(address_b, 53);
  EXPECT_EQ(send_bytes(*s, bytes_of("x"), &to).error(), Errno::epipe);
  auto r = socket(a);
  ASSERT_TRUE(r->connect(to, false));
  ASSERT_TRUE(r->shutdown(shut_rd));
  // Non-blocking: still EAGAIN (__skb_recv_udp); blocking: end of file instead of waiting.
  EXPECT_EQ(receive_bytes(*r, 10).error(), Errno::eagain);
  auto got = receive_bytes(*r, 10, 0);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->returned, 0u);
}

TEST_F(Udp, PortZeroPeerAndTheUnspecifiedDestination) {
  // connect() to port 0 binds but leaves no peer (inet_getname).
  auto s = socket(a);
  ASSERT_TRUE(s->connect(sockaddr_v4(localhost, 0), false));
  EXPECT_EQ(s->peer_address().error(), Errno::enotconn);
  // sendto(0.0.0.0:port) reaches this host, as connect() to it does.
  auto server = socket(a);
  ASSERT_TRUE(server->bind(sockaddr_v4(localhost, 6320)));
  auto client = socket(a);
  ASSERT_TRUE(client->bind(sockaddr_v4(localhost, 0)));
  SocketAddress any = sockaddr_v4({}, 6320);
  ASSERT_EQ(*send_bytes(*client, bytes_of("to any"), &any), 6u);
  run();
  auto got = receive_bytes(*server, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(text_of(got->data), "to any");
}

TEST_F(Udp, DualStackSocketHoldsMappedAddresses) {
  auto server = socket(b, af_inet6);
  ASSERT_TRUE(server->bind(sockaddr_v6_mapped({}, 8000, true)));
  auto name = server->local_address();
  ASSERT_TRUE(name);
  EXPECT_EQ(name->length, 28u);
  auto client = socket(a, af_inet6);
  SocketAddress to = sockaddr_v6_mapped(address_b, 8000);
  ASSERT_TRUE(send_bytes(*client, bytes_of("v4 in v6"), &to));
  run();
  auto got = receive_bytes(*server, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(text_of(got->data), "v4 in v6");
  EXPECT_EQ(got->source.family(), 10);
  IpAddress source;
  std::memcpy(source.bytes.data(), got->source.bytes.data() + 8, 16);
  EXPECT_TRUE(source.is_ipv4());
  EXPECT_EQ(source.ipv4(), address_a);

  // IPV6_V6ONLY: no IPv4 delivered, mapped addresses refused.
  auto only6 = socket(b, af_inet6);
  int one = 1;
  ASSERT_TRUE(only6->set_option(ipproto_ipv6, ipv6_v6only, std::as_bytes(std::span(&one, 1))));
  EXPECT_EQ(only6->bind(sockaddr_v6_mapped(address_b, 8001)).error(), Errno::einval);
  ASSERT_TRUE(only6->bind(sockaddr_v6_mapped({}, 8002, true)));
  // ... and it does not hold the IPv4 port either.
  auto v4 = socket(b);
  EXPECT_TRUE(v4->bind(sockaddr_v4({}, 8002)));
  EXPECT_EQ(only6->set_option(ipproto_ipv6, ipv6_v6only, std::as_bytes(std::span(&one, 1))).error(),
            Errno::einval);  // not once bound
  // A dual-stack wildcard does hold it.
  EXPECT_EQ(socket(b)->bind(sockaddr_v4({}, 8000)).error(), Errno::eaddrinuse);
}

TEST_F(Udp, ChecksumZeroAcceptedBadChecksumDropped) {
  // Inject straight into B's interface, as a frame from A.
  auto server = socket(b);
  ASSERT_TRUE(server->bind(sockaddr_v4({}, 9100)));
  auto frame = [&](const Bytes& udp_bytes) {
    Ipv4Fields f{address_a, address_b, 17, 77};
    return ethernet_frame(link.end(1).mac(), link.end(0).mac(), kEtherTypeIpv4, ipv4_datagram(f, udp_bytes));
  };
  b.receive(ib, make_packet(frame(udp_segment(address_a, address_b, 1, 9100, bytes_of("no sum"), false))));
  auto got = receive_bytes(*server, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(text_of(got->data), "no sum");
  Bytes corrupted = udp_segment(address_a, address_b, 1, 9100, bytes_of("bad sum"));
  corrupted.back() ^= std::byte{0x40};
  b.receive(ib, make_packet(frame(corrupted)));
  EXPECT_EQ(receive_bytes(*server, 100).error(), Errno::eagain);
  EXPECT_EQ(b.udp().statistics().in_checksum_errors, 1u);
  // A length field longer than the datagram.
  Bytes long_length = udp_segment(address_a, address_b, 1, 9100, bytes_of("x"), false);
  store_be16(long_length.data() + 4, 100);
  b.receive(ib, make_packet(frame(long_length)));
  EXPECT_EQ(b.udp().statistics().in_errors, 2u);
}

TEST_F(Udp, TtlAndTosOptions) {
  auto s = socket(a);
  int ttl = 7, tos = 0x10;
  ASSERT_TRUE(s->set_option(ipproto_ip, ip_ttl, std::as_bytes(std::span(&ttl, 1))));
  ASSERT_TRUE(s->set_option(ipproto_ip, ip_tos, std::as_bytes(std::span(&tos, 1))));
  int bad = 0;
  EXPECT_EQ(s->set_option(ipproto_ip, ip_ttl, std::as_bytes(std::span(&bad, 1))).error(), Errno::einval);
  int read_back = 0;
  ASSERT_EQ(*s->get_option(ipproto_ip, ip_ttl, std::as_writable_bytes(std::span(&read_back, 1))), 4u);
  EXPECT_EQ(read_back, 7);
  EXPECT_EQ(s->get_option(ipproto_ip, 12345, std::as_writable_bytes(std::span(&read_back, 1))).error(),
            Errno::enoprotoopt);
  // ARP first, so the datagram is the last frame.
  auto warm = socket(a);
  SocketAddress to = sockaddr_v4(address_b, 53);
  ASSERT_TRUE(send_bytes(*warm, bytes_of("w"), &to));
  run();
  ASSERT_TRUE(send_bytes(*s, bytes_of("x"), &to));
  const Bytes& frame = link.sent.back().bytes;
  EXPECT_EQ(frame[14 + 8], std::byte{7});
  EXPECT_EQ(frame[14 + 1], std::byte{0x10});
}

// Linux's generic IPPROTO_IP options (ip_sockglue.c): defaults, ranges, one-byte values.
TEST_F(Udp, GenericIpOptions) {
  auto s = socket(a);
  auto get = [&](int level, int name) {
    int v = -1;
    auto r = s->get_option(level, name, std::as_writable_bytes(std::span(&v, 1)));
    EXPECT_TRUE(r) << name;
    return v;
  };
  auto set = [&](int level, int name, int v) { return s->set_option(level, name, std::as_bytes(std::span(&v, 1))); };
  EXPECT_EQ(get(ipproto_ip, ip_multicast_ttl), 1);
  EXPECT_EQ(get(ipproto_ip, ip_multicast_loop), 1);
  EXPECT_EQ(get(ipproto_ip, ip_mtu_discover), ip_pmtudisc_want);
  EXPECT_EQ(get(ipproto_ip, ip_recverr), 0);
  ASSERT_TRUE(set(ipproto_ip, ip_multicast_ttl, 255));
  EXPECT_EQ(get(ipproto_ip, ip_multicast_ttl), 255);
  ASSERT_TRUE(set(ipproto_ip, ip_multicast_ttl, -1));  // -1: the default again
  EXPECT_EQ(get(ipproto_ip, ip_multicast_ttl), 1);
  EXPECT_EQ(set(ipproto_ip, ip_multicast_ttl, 256).error(), Errno::einval);
  EXPECT_EQ(set(ipproto_ip, ip_multicast_ttl, -2).error(), Errno::einval);
  // A one-byte value is an unsigned char.
  char six = 6;
  ASSERT_TRUE(s->set_option(ipproto_ip, ip_multicast_ttl, std::as_bytes(std::span(&six, 1))));
  EXPECT_EQ(get(ipproto_ip, ip_multicast_ttl), 6);
  char off = 0;
  ASSERT_TRUE(s->set_option(ipproto_ip, ip_multicast_loop, std::as_bytes(std::span(&off, 1))));
  EXPECT_EQ(get(ipproto_ip, ip_multicast_loop), 0);
  for (int strategy = 0; strategy <= ip_pmtudisc_omit; strategy++) {
    ASSERT_TRUE(set(ipproto_ip, ip_mtu_discover, strategy));
    EXPECT_EQ(get(ipproto_ip, ip_mtu_discover), strategy);
  }
  EXPECT_EQ(set(ipproto_ip, ip_mtu_discover, 99).error(), Errno::einval);
  ASSERT_TRUE(set(ipproto_ip, ip_recverr, 1));
  EXPECT_EQ(get(ipproto_ip, ip_recverr), 1);
  // An empty ip_mreqn names no multicast group.
  std::byte mreqn[12] = {};
  EXPECT_EQ(s->set_option(ipproto_ip, ip_add_membership, mreqn).error(), Errno::einval);
  // An AF_INET socket has no IPv6 level: ENOPROTOOPT to set, EOPNOTSUPP to get.
  EXPECT_EQ(set(ipproto_ipv6, ipv6_recverr, 1).error(), Errno::enoprotoopt);
  int v;
  EXPECT_EQ(s->get_option(ipproto_ipv6, ipv6_recverr, std::as_writable_bytes(std::span(&v, 1))).error(),
            Errno::eopnotsupp);
  // getsockopt into one byte writes one byte.
  uint8_t small = 0xcd;
  EXPECT_EQ(*s->get_option(ipproto_ip, ip_multicast_ttl, std::as_writable_bytes(std::span(&small, 1))), 1u);
  EXPECT_EQ(small, 6);
}

TEST_F(Udp, OriginalDestinationAndTimestamps) {
  auto server = socket(a);
  ASSERT_TRUE(server->bind(sockaddr_v4({}, 6310)));
  int one = 1;
  ASSERT_TRUE(server->set_option(ipproto_ip, ip_recvorigdstaddr, std::as_bytes(std::span(&one, 1))));
  // SIOCGSTAMP before anything was read: ENOENT.
  int64_t stamp[2] = {};
  auto& udp_server = udp(server);
  EXPECT_EQ(udp_server.handle_ioctl(siocgstamp, reinterpret_cast<uintptr_t>(stamp)).error(), Errno::enoent);
  ASSERT_TRUE(server->set_socket_option(sol_socket, so_timestamp, std::as_bytes(std::span(&one, 1))));
  auto client = socket(a);
  SocketAddress to = sockaddr_v4(localhost, 6310);
  ASSERT_TRUE(send_bytes(*client, bytes_of("x"), &to));
  ASSERT_TRUE(send_bytes(*client, bytes_of("y"), &to));
  run();
  Bytes data(16);
  std::byte control[128];
  fs::IoVec vector{data.data(), data.size()};
  ReceiveRequest request;
  request.data = {&vector, 1};
  request.control = control;
  request.nonblocking = true;
  ASSERT_EQ(*server->receive(request), 1u);
  // SO_TIMESTAMP first (struct timeval, 16 + 16), then IP_ORIGDSTADDR (16 + 16).
  ASSERT_EQ(request.control_length, 32u + 32u);
  int32_t level, type;
  std::memcpy(&level, control + 8, 4);
  std::memcpy(&type, control + 12, 4);
  EXPECT_EQ(level, sol_socket);
  EXPECT_EQ(type, so_timestamp);
  int64_t timeval[2];
  std::memcpy(timeval, control + 16, 16);
  EXPECT_GT(timeval[0], 1'600'000'000);
  EXPECT_LT(timeval[1], 1'000'000);
  std::memcpy(&type, control + 32 + 12, 4);
  EXPECT_EQ(type, ip_recvorigdstaddr);
  const std::byte* address = control + 32 + 16;
  EXPECT_EQ(address[0], std::byte{af_inet});
  EXPECT_EQ(load_be16(address + 2), 6310);
  EXPECT_EQ(load_be32(address + 4), localhost.value);
  // A datagram read with SO_TIMESTAMP leaves no time for SIOCGSTAMP; one read without does.
  EXPECT_EQ(udp_server.handle_ioctl(siocgstamp, reinterpret_cast<uintptr_t>(stamp)).error(), Errno::enoent);
  int zero = 0;
  ASSERT_TRUE(server->set_socket_option(sol_socket, so_timestamp, std::as_bytes(std::span(&zero, 1))));
  ASSERT_TRUE(receive_bytes(*server, 16));
  ASSERT_TRUE(udp_server.handle_ioctl(siocgstamp, reinterpret_cast<uintptr_t>(stamp)));
  EXPECT_GT(stamp[0], 1'600'000'000);
  // SO_NO_CHECK reads back what was set; DETACH_FILTER without a filter is ENOENT.
  ASSERT_TRUE(server->set_socket_option(sol_socket, so_no_check, std::as_bytes(std::span(&one, 1))));
  int v = 0;
  ASSERT_TRUE(server->get_socket_option(sol_socket, so_no_check, std::as_writable_bytes(std::span(&v, 1))));
  EXPECT_EQ(v, 1);
  EXPECT_EQ(server->set_socket_option(sol_socket, so_detach_filter, std::as_bytes(std::span(&zero, 1))).error(),
            Errno::enoent);
}

// ICMP echo ("ping") sockets: the application writes an echo request, the kernel sets the
// identifier and checksum, and the reply comes back whole to the socket with that identifier.
TEST_F(Udp, PingSocketOverLoopback) {
  auto created = a.ping().create_socket(af_inet);
  ASSERT_TRUE(created);
  sockets.push_back(*created);
  Socket& ping = **created;
  EXPECT_EQ(ping.protocol(), ipproto_icmp);
  ASSERT_TRUE(ping.bind(sockaddr_v4({}, 4242)));  // the identifier
  SocketAddress to = sockaddr_v4(localhost, 0);
  Bytes request = {std::byte{8}, std::byte{0}, std::byte{0}, std::byte{0},  // echo request, no checksum
                   std::byte{0}, std::byte{0}, std::byte{0}, std::byte{7}};  // id (set by us), sequence 7
  for (char c : std::string("payload")) request.push_back(std::byte(c));
  ASSERT_EQ(*send_bytes(ping, request, &to), request.size());
  run();
  auto reply = receive_bytes(ping, 100);
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->data.size(), request.size());
  EXPECT_EQ(reply->data[0], std::byte{0});  // echo reply
  EXPECT_EQ(load_be16(reply->data.data() + 4), 4242);
  EXPECT_EQ(load_be16(reply->data.data() + 6), 7);
  EXPECT_EQ(internet_checksum(reply->data), 0);
  EXPECT_EQ(text_of(Bytes(reply->data.begin() + 8, reply->data.end())), "payload");
  EXPECT_EQ(sockaddr_v4_address(reply->source), localhost);
  // Linux's rules: only echo requests with code 0, at least an ICMP header.
  Bytes other = request;
  other[0] = std::byte{13};  // timestamp request
  EXPECT_EQ(send_bytes(ping, other, &to).error(), Errno::einval);
  EXPECT_EQ(send_bytes(ping, Bytes(4, std::byte{8}), &to).error(), Errno::einval);
  // A UDP socket on the same number is another namespace: it gets nothing.
  auto udp_socket = socket(a);
  ASSERT_TRUE(udp_socket->bind(sockaddr_v4({}, 4242)));
  ASSERT_TRUE(send_bytes(ping, request, &to));
  run();
  EXPECT_EQ(receive_bytes(*udp_socket, 100).error(), Errno::eagain);
  EXPECT_TRUE(receive_bytes(ping, 100));
}

// Linux's ping_check_bind_addr and ping's receive path: broadcasts and IPv6 multicast cannot be
// bound, and IP_PKTINFO's ipi_spec_dst is 0 (gVisor's ping_socket Bind and ReceiveIPPacketInfo).
TEST_F(Udp, PingSocketBindRulesAndPacketInfo) {
  auto ping = *a.ping().create_socket(af_inet);
  sockets.push_back(ping);
  EXPECT_EQ(ping->bind(sockaddr_v4(Ipv4Address{0xffffffff}, 0)).error(), Errno::eaddrnotavail);
  EXPECT_EQ(ping->bind(sockaddr_v4(Ipv4Address::from_octets(127, 255, 255, 255), 0)).error(), Errno::eaddrnotavail);
  auto ping6 = *a.ping().create_socket(af_inet6);
  sockets.push_back(ping6);
  SocketAddress all_nodes = sockaddr_v6_mapped({}, 0, true);  // then ff02::1
  all_nodes.bytes[8] = std::byte{0xff}, all_nodes.bytes[9] = std::byte{0x02}, all_nodes.bytes[23] = std::byte{1};
  EXPECT_EQ(ping6->bind(all_nodes).error(), Errno::einval);

  ASSERT_TRUE(ping->bind(sockaddr_v4(localhost, 4343)));
  int one = 1;
  ASSERT_TRUE(ping->set_option(ipproto_ip, ip_pktinfo, std::as_bytes(std::span(&one, 1))));
  SocketAddress to = sockaddr_v4(localhost, 0);
  Bytes request = {std::byte{8}, std::byte{0}, std::byte{0}, std::byte{0},
                   std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1}};
  ASSERT_TRUE(send_bytes(*ping, request, &to));
  run();
  Bytes data(100);
  std::byte control[64];
  fs::IoVec vector{data.data(), data.size()};
  ReceiveRequest receive;
  receive.data = {&vector, 1};
  receive.control = control;
  receive.nonblocking = true;
  ASSERT_EQ(*ping->receive(receive), request.size());
  ASSERT_GE(receive.control_length, 28u);
  uint32_t specific_destination, header_destination;
  std::memcpy(&specific_destination, control + 20, 4);
  std::memcpy(&header_destination, control + 24, 4);
  EXPECT_EQ(specific_destination, 0u);
  EXPECT_EQ(load_be32(reinterpret_cast<std::byte*>(&header_destination)), localhost.value);
}

TEST_F(Udp, AncillaryDataOnReceive) {
  auto server = socket(a);
  ASSERT_TRUE(server->bind(sockaddr_v4({}, 6300)));
  int one = 1;
  for (int option : {ip_pktinfo, ip_recvttl, ip_recvtos})
    ASSERT_TRUE(server->set_option(ipproto_ip, option, std::as_bytes(std::span(&one, 1))));
  auto client = socket(a);
  int tos = 0x20;
  ASSERT_TRUE(client->set_option(ipproto_ip, ip_tos, std::as_bytes(std::span(&tos, 1))));
  SocketAddress to = sockaddr_v4(localhost, 6300);
  ASSERT_TRUE(send_bytes(*client, bytes_of("with control"), &to));
  ASSERT_TRUE(send_bytes(*client, bytes_of("again"), &to));
  run();

  Bytes data(100);
  std::byte control[128];
  fs::IoVec vector{data.data(), data.size()};
  ReceiveRequest request;
  request.data = {&vector, 1};
  request.control = control;
  request.nonblocking = true;
  ASSERT_EQ(*server->receive(request), 12u);
  EXPECT_FALSE(request.result_flags & msg_ctrunc);
  // IP_PKTINFO (16 + 12 -> 32 with padding), IP_TTL (16 + 4 -> 24), IP_TOS (16 + 1 -> 24).
  ASSERT_EQ(request.control_length, 32u + 24u + 24u);
  auto header = [&](size_t offset) {
    uint64_t length;
    int32_t level, type;
    std::memcpy(&length, control + offset, 8);
    std::memcpy(&level, control + offset + 8, 4);
    std::memcpy(&type, control + offset + 12, 4);
    return std::tuple{length, level, type};
  };
  EXPECT_EQ(header(0), std::tuple(uint64_t{28}, ipproto_ip, ip_pktinfo));
  int32_t interface_index;
  std::memcpy(&interface_index, control + 16, 4);
  EXPECT_EQ(interface_index, 1);  // lo
  EXPECT_EQ(load_be32(control + 20), localhost.value);
  EXPECT_EQ(load_be32(control + 24), localhost.value);
  EXPECT_EQ(header(32), std::tuple(uint64_t{20}, ipproto_ip, ip_ttl));
  int ttl;
  std::memcpy(&ttl, control + 48, 4);
  EXPECT_EQ(ttl, 64);
  EXPECT_EQ(header(56), std::tuple(uint64_t{17}, ipproto_ip, ip_tos));
  EXPECT_EQ(control[72], std::byte{0x20});

  // A buffer too short for all of it: what fits, and MSG_CTRUNC.
  ReceiveRequest short_request;
  short_request.data = {&vector, 1};
  short_request.control = std::span(control, 50);
  short_request.nonblocking = true;
  ASSERT_EQ(*server->receive(short_request), 5u);
  EXPECT_TRUE(short_request.result_flags & msg_ctrunc);
  // PKTINFO whole (32), the TTL message cut to the 18 bytes left (as Linux's put_cmsg), no TOS.
  EXPECT_EQ(short_request.control_length, 50u);
  EXPECT_EQ(header(32), std::tuple(uint64_t{18}, ipproto_ip, ip_ttl));
}

TEST_F(Udp, AncillaryDataOnSend) {
  auto server = socket(a);
  ASSERT_TRUE(server->bind(sockaddr_v4({}, 6400)));
  int one = 1;
  ASSERT_TRUE(server->set_option(ipproto_ip, ip_recvttl, std::as_bytes(std::span(&one, 1))));
  auto client = socket(a);
  // IP_PKTINFO with our Ethernet address as the source, and IP_TTL 9.
  std::byte control[32 + 24] = {};
  uint64_t length = 16 + 12;
  int32_t level = ipproto_ip, type = ip_pktinfo;
  std::memcpy(control, &length, 8);
  std::memcpy(control + 8, &level, 4);
  std::memcpy(control + 12, &type, 4);
  store_be32(control + 20, address_a.value);
  length = 16 + 4;
  type = ip_ttl;
  int ttl = 9;
  std::memcpy(control + 32, &length, 8);
  std::memcpy(control + 40, &level, 4);
  std::memcpy(control + 44, &type, 4);
  std::memcpy(control + 48, &ttl, 4);
  Bytes payload = bytes_of("chosen source");
  fs::IoVec vector{payload.data(), payload.size()};
  SocketAddress to = sockaddr_v4(localhost, 6400);
  SendRequest request;
  request.data = {&vector, 1};
  request.destination = &to;
  request.control = control;
  ASSERT_TRUE(client->send(request));
  run();
  Bytes data(100);
  std::byte received_control[64];
  fs::IoVec in{data.data(), data.size()};
  SocketAddress source;
  ReceiveRequest receive;
  receive.data = {&in, 1};
  receive.source = &source;
  receive.control = received_control;
  receive.nonblocking = true;
  ASSERT_TRUE(server->receive(receive));
  EXPECT_EQ(sockaddr_v4_address(source), address_a);
  int received_ttl;
  std::memcpy(&received_ttl, received_control + 16, 4);
  EXPECT_EQ(received_ttl, 9);
  // A source that is not ours is refused.
  store_be32(control + 20, Ipv4Address::from_octets(10, 9, 9, 9).value);
  EXPECT_EQ(client->send(request).error(), Errno::einval);
}

TEST_F(Udp, ReusePortSpreadsLoad) {
  auto r1 = socket(b);
  auto r2 = socket(b);
  r1->options().reuse_port = true;
  r2->options().reuse_port = true;
  ASSERT_TRUE(r1->bind(sockaddr_v4({}, 9200)));
  ASSERT_TRUE(r2->bind(sockaddr_v4({}, 9200)));
  SocketAddress to = sockaddr_v4(address_b, 9200);
  for (int i = 0; i < 40; i++) {
    auto client = socket(a);
    ASSERT_TRUE(send_bytes(*client, bytes_of("x"), &to));
  }
  run();
  int one = 0, two = 0;
  while (receive_bytes(*r1, 10)) one++;
  while (receive_bytes(*r2, 10)) two++;
  EXPECT_EQ(one + two, 40);
  EXPECT_GT(one, 5);
  EXPECT_GT(two, 5);
}

TEST_F(Udp, SnapshotListsBoundSockets) {
  auto s1 = socket(a);
  ASSERT_TRUE(s1->bind(sockaddr_v4(localhost, 5001)));
  auto s2 = socket(a);
  ASSERT_TRUE(s2->connect(sockaddr_v4(address_b, 53), false));
  ASSERT_TRUE(send_bytes(*s2, bytes_of("q"), nullptr));
  SocketAddress to_s1 = sockaddr_v4(localhost, 5001);
  ASSERT_TRUE(send_bytes(*s2, bytes_of("hello"), &to_s1));
  run();
  UdpProtocol::SocketSnapshot entries[4];
  ASSERT_EQ(a.udp().snapshot(entries), 2u);
  EXPECT_EQ(entries[0].local.port, 5001);
  EXPECT_GT(entries[0].receive_queue_bytes, 0u);
  EXPECT_EQ(entries[1].remote.port, 53);
  EXPECT_EQ(entries[1].remote.address.ipv4(), address_b);
  EXPECT_EQ(entries[1].local.address.ipv4(), address_a);
  UdpProtocol::SocketSnapshot one[1];
  EXPECT_EQ(a.udp().snapshot(one), 2u);  // the count, even when the array is short
}

// Threads: senders on several threads, the worker polling on another, a blocking reader:
// every datagram arrives once, nothing deadlocks.
TEST(UdpThreads, ConcurrentSendersOverLoopback) {
  VirtualEnvironment env;
  NetStack stack(env);
  LoopbackDevice lo(stack);
  ASSERT_TRUE(LoopbackDevice::attach(stack, lo));
  auto server = *stack.udp().create_socket(af_inet);
  server->options().receive_buffer = 8 << 20;
  SocketAddress address = sockaddr_v4(Ipv4Address::from_octets(127, 0, 0, 1), 7777);
  ASSERT_TRUE(server->bind(address));
  constexpr int kSenders = 4, kEach = 500;
  std::atomic<bool> stop{false};
  std::thread worker([&] {
    while (!stop.load()) {
      stack.poll();
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; t++) {
    senders.emplace_back([&, t] {
      auto client = *stack.udp().create_socket(af_inet);
      for (int i = 0; i < kEach; i++) {
        Bytes payload(8);
        store_be32(payload.data(), uint32_t(t));
        store_be32(payload.data() + 4, uint32_t(i));
        EXPECT_TRUE(send_bytes(*client, payload, &address));
      }
      static_cast<UdpSocket*>(client.get())->close();
    });
  }
  std::set<std::pair<uint32_t, uint32_t>> seen;
  while (seen.size() < size_t(kSenders * kEach)) {
    auto got = receive_bytes(*server, 16, 0);  // blocking
    ASSERT_TRUE(got);
    seen.insert({load_be32(got->data.data()), load_be32(got->data.data() + 4)});
  }
  for (auto& sender : senders) sender.join();
  stop.store(true);
  worker.join();
  EXPECT_EQ(seen.size(), size_t(kSenders * kEach));
  EXPECT_EQ(static_cast<UdpSocket*>(server.get())->drops(), 0u);
  static_cast<UdpSocket*>(server.get())->close();
}

// Blocking: a receive sleeps until a datagram arrives, or until SO_RCVTIMEO passes.
TEST_F(Udp, BlockingReceiveWakesAndTimesOut) {
  auto server = socket(b);
  ASSERT_TRUE(server->bind(sockaddr_v4({}, 9300)));
  Ipv4Fields f{address_a, address_b, 17, 1};
  Bytes frame = ethernet_frame(link.end(1).mac(), link.end(0).mac(), kEtherTypeIpv4,
                               ipv4_datagram(f, udp_segment(address_a, address_b, 1, 9300, bytes_of("late"))));
  std::thread sender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    b.receive(ib, make_packet(frame));
  });
  auto got = receive_bytes(*server, 100, 0);
  sender.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(text_of(got->data), "late");

  server->options().receive_timeout_ns = 5 * kSecond;
  std::thread clock([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    env.advance(6 * kSecond);
  });
  EXPECT_EQ(receive_bytes(*server, 100, 0).error(), Errno::eagain);
  clock.join();
}

}  // namespace
}  // namespace nimbus::net::test

namespace nimbus::net::test {
namespace {

// The simulated link's impairments, seen through UDP (which repairs nothing): seeded, so
// the figures are the same on every run.
TEST(SimulatedLinkImpairments, LossDuplicationAndReordering) {
  VirtualEnvironment env;
  NetStack a(env), b(env);
  LinkConditions conditions;
  conditions.loss = 0.1;
  conditions.duplicate = 0.1;
  conditions.reorder = 0.2;
  conditions.seed = 1234;
  SimulatedLink link(env, conditions);
  uint32_t ia = *a.add_interface(link.end(0));
  uint32_t ib = *b.add_interface(link.end(1));
  link.attach(0, a, ia);
  link.attach(1, b, ib);
  Ipv4Address address_a = Ipv4Address::from_octets(10, 0, 0, 1), address_b = Ipv4Address::from_octets(10, 0, 0, 2);
  ASSERT_TRUE(a.set_ipv4_address(ia, {address_a, 24}));
  ASSERT_TRUE(b.set_ipv4_address(ib, {address_b, 24}));
  SimulatedNetwork network(env);
  network.add_stack(a);
  network.add_stack(b);
  network.add_link(link);
  // Resolve ARP over a clean link first, then impair it.
  link.set_conditions({});
  auto server = *b.udp().create_socket(af_inet);
  server->options().receive_buffer = 1 << 20;  // room for all 1000
  ASSERT_TRUE(server->bind(sockaddr_v4({}, 5000)));
  auto client = *a.udp().create_socket(af_inet);
  SocketAddress to = sockaddr_v4(address_b, 5000);
  ASSERT_TRUE(send_bytes(*client, bytes_of("warm"), &to));
  network.run_for(kSecond);
  ASSERT_TRUE(receive_bytes(*server, 10));
  link.set_conditions(conditions);

  for (uint32_t i = 0; i < 1000; i++) {
    Bytes payload(4);
    store_be32(payload.data(), i);
    ASSERT_TRUE(send_bytes(*client, payload, &to));
    network.run_for(100'000);  // 0.1 ms apart: reordered ones (1 ms late) overtake
  }
  network.run_for(kSecond);
  std::vector<uint32_t> order;
  while (auto got = receive_bytes(*server, 10)) order.push_back(load_be32(got->data.data()));
  std::set<uint32_t> distinct(order.begin(), order.end());
  size_t duplicates = order.size() - distinct.size();
  size_t inversions = 0;
  for (size_t i = 1; i < order.size(); i++)
    if (order[i] < order[i - 1]) inversions++;
  EXPECT_GT(distinct.size(), 850u);  // about 10 % lost
  EXPECT_LT(distinct.size(), 950u);
  EXPECT_GT(duplicates, 50u);  // about 10 % doubled
  EXPECT_LT(duplicates, 150u);
  EXPECT_GT(inversions, 100u);  // about 20 % held back
  EXPECT_GT(link.dropped(), 50u);

  // The filter drops chosen frames (targeted loss) and sees every one.
  link.set_conditions({});
  int seen = 0;
  link.filter = [&](int from_side, Packet&) {
    seen++;
    return from_side != 0;
  };
  ASSERT_TRUE(send_bytes(*client, bytes_of("blocked"), &to));
  network.run_for(kSecond);
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(receive_bytes(*server, 10).error(), Errno::eagain);
  static_cast<UdpSocket*>(server.get())->close();
  static_cast<UdpSocket*>(client.get())->close();
}

}  // namespace
}  // namespace nimbus::net::test
