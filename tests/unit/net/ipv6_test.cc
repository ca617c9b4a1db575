// IPv6: ::1 on loopback, TCP and UDP over IPv6 between two stacks (neighbour discovery,
// link-local and global addresses, fragments), dual-stack sockets (IPv4-mapped peers,
// IPV6_V6ONLY, family mismatches), SLAAC from a router advertisement, ICMPv6 (echo, port
// unreachable, packet too big) and hostile datagrams.
#include <gtest/gtest.h>

#include <random>
#include <tuple>

#include "kernel/net/ethernet.h"
#include "kernel/net/ipv6.h"
#include "kernel/net/ipv6_reassembly.h"
#include "kernel/net/loopback_device.h"
#include "kernel/net/ndp.h"
#include "kernel/net/socket_abi.h"
#include "kernel/net/tcp/tcp_protocol.h"
#include "kernel/net/tcp/tcp_socket.h"
#include "kernel/net/udp.h"
#include "kernel/net/udp_socket.h"
#include "tests/unit/net/net_test_util.h"
#include "tests/unit/net/two_stacks.h"

namespace nimbus::net::test {
namespace {

using namespace abi;
constexpr uint64_t kSecond = 1'000'000'000ull;

IpAddress v6(std::initializer_list<uint16_t> groups) {
  IpAddress address;
  size_t i = 0;
  for (uint16_t group : groups) {
    address.bytes[i++] = uint8_t(group >> 8);
    address.bytes[i++] = uint8_t(group);
  }
  return address;
}

SocketAddress sockaddr6(const IpAddress& address, uint16_t port, uint32_t scope_id = 0) {
  SocketAddress out;
  uint16_t family = af_inet6;
  std::memcpy(out.bytes.data(), &family, 2);
  store_be16(out.bytes.data() + 2, port);
  std::memcpy(out.bytes.data() + 8, address.bytes.data(), 16);
  std::memcpy(out.bytes.data() + 24, &scope_id, 4);
  out.length = sockaddr_in6_size;
  return out;
}

IpAddress sockaddr6_address(const SocketAddress& address) {
  IpAddress out;
  std::memcpy(out.bytes.data(), address.bytes.data() + 8, 16);
  return out;
}

std::string text_of(const Bytes& bytes) { return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()); }

Bytes ipv6_datagram(const IpAddress& source, const IpAddress& destination, uint8_t next_header, const Bytes& payload,
                    uint8_t hop_limit = 64) {
  Bytes d(kIpv6HeaderSize);
  Ipv6Header header;
  header.source = source;
  header.destination = destination;
  header.next_header = next_header;
  header.hop_limit = hop_limit;
  header.payload_length = uint16_t(payload.size());
  ipv6_write_header(d.data(), header);
  d.insert(d.end(), payload.begin(), payload.end());
  return d;
}

// An ICMPv6 message with its checksum.
Bytes icmpv6(const IpAddress& source, const IpAddress& destination, uint8_t type, uint8_t code, const Bytes& body) {
  Bytes m(4);
  m[0] = std::byte{type};
  m[1] = std::byte{code};
  m.insert(m.end(), body.begin(), body.end());
  uint32_t sum = pseudo_header_sum_ipv6(source, destination, kIpv6Icmp, uint32_t(m.size()));
  store_be16(m.data() + 2, checksum_finish(checksum_add(sum, m)));
  return m;
}

Bytes udp6(const IpAddress& source, const IpAddress& destination, uint16_t source_port, uint16_t destination_port,
           const Bytes& payload) {
  Bytes u(8);
  store_be16(u.data(), source_port);
  store_be16(u.data() + 2, destination_port);
  store_be16(u.data() + 4, uint16_t(8 + payload.size()));
  u.insert(u.end(), payload.begin(), payload.end());
  uint32_t sum = pseudo_header_sum_ipv6(source, destination, 17, uint32_t(u.size()));
  uint16_t checksum = checksum_finish(checksum_add(sum, u));
  store_be16(u.data() + 6, checksum == 0 ? 0xffff : checksum);
  return u;
}

class Ipv6 : public ::testing::Test, protected TwoStackNetwork {
 protected:
  ~Ipv6() override {
    for (auto& socket : sockets) {
      if (socket->type() == sock_dgram)
        static_cast<UdpSocket*>(socket.get())->close();
      else
        static_cast<tcp::TcpSocket*>(socket.get())->close();
    }
  }
  RefPtr<Socket> udp_socket(NetStack& stack, int family = af_inet6) {
    auto created = stack.udp().create_socket(family);
    EXPECT_TRUE(created);
    sockets.push_back(*created);
    return *created;
  }
  RefPtr<Socket> tcp_socket(NetStack& stack, int family = af_inet6) {
    auto created = stack.tcp().create_socket(family);
    EXPECT_TRUE(created);
    sockets.push_back(*created);
    return *created;
  }
  // IPv6 on the link: link-local addresses, and fd00::10/64 and fd00::20/64.
  void enable_link() {
    ASSERT_TRUE(a.enable_ipv6(ia));
    ASSERT_TRUE(b.enable_ipv6(ib));
    ASSERT_TRUE(a.add_ipv6_address(ia, global_a, 64));
    ASSERT_TRUE(b.add_ipv6_address(ib, global_b, 64));
  }
  void run() { network.run_for(kSecond / 10); }
  // Connects `client` to `to` and returns the accepted socket.
  RefPtr<Socket> connect_and_accept(Socket& listener, Socket& client, const SocketAddress& to, SocketAddress* peer) {
    auto started = client.connect(to, true);
    EXPECT_TRUE(started || started.error() == Errno::einprogress);
    network.run_for(kSecond / 2);
    auto accepted = listener.accept(true, peer);
    EXPECT_TRUE(accepted);
    if (!accepted) return {};
    sockets.push_back(*accepted);
    return *accepted;
  }
  void expect_echo(Socket& from, Socket& to, const std::string& text) {
    auto sent = send_bytes(from, bytes_of(text));
    ASSERT_TRUE(sent);
    run();
    auto got = receive_bytes(to, 100);
    ASSERT_TRUE(got);
    EXPECT_EQ(text_of(got->data), text);
  }

  const IpAddress global_a = v6({0xfd00, 0, 0, 0, 0, 0, 0, 0x10});
  const IpAddress global_b = v6({0xfd00, 0, 0, 0, 0, 0, 0, 0x20});
  const IpAddress loopback6 = IpAddress::ipv6_loopback();
  std::vector<RefPtr<Socket>> sockets;
};

TEST_F(Ipv6, LoopbackOwnsTheLoopbackAddress) {
  EXPECT_TRUE(a.is_local_address(loopback6));
  auto source = a.source_address_for(loopback6);
  ASSERT_TRUE(source);
  EXPECT_EQ(*source, loopback6);
  // No IPv6 on the link yet: nothing routes a global address.
  EXPECT_EQ(a.source_address_for(global_b).error(), Errno::enetunreach);
  auto lo = a.interface_snapshot(1);
  ASSERT_TRUE(lo);
  ASSERT_EQ(lo->ipv6_count, 1u);
  EXPECT_EQ(lo->ipv6[0].address, loopback6);
  EXPECT_EQ(lo->ipv6[0].prefix_length, 128);
}

TEST_F(Ipv6, UdpOverLoopback) {
  auto server = udp_socket(a);
  ASSERT_TRUE(server->bind(sockaddr6(loopback6, 5000)));
  auto client = udp_socket(a);
  SocketAddress to = sockaddr6(loopback6, 5000);
  ASSERT_TRUE(send_bytes(*client, bytes_of("ping6"), &to));
  run();
  auto got = receive_bytes(*server, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(text_of(got->data), "ping6");
  EXPECT_EQ(got->source.length, sockaddr_in6_size);
  EXPECT_EQ(got->source.family(), af_inet6);
  EXPECT_EQ(sockaddr6_address(got->source), loopback6);
  ASSERT_TRUE(send_bytes(*server, bytes_of("pong6"), &got->source));
  run();
  auto reply = receive_bytes(*client, 100);
  ASSERT_TRUE(reply);
  EXPECT_EQ(text_of(reply->data), "pong6");
  EXPECT_EQ(sockaddr_port(reply->source), 5000);
  auto name = client->local_address();
  ASSERT_TRUE(name);
  EXPECT_EQ(sockaddr6_address(*name), IpAddress{});  // bound to :: by the first send
}

TEST_F(Ipv6, UdpLargestDatagramOverLoopbackIsFragmentedAndReassembled) {
  auto server = udp_socket(a);
  ASSERT_TRUE(server->bind(sockaddr6(loopback6, 5001)));
  auto client = udp_socket(a);
  SocketAddress to = sockaddr6(loopback6, 5001);
  Bytes big(65527);
  for (size_t i = 0; i < big.size(); i++) big[i] = std::byte(i * 7);
  ASSERT_EQ(*send_bytes(*client, big, &to), big.size());
  Bytes too_big(65528);
  EXPECT_EQ(send_bytes(*client, too_big, &to).error(), Errno::emsgsize);
  run();
  auto got = receive_bytes(*server, 70000);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data, big);
  EXPECT_GT(a.statistics().ip6_reassembly_ok, 0u);
}

// The control messages of one received datagram as (level, type, int or byte value).
std::vector<std::tuple<int, int, int>> control_messages(std::span<const std::byte> control) {
  std::vector<std::tuple<int, int, int>> out;
  for (size_t at = 0; at + sizeof(abi::CmsgHdr) <= control.size();) {
    abi::CmsgHdr header;
    std::memcpy(&header, control.data() + at, sizeof(header));
    if (header.length < sizeof(header) || at + header.length > control.size()) break;
    size_t length = header.length - sizeof(header);
    int value = 0;
    if (length == 1) value = uint8_t(control[at + sizeof(header)]);
    if (length == sizeof(int)) std::memcpy(&value, control.data() + at + sizeof(header), sizeof(int));
    if (length == 20) std::memcpy(&value, control.data() + at + sizeof(header) + 16, sizeof(int));  // ifindex
    out.emplace_back(header.level, header.type, value);
    at += abi::cmsg_align(header.length);
  }
  return out;
}

TEST_F(Ipv6, UdpControlMessagesAsLinux) {
  // An AF_INET6 receiver asking for everything: an IPv6 datagram brings IPV6_PKTINFO,
  // IPV6_HOPLIMIT and IPV6_TCLASS; an IPv4 one IPV6_PKTINFO then IPPROTO_IP's own.
  auto server = udp_socket(a);
  ASSERT_TRUE(server->bind(sockaddr6({}, 5002)));
  int one = 1;
  for (int option : {ipv6_recvpktinfo, ipv6_recvhoplimit, ipv6_recvtclass})
    ASSERT_TRUE(server->set_option(ipproto_ipv6, option, std::as_bytes(std::span(&one, 1))));
  ASSERT_TRUE(server->set_option(ipproto_ip, ip_recvtos, std::as_bytes(std::span(&one, 1))));
  auto receive_control = [&] {
    std::byte data[64], control[256];
    fs::IoVec vector{data, sizeof data};
    ReceiveRequest request;
    request.data = {&vector, 1};
    request.control = control;
    request.nonblocking = true;
    EXPECT_TRUE(server->receive(request));
    return control_messages({control, request.control_length});
  };
  // IPV6_TCLASS and IPV6_HOPLIMIT given with the datagram override the socket's.
  auto client = udp_socket(a);
  std::byte control[2 * abi::cmsg_space(sizeof(int))] = {};
  int values[2] = {0x10, 42};
  int types[2] = {ipv6_tclass, ipv6_hoplimit};
  for (int i = 0; i < 2; i++) {
    abi::CmsgHdr header{abi::cmsg_len(sizeof(int)), ipproto_ipv6, types[i]};
    std::memcpy(control + i * abi::cmsg_space(sizeof(int)), &header, sizeof(header));
    std::memcpy(control + i * abi::cmsg_space(sizeof(int)) + sizeof(header), &values[i], sizeof(int));
  }
  Bytes payload = bytes_of("x");
  fs::IoVec vector{payload.data(), payload.size()};
  SocketAddress to = sockaddr6(loopback6, 5002);
  SendRequest request;
  request.data = {&vector, 1};
  request.destination = &to;
  request.control = control;
  ASSERT_TRUE(client->send(request));
  run();
  EXPECT_EQ(receive_control(), (std::vector<std::tuple<int, int, int>>{
                                   {ipproto_ipv6, ipv6_pktinfo, 1}, {ipproto_ipv6, ipv6_hoplimit, 42},
                                   {ipproto_ipv6, ipv6_tclass, 0x10}}));
  auto v4_client = udp_socket(a, af_inet);
  int tos = 0x08;
  ASSERT_TRUE(v4_client->set_option(ipproto_ip, ip_tos, std::as_bytes(std::span(&tos, 1))));
  SocketAddress to_v4 = sockaddr_v4(Ipv4Address::from_octets(127, 0, 0, 1), 5002);
  ASSERT_TRUE(send_bytes(*v4_client, payload, &to_v4));
  run();
  EXPECT_EQ(receive_control(), (std::vector<std::tuple<int, int, int>>{{ipproto_ipv6, ipv6_pktinfo, 1},
                                                                       {ipproto_ip, ip_tos, 0x08}}));
}

// gVisor's SetAndGetReceiveOrigDstAddr/ReceiveOrigDstAddrDefault (IPv6) and PayloadTooBig:
// IPV6_RECVORIGDSTADDR brings an IPV6_ORIGDSTADDR sockaddr_in6; with IPV6_RECVERR an IPv6
// send larger than any packet leaves a local EMSGSIZE error (the path MTU in ee_info) and no
// pending SO_ERROR; ICMPv6 port unreachable is queued with ICMPv6's type and code.
TEST_F(Ipv6, OriginalDestinationAndErrorQueue) {
  auto server = udp_socket(a);
  ASSERT_TRUE(server->bind(sockaddr6(loopback6, 5003)));
  int value = -1;
  ASSERT_EQ(*server->get_option(ipproto_ipv6, ipv6_recvorigdstaddr, std::as_writable_bytes(std::span(&value, 1))), 4u);
  EXPECT_EQ(value, 0);
  int one = 1;
  ASSERT_TRUE(server->set_option(ipproto_ipv6, ipv6_recvorigdstaddr, std::as_bytes(std::span(&one, 1))));
  ASSERT_TRUE(server->get_option(ipproto_ipv6, ipv6_recvorigdstaddr, std::as_writable_bytes(std::span(&value, 1))));
  EXPECT_EQ(value, 1);
  auto client = udp_socket(a);
  ASSERT_TRUE(client->set_option(ipproto_ipv6, ipv6_recverr, std::as_bytes(std::span(&one, 1))));
  SocketAddress to = sockaddr6(loopback6, 5003);
  ASSERT_TRUE(send_bytes(*client, bytes_of("o"), &to));
  run();
  {
    std::byte data[16], control[128];
    fs::IoVec vector{data, sizeof data};
    ReceiveRequest request;
    request.data = {&vector, 1};
    request.control = control;
    request.nonblocking = true;
    ASSERT_TRUE(server->receive(request));
    EXPECT_EQ(control_messages({control, request.control_length}),
              (std::vector<std::tuple<int, int, int>>{{ipproto_ipv6, ipv6_recvorigdstaddr, 0}}));
    EXPECT_EQ(load_be16(control + 16 + 2), 5003);
    EXPECT_EQ(request.control_length, abi::cmsg_space(sockaddr_in6_size));
  }
  Bytes huge(65536);
  EXPECT_EQ(send_bytes(*client, huge, &to).error(), Errno::emsgsize);
  EXPECT_EQ(client->take_error(), 0);
  auto local = receive_bytes(*client, 16, msg_errqueue);
  ASSERT_TRUE(local);
  EXPECT_EQ(local->returned, 0u);
  EXPECT_TRUE(local->result_flags & msg_errqueue);
  EXPECT_EQ(sockaddr_port(local->source), 5003);
  // Nobody on port 5004: ICMPv6 port unreachable, queued as ICMPv6 says it.
  SocketAddress nobody = sockaddr6(loopback6, 5004);
  ASSERT_TRUE(send_bytes(*client, bytes_of("lost"), &nobody));
  run();
  std::byte data[16], control[128];
  fs::IoVec vector{data, sizeof data};
  ReceiveRequest request;
  request.data = {&vector, 1};
  request.control = control;
  request.flags = msg_errqueue;
  ASSERT_EQ(*client->receive(request), 4u);
  EXPECT_EQ(request.control_length, abi::cmsg_space(16 + sockaddr_in6_size));
  uint32_t ee_errno;
  std::memcpy(&ee_errno, control + 16, 4);
  EXPECT_EQ(ee_errno, uint32_t(Errno::econnrefused));
  EXPECT_EQ(uint8_t(control[20]), 3);  // SO_EE_ORIGIN_ICMP6
  EXPECT_EQ(uint8_t(control[21]), 1);  // ICMP6_DST_UNREACH
  EXPECT_EQ(uint8_t(control[22]), 4);  // ICMP6_DST_UNREACH_NOPORT
}

TEST_F(Ipv6, PingSocketOverLoopback) {
  auto created = a.ping().create_socket(af_inet6);
  ASSERT_TRUE(created);
  sockets.push_back(*created);
  Socket& ping = **created;
  EXPECT_EQ(ping.protocol(), ipproto_icmpv6);
  SocketAddress to = sockaddr6(loopback6, 0);
  Bytes request = {std::byte{128}, std::byte{0}, std::byte{0}, std::byte{0},
                   std::byte{0},   std::byte{0}, std::byte{0}, std::byte{3}};
  for (char c : std::string("six")) request.push_back(std::byte(c));
  ASSERT_EQ(*send_bytes(ping, request, &to), request.size());
  run();
  auto reply = receive_bytes(ping, 100);
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->data.size(), request.size());
  EXPECT_EQ(reply->data[0], std::byte{129});  // echo reply
  auto name = ping.local_address();
  ASSERT_TRUE(name);
  EXPECT_EQ(load_be16(reply->data.data() + 4), load_be16(name->bytes.data() + 2));  // the automatic identifier
  EXPECT_EQ(text_of(Bytes(reply->data.begin() + 8, reply->data.end())), "six");
  EXPECT_EQ(sockaddr6_address(reply->source), loopback6);
}

TEST_F(Ipv6, TcpOverLoopback) {
  auto listener = tcp_socket(a);
  ASSERT_TRUE(listener->bind(sockaddr6(loopback6, 8080)));
  ASSERT_TRUE(listener->listen(4));
  auto client = tcp_socket(a);
  SocketAddress peer;
  auto server = connect_and_accept(*listener, *client, sockaddr6(loopback6, 8080), &peer);
  ASSERT_TRUE(server);
  EXPECT_EQ(peer.length, sockaddr_in6_size);
  EXPECT_EQ(sockaddr6_address(peer), loopback6);
  auto name = client->local_address();
  ASSERT_TRUE(name);
  EXPECT_EQ(sockaddr6_address(*name), loopback6);
  expect_echo(*client, *server, "over ::1");
  expect_echo(*server, *client, "and back");
}

TEST_F(Ipv6, ConnectToTheUnspecifiedAddressReachesLoopback) {
  auto listener = tcp_socket(a);
  ASSERT_TRUE(listener->bind(sockaddr6(loopback6, 8081)));
  ASSERT_TRUE(listener->listen(4));
  auto client = tcp_socket(a);
  auto server = connect_and_accept(*listener, *client, sockaddr6({}, 8081), nullptr);
  ASSERT_TRUE(server);
  auto peer = client->peer_address();
  ASSERT_TRUE(peer);
  EXPECT_EQ(sockaddr6_address(*peer), loopback6);

  auto udp_server = udp_socket(a);
  ASSERT_TRUE(udp_server->bind(sockaddr6(loopback6, 8081)));
  auto udp_client = udp_socket(a);
  ASSERT_TRUE(udp_client->connect(sockaddr6({}, 8081), false));
  expect_echo(*udp_client, *udp_server, "to ::");
}

TEST_F(Ipv6, DualStackListenerTakesIpv4WithMappedPeers) {
  auto listener = tcp_socket(a);
  ASSERT_TRUE(listener->bind(sockaddr6({}, 8082)));
  ASSERT_TRUE(listener->listen(4));
  // An AF_INET client to 127.0.0.1 and an AF_INET6 client to ::ffff:127.0.0.1 (IPv4 on the
  // wire), then one over ::1.
  auto v4_client = tcp_socket(a, af_inet);
  SocketAddress peer;
  auto from_v4 =
      connect_and_accept(*listener, *v4_client, sockaddr_v4(Ipv4Address::from_octets(127, 0, 0, 1), 8082), &peer);
  ASSERT_TRUE(from_v4);
  EXPECT_EQ(peer.family(), af_inet6);
  EXPECT_EQ(sockaddr6_address(peer), IpAddress::from_ipv4(Ipv4Address::from_octets(127, 0, 0, 1)));
  expect_echo(*v4_client, *from_v4, "v4 to dual");

  uint64_t v6_before = a.statistics().ip6_in_receives;
  auto mapped_client = tcp_socket(a);
  auto from_mapped = connect_and_accept(
      *listener, *mapped_client, sockaddr_v6_mapped(Ipv4Address::from_octets(127, 0, 0, 1), 8082), &peer);
  ASSERT_TRUE(from_mapped);
  EXPECT_EQ(a.statistics().ip6_in_receives, v6_before);  // it went out as IPv4
  auto name = mapped_client->local_address();
  ASSERT_TRUE(name);
  EXPECT_EQ(sockaddr6_address(*name), IpAddress::from_ipv4(Ipv4Address::from_octets(127, 0, 0, 1)));
  expect_echo(*from_mapped, *mapped_client, "mapped");

  auto v6_client = tcp_socket(a);
  auto from_v6 = connect_and_accept(*listener, *v6_client, sockaddr6(loopback6, 8082), &peer);
  ASSERT_TRUE(from_v6);
  EXPECT_EQ(sockaddr6_address(peer), loopback6);
}

TEST_F(Ipv6, V6OnlyRefusesIpv4) {
  auto listener = tcp_socket(a);
  int one = 1;
  ASSERT_TRUE(listener->set_option(ipproto_ipv6, ipv6_v6only, std::as_bytes(std::span(&one, 1))));
  ASSERT_TRUE(listener->bind(sockaddr6({}, 8083)));
  ASSERT_TRUE(listener->listen(4));
  // The IPv4 wildcard on the same port does not clash with an IPv6-only one.
  auto v4_listener = tcp_socket(a, af_inet);
  ASSERT_TRUE(v4_listener->bind(sockaddr_v4({}, 8083)));
  ASSERT_TRUE(v4_listener->listen(4));
  auto client = tcp_socket(a, af_inet);
  SocketAddress peer;
  auto accepted = connect_and_accept(*v4_listener, *client, sockaddr_v4(Ipv4Address::from_octets(127, 0, 0, 1), 8083),
                                     &peer);
  EXPECT_TRUE(accepted);
  EXPECT_EQ(listener->accept(true, nullptr).error(), Errno::eagain);

  auto v6only_udp = udp_socket(a);
  ASSERT_TRUE(v6only_udp->set_option(ipproto_ipv6, ipv6_v6only, std::as_bytes(std::span(&one, 1))));
  EXPECT_EQ(v6only_udp->bind(sockaddr_v6_mapped(Ipv4Address::from_octets(127, 0, 0, 1), 0)).error(), Errno::einval);
  ASSERT_TRUE(v6only_udp->bind(sockaddr6({}, 8084)));
  auto v4_sender = udp_socket(a, af_inet);
  SocketAddress to = sockaddr_v4(Ipv4Address::from_octets(127, 0, 0, 1), 8084);
  ASSERT_TRUE(send_bytes(*v4_sender, bytes_of("x"), &to));
  run();
  EXPECT_EQ(receive_bytes(*v6only_udp, 10).error(), Errno::eagain);
}

TEST_F(Ipv6, FamilyMismatchesFailAsLinux) {
  // gVisor's DualStackAfMismatchTest: bound to ::1, a mapped peer is unreachable; bound to
  // a mapped address, an IPv6 peer is EAFNOSUPPORT.
  const SocketAddress mapped = sockaddr_v6_mapped(Ipv4Address::from_octets(127, 0, 0, 1), 1337);
  const SocketAddress native = sockaddr6(loopback6, 1337);
  for (bool stream : {true, false}) {
    auto bound_v6 = stream ? tcp_socket(a) : udp_socket(a);
    ASSERT_TRUE(bound_v6->bind(sockaddr6(loopback6, 0)));
    EXPECT_EQ(bound_v6->connect(mapped, true).error(), Errno::enetunreach) << stream;
    auto bound_v4 = stream ? tcp_socket(a) : udp_socket(a);
    ASSERT_TRUE(bound_v4->bind(sockaddr_v6_mapped(Ipv4Address::from_octets(127, 0, 0, 1), 0)));
    EXPECT_EQ(bound_v4->connect(native, true).error(), Errno::eafnosupport) << stream;
  }
  auto sender_v6 = udp_socket(a);
  ASSERT_TRUE(sender_v6->bind(sockaddr6(loopback6, 0)));
  EXPECT_EQ(send_bytes(*sender_v6, bytes_of("x"), &mapped).error(), Errno::enetunreach);
  auto sender_v4 = udp_socket(a);
  ASSERT_TRUE(sender_v4->bind(sockaddr_v6_mapped(Ipv4Address::from_octets(127, 0, 0, 1), 0)));
  EXPECT_EQ(send_bytes(*sender_v4, bytes_of("x"), &native).error(), Errno::eafnosupport);
  // The same with port 0 in the TCP peer's address (gVisor's V4ListenerV6Connect): the
  // families are compared before the port.
  auto bound_v4_tcp = tcp_socket(a);
  ASSERT_TRUE(bound_v4_tcp->bind(sockaddr_v6_mapped(Ipv4Address::from_octets(127, 0, 0, 1), 0)));
  EXPECT_EQ(bound_v4_tcp->connect(sockaddr6(loopback6, 0), true).error(), Errno::eafnosupport);
  auto bound_v6_tcp = tcp_socket(a);
  ASSERT_TRUE(bound_v6_tcp->bind(sockaddr6(loopback6, 0)));
  EXPECT_EQ(bound_v6_tcp->connect(sockaddr_v6_mapped(Ipv4Address::from_octets(127, 0, 0, 1), 0), true).error(),
            Errno::enetunreach);
  // An AF_INET socket never takes a sockaddr_in6.
  auto v4 = udp_socket(a, af_inet);
  EXPECT_EQ(v4->connect(native, false).error(), Errno::eafnosupport);
}

TEST_F(Ipv6, TcpBetweenStacksResolvesNeighbours) {
  enable_link();
  auto listener = tcp_socket(b);
  ASSERT_TRUE(listener->bind(sockaddr6({}, 9000)));
  ASSERT_TRUE(listener->listen(4));
  auto client = tcp_socket(a);
  SocketAddress peer;
  auto server = connect_and_accept(*listener, *client, sockaddr6(global_b, 9000), &peer);
  ASSERT_TRUE(server);
  EXPECT_EQ(sockaddr6_address(peer), global_a);
  expect_echo(*client, *server, "across the link");
  expect_echo(*server, *client, "and back again");
  // 1500 - 40 (IPv6) - 20 (TCP) - 12 (timestamps).
  EXPECT_EQ(static_cast<tcp::TcpSocket*>(client.get())->connection().mss, 1428);
  NetStatistics sa = a.statistics(), sb = b.statistics();
  EXPECT_GE(sa.ndp_solicitations_sent, 1u);
  EXPECT_GE(sb.ndp_solicitations_received, 1u);
  EXPECT_GE(sb.ndp_advertisements_sent, 1u);
  EXPECT_GE(sa.ndp_advertisements_received, 1u);
  EXPECT_EQ(sa.ndp_unresolved_drops, 0u);
}

TEST_F(Ipv6, UdpOverLinkLocalAddresses) {
  enable_link();
  auto b_link_local = b.interface_snapshot(ib);
  ASSERT_TRUE(b_link_local);
  IpAddress target;
  for (size_t i = 0; i < b_link_local->ipv6_count; i++)
    if (b_link_local->ipv6[i].address.is_link_local()) target = b_link_local->ipv6[i].address;
  // fe80::ff:fe00:2 from MAC 02:00:00:00:00:02 (the universal/local bit flipped).
  EXPECT_EQ(target, v6({0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x0002}));
  auto server = udp_socket(b);
  EXPECT_EQ(server->bind(sockaddr6(target, 53)).error(), Errno::einval);  // no scope id
  ASSERT_TRUE(server->bind(sockaddr6(target, 53, ib)));
  auto client = udp_socket(a);
  SocketAddress to = sockaddr6(target, 53, ia);
  ASSERT_TRUE(send_bytes(*client, bytes_of("hello neighbour"), &to));
  run();
  auto got = receive_bytes(*server, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(text_of(got->data), "hello neighbour");
  EXPECT_TRUE(sockaddr6_address(got->source).is_link_local());
  uint32_t scope;
  std::memcpy(&scope, got->source.bytes.data() + 24, 4);
  EXPECT_EQ(scope, ib);
}

TEST_F(Ipv6, LargeUdpDatagramCrossesTheLinkInFragments) {
  enable_link();
  auto server = udp_socket(b);
  ASSERT_TRUE(server->bind(sockaddr6({}, 7000)));
  auto client = udp_socket(a);
  SocketAddress to = sockaddr6(global_b, 7000);
  Bytes data(5000);
  for (size_t i = 0; i < data.size(); i++) data[i] = std::byte(i);
  ASSERT_TRUE(send_bytes(*client, data, &to));
  run();
  auto got = receive_bytes(*server, 6000);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data, data);
  EXPECT_EQ(a.statistics().ip6_fragments_created, 4u);
  EXPECT_EQ(b.statistics().ip6_reassembly_ok, 1u);
}

TEST_F(Ipv6, ClosedUdpPortIsReportedToAConnectedSender) {
  enable_link();
  auto client = udp_socket(a);
  ASSERT_TRUE(client->connect(sockaddr6(global_b, 9999), false));
  ASSERT_TRUE(send_bytes(*client, bytes_of("anyone?"), nullptr));
  run();
  EXPECT_EQ(b.statistics().icmp6_out_destination_unreachables, 1u);
  EXPECT_EQ(receive_bytes(*client, 10).error(), Errno::econnrefused);
}

TEST_F(Ipv6, TcpToAClosedPortIsReset) {
  enable_link();
  auto client = tcp_socket(a);
  EXPECT_EQ(client->connect(sockaddr6(global_b, 9998), true).error(), Errno::einprogress);
  run();
  EXPECT_EQ(client->take_error(), int(Errno::econnrefused));
}

// A single stack on a mock NIC, fed hand-made frames.
class Ipv6Wire : public ::testing::Test {
 protected:
  Ipv6Wire() : stack(env), lo(stack) {
    EXPECT_TRUE(LoopbackDevice::attach(stack, lo));
    index = *stack.add_interface(nic);
    EXPECT_TRUE(stack.enable_ipv6(index));
    our_link_local = ipv6_address_from_mac(v6({0xfe80}), kOurMac.data());
  }
  void receive(const IpAddress& source, const IpAddress& destination, uint8_t next_header, const Bytes& payload,
               uint8_t hop_limit = 64, MacAddress to = kOurMac) {
    stack.receive(index, make_packet(ethernet_frame(to, kRouterMac, kEtherTypeIpv6,
                                                    ipv6_datagram(source, destination, next_header, payload, hop_limit))));
  }
  // The frames sent since the last call that carry ICMPv6 of `type`.
  std::vector<Bytes> sent_icmpv6(uint8_t type) {
    std::vector<Bytes> out;
    for (const Bytes& frame : nic.frames) {
      if (frame.size() < 14 + 40 + 4 || load_be16(frame.data() + 12) != kEtherTypeIpv6) continue;
      if (uint8_t(frame[14 + 6]) == kIpv6Icmp && uint8_t(frame[14 + 40]) == type) out.push_back(frame);
    }
    nic.frames.clear();
    return out;
  }
  void advance(uint64_t ns) {
    env.advance(ns);
    stack.poll();
  }
  // The address SLAAC made (:: if none).
  IpAddress a_global() {
    auto snapshot = stack.interface_snapshot(index);
    for (size_t i = 0; snapshot && i < snapshot->ipv6_count; i++)
      if (snapshot->ipv6[i].autoconfigured) return snapshot->ipv6[i].address;
    return {};
  }

  static constexpr MacAddress kOurMac = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
  static constexpr MacAddress kRouterMac = {0x52, 0x55, 0x0a, 0, 2, 2};
  const IpAddress router = v6({0xfe80, 0, 0, 0, 0, 0, 0, 2});
  VirtualEnvironment env;
  NetStack stack;
  LoopbackDevice lo;
  MockDevice nic{kOurMac};
  uint32_t index = 0;
  IpAddress our_link_local;
};

TEST_F(Ipv6Wire, RouterAdvertisementBringsASlaacAddressAndADefaultRoute) {
  // Router solicitations: the first within a second, three in all, 4 s apart.
  advance(kSecond);
  auto solicitations = sent_icmpv6(kNdpRouterSolicitation);
  ASSERT_EQ(solicitations.size(), 1u);
  const Bytes& rs = solicitations[0];
  EXPECT_EQ(uint8_t(rs[0]), 0x33);  // to ff02::2's group MAC
  EXPECT_EQ(uint8_t(rs[14 + 7]), 255);  // hop limit
  EXPECT_EQ(ipv6_address_from_bytes(rs.data() + 14 + 8), our_link_local);
  EXPECT_EQ(ipv6_address_from_bytes(rs.data() + 14 + 24), ipv6_all_routers());
  EXPECT_EQ(a_global(), IpAddress{});

  // slirp's advertisement: fec0::/64, autonomous and on-link, router lifetime 1800 s.
  Bytes body(12);
  store_be16(body.data() + 2, 1800);
  Bytes link_option = {std::byte{1}, std::byte{1}};
  link_option.insert(link_option.end(), reinterpret_cast<const std::byte*>(kRouterMac.data()),
                     reinterpret_cast<const std::byte*>(kRouterMac.data()) + 6);
  Bytes prefix_option(32);
  prefix_option[0] = std::byte{3};
  prefix_option[1] = std::byte{4};
  prefix_option[2] = std::byte{64};
  prefix_option[3] = std::byte{0xc0};
  store_be32(prefix_option.data() + 4, 86400);
  store_be32(prefix_option.data() + 8, 14400);
  prefix_option[16] = std::byte{0xfe};
  prefix_option[17] = std::byte{0xc0};
  Bytes mtu_option(8);
  mtu_option[0] = std::byte{5};
  mtu_option[1] = std::byte{1};
  store_be32(mtu_option.data() + 4, 1400);
  body.insert(body.end(), link_option.begin(), link_option.end());
  body.insert(body.end(), prefix_option.begin(), prefix_option.end());
  body.insert(body.end(), mtu_option.begin(), mtu_option.end());
  receive(router, ipv6_all_nodes(), kIpv6Icmp,
          icmpv6(router, ipv6_all_nodes(), kNdpRouterAdvertisement, 0, body), 255);
  IpAddress expected = ipv6_address_from_mac(v6({0xfec0}), kOurMac.data());
  EXPECT_EQ(a_global(), expected);
  EXPECT_EQ(stack.statistics().ndp_router_advertisements_received, 1u);
  // Off-link destinations now go through the router, from the new address.
  auto source = stack.source_address_for(v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}));
  ASSERT_TRUE(source);
  EXPECT_EQ(*source, expected);
  // The advertised MTU is IPv6's alone: the link keeps 1500 for IPv4.
  EXPECT_EQ(stack.path_mtu(v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1})), 1400u - 40);
  EXPECT_EQ(stack.interface_snapshot(index)->mtu, 1500u);
  // Answered: no more solicitations.
  advance(10 * kSecond);
  EXPECT_TRUE(sent_icmpv6(kNdpRouterSolicitation).empty());

  // The same advertisement with hop limit 64 came from beyond the link: ignored.
  uint64_t errors = stack.statistics().icmp6_in_errors;
  receive(router, ipv6_all_nodes(), kIpv6Icmp, icmpv6(router, ipv6_all_nodes(), kNdpRouterAdvertisement, 0, body), 64);
  EXPECT_EQ(stack.statistics().icmp6_in_errors, errors + 1);
}

TEST_F(Ipv6Wire, NeighbourSolicitationIsAnswered) {
  Bytes body(4 + 16);
  std::memcpy(body.data() + 4, our_link_local.bytes.data(), 16);
  Bytes option = {std::byte{1}, std::byte{1}};
  option.insert(option.end(), reinterpret_cast<const std::byte*>(kRouterMac.data()),
                reinterpret_cast<const std::byte*>(kRouterMac.data()) + 6);
  body.insert(body.end(), option.begin(), option.end());
  IpAddress group = ipv6_solicited_node(our_link_local);
  nic.frames.clear();
  receive(router, group, kIpv6Icmp, icmpv6(router, group, kNdpNeighborSolicitation, 0, body), 255);
  auto adverts = sent_icmpv6(kNdpNeighborAdvertisement);
  ASSERT_EQ(adverts.size(), 1u);
  const Bytes& na = adverts[0];
  // Unicast to the solicitor's MAC, solicited and override, naming our MAC.
  EXPECT_EQ(0, std::memcmp(na.data(), kRouterMac.data(), 6));
  EXPECT_EQ(uint8_t(na[14 + 40 + 4]), 0x60);
  EXPECT_EQ(ipv6_address_from_bytes(na.data() + 14 + 40 + 8), our_link_local);
  EXPECT_EQ(0, std::memcmp(na.data() + 14 + 40 + 24 + 2, kOurMac.data(), 6));
  Bytes message(na.begin() + 14 + 40, na.end());
  uint32_t sum = pseudo_header_sum_ipv6(our_link_local, router, kIpv6Icmp, uint32_t(message.size()));
  EXPECT_EQ(checksum_finish(checksum_add(sum, message)), 0);
}

TEST_F(Ipv6Wire, EchoRequestIsAnswered) {
  Bytes body(4 + 8);
  store_be16(body.data(), 0x1234);
  store_be16(body.data() + 2, 7);
  receive(router, our_link_local, kIpv6Icmp, icmpv6(router, our_link_local, 128, 0, body));
  // The reply waits for the router's link-layer address: answer the solicitation.
  auto solicitations = sent_icmpv6(kNdpNeighborSolicitation);
  ASSERT_EQ(solicitations.size(), 1u);
  Bytes na(4 + 16);
  na[0] = std::byte{0x60};
  std::memcpy(na.data() + 4, router.bytes.data(), 16);
  Bytes option = {std::byte{2}, std::byte{1}};
  option.insert(option.end(), reinterpret_cast<const std::byte*>(kRouterMac.data()),
                reinterpret_cast<const std::byte*>(kRouterMac.data()) + 6);
  na.insert(na.end(), option.begin(), option.end());
  receive(router, our_link_local, kIpv6Icmp, icmpv6(router, our_link_local, kNdpNeighborAdvertisement, 0, na), 255);
  auto replies = sent_icmpv6(129);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(0, std::memcmp(replies[0].data(), kRouterMac.data(), 6));
  EXPECT_EQ(load_be16(replies[0].data() + 14 + 40 + 4), 0x1234);
  EXPECT_EQ(stack.statistics().icmp6_out_echo_replies, 1u);
}

TEST_F(Ipv6Wire, PacketTooBigLowersThePathMtu) {
  IpAddress peer = v6({0xfe80, 0, 0, 0, 0, 0, 0, 9});
  EXPECT_EQ(stack.path_mtu(peer), 1500u - 40);
  // A "packet too big" quoting a UDP datagram we sent.
  Bytes quoted = ipv6_datagram(our_link_local, peer, 17, udp6(our_link_local, peer, 4000, 53, Bytes(1400)));
  Bytes body(4);
  store_be32(body.data(), 1280);
  body.insert(body.end(), quoted.begin(), quoted.end());
  receive(peer, our_link_local, kIpv6Icmp, icmpv6(peer, our_link_local, 2, 0, body));
  EXPECT_EQ(stack.statistics().icmp6_in_packet_too_big, 1u);
  EXPECT_EQ(stack.path_mtu(peer), 1280u - 40);
  // A smaller MTU than IPv6's minimum is taken as the minimum (RFC 8201 4).
  store_be32(body.data(), 500);
  receive(peer, our_link_local, kIpv6Icmp, icmpv6(peer, our_link_local, 2, 0, body));
  EXPECT_EQ(stack.path_mtu(peer), 1280u - 40);
}

TEST_F(Ipv6Wire, HostileDatagramsAreDroppedWithTheRightAnswers) {
  IpAddress peer = v6({0xfe80, 0, 0, 0, 0, 0, 0, 9});
  auto udp = *stack.udp().create_socket(af_inet6);
  ASSERT_TRUE(udp->bind(sockaddr6({}, 7000)));
  Bytes segment = udp6(peer, our_link_local, 1, 7000, bytes_of("ok"));
  auto received = [&] {
    size_t n = 0;
    while (receive_bytes(*udp, 100)) n++;
    return n;
  };
  // Clean: delivered.
  receive(peer, our_link_local, 17, segment);
  EXPECT_EQ(received(), 1u);
  NetStatistics before = stack.statistics();
  // Payload length beyond the frame, a truncated header, the wrong version.
  Bytes datagram = ipv6_datagram(peer, our_link_local, 17, segment);
  store_be16(datagram.data() + 4, 1000);
  stack.receive(index, make_packet(ethernet_frame(kOurMac, kRouterMac, kEtherTypeIpv6, datagram)));
  stack.receive(index, make_packet(ethernet_frame(kOurMac, kRouterMac, kEtherTypeIpv6, Bytes(datagram.begin(), datagram.begin() + 30))));
  datagram = ipv6_datagram(peer, our_link_local, 17, segment);
  datagram[0] = std::byte{0x40};
  stack.receive(index, make_packet(ethernet_frame(kOurMac, kRouterMac, kEtherTypeIpv6, datagram)));
  EXPECT_EQ(stack.statistics().ip6_in_header_errors, before.ip6_in_header_errors + 3);
  // ::1 from the wire, an IPv4-mapped source, a multicast source: martians.
  receive(IpAddress::ipv6_loopback(), our_link_local, 17, segment);
  receive(IpAddress::from_ipv4(Ipv4Address::from_octets(127, 0, 0, 1)), our_link_local, 17, segment);
  receive(ipv6_all_nodes(), our_link_local, 17, segment);
  // Not for us.
  receive(peer, v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}), 17, segment);
  EXPECT_EQ(stack.statistics().ip6_in_address_errors, before.ip6_in_address_errors + 4);
  EXPECT_EQ(received(), 0u);

  // Extension headers: a destination options header with padding is skipped; an unknown
  // option whose type says "discard and report" is reported; hop-by-hop not first is an
  // error; a header longer than the datagram is an error.
  auto with_header = [&](uint8_t type, Bytes header, const Bytes& rest) {
    header[0] = std::byte{17};
    header.insert(header.end(), rest.begin(), rest.end());
    receive(peer, our_link_local, type, header);
  };
  Bytes padding = {std::byte{17}, std::byte{0}, std::byte{1}, std::byte{4}, std::byte{0}, std::byte{0},
                   std::byte{0}, std::byte{0}};
  with_header(kIpv6DestinationOptions, padding, segment);
  EXPECT_EQ(received(), 1u);
  nic.frames.clear();
  Bytes unknown = {std::byte{17}, std::byte{0}, std::byte{0x9e}, std::byte{4}, std::byte{0}, std::byte{0},
                   std::byte{0}, std::byte{0}};
  with_header(kIpv6DestinationOptions, unknown, segment);
  EXPECT_EQ(received(), 0u);
  Bytes too_long = {std::byte{17}, std::byte{40}, std::byte{1}, std::byte{4}, std::byte{0}, std::byte{0},
                    std::byte{0}, std::byte{0}};
  with_header(kIpv6DestinationOptions, too_long, segment);
  Bytes hop_by_hop_second = padding;
  hop_by_hop_second[0] = std::byte{kIpv6HopByHop};
  receive(peer, our_link_local, kIpv6DestinationOptions, [&] {
    Bytes chain = hop_by_hop_second;
    Bytes inner = padding;
    chain.insert(chain.end(), inner.begin(), inner.end());
    chain.insert(chain.end(), segment.begin(), segment.end());
    return chain;
  }());
  // A routing header with segments left and an unknown type.
  Bytes routing = {std::byte{17}, std::byte{0}, std::byte{0}, std::byte{1}, std::byte{0}, std::byte{0},
                   std::byte{0}, std::byte{0}};
  with_header(kIpv6Routing, routing, segment);
  EXPECT_EQ(received(), 0u);
  // Four parameter problems (queued while their destination is being solicited).
  EXPECT_EQ(stack.statistics().icmp6_out_messages, before.icmp6_out_messages + 4);
  // An unknown upper layer (IPPROTO_SCTP): parameter problem, code 1.
  receive(peer, our_link_local, 132, Bytes(8));
  EXPECT_EQ(stack.statistics().ip6_in_unknown_protocols, before.ip6_in_unknown_protocols + 1);

  // Overlapping fragments drop the whole datagram (RFC 5722).
  auto fragment = [&](uint16_t offset, bool more, const Bytes& data) {
    Bytes header = {std::byte{17}, std::byte{0}, std::byte{0}, std::byte{0},
                    std::byte{0},  std::byte{0}, std::byte{0}, std::byte{42}};
    store_be16(header.data() + 2, uint16_t(offset | (more ? 1 : 0)));
    header.insert(header.end(), data.begin(), data.end());
    receive(peer, our_link_local, kIpv6Fragment, header);
  };
  Bytes whole = udp6(peer, our_link_local, 1, 7000, Bytes(40));
  fragment(0, true, Bytes(whole.begin(), whole.begin() + 24));
  fragment(16, false, Bytes(whole.begin() + 16, whole.end()));
  EXPECT_EQ(received(), 0u);
  // The same pieces without overlap reassemble.
  fragment(0, true, Bytes(whole.begin(), whole.begin() + 24));
  fragment(24, false, Bytes(whole.begin() + 24, whole.end()));
  EXPECT_EQ(received(), 1u);
  static_cast<UdpSocket*>(udp.get())->close();
}

TEST_F(Ipv6Wire, FuzzedDatagramsNeverCrashTheStack) {
  IpAddress peer = v6({0xfe80, 0, 0, 0, 0, 0, 0, 9});
  auto udp = *stack.udp().create_socket(af_inet6);
  ASSERT_TRUE(udp->bind(sockaddr6({}, 7000)));
  auto tcp_listener = *stack.tcp().create_socket(af_inet6);
  ASSERT_TRUE(tcp_listener->bind(sockaddr6({}, 80)));
  ASSERT_TRUE(tcp_listener->listen(4));
  std::vector<Bytes> seeds;
  seeds.push_back(ipv6_datagram(peer, our_link_local, 17, udp6(peer, our_link_local, 1, 7000, Bytes(20))));
  Bytes echo(4 + 8);
  seeds.push_back(ipv6_datagram(peer, our_link_local, kIpv6Icmp, icmpv6(peer, our_link_local, 128, 0, echo)));
  Bytes options = {std::byte{kIpv6Fragment}, std::byte{0}, std::byte{1}, std::byte{4},
                   std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}};
  Bytes fragment = {std::byte{17}, std::byte{0}, std::byte{0}, std::byte{1},
                    std::byte{0}, std::byte{0}, std::byte{0}, std::byte{7}};
  Bytes chain = options;
  chain.insert(chain.end(), fragment.begin(), fragment.end());
  chain.resize(chain.size() + 32);
  seeds.push_back(ipv6_datagram(peer, our_link_local, kIpv6HopByHop, chain));
  Bytes quoted = ipv6_datagram(our_link_local, peer, 6, Bytes(20));
  Bytes error_body(4);
  error_body.insert(error_body.end(), quoted.begin(), quoted.end());
  seeds.push_back(ipv6_datagram(peer, our_link_local, kIpv6Icmp, icmpv6(peer, our_link_local, 1, 4, error_body)));
  Bytes ns(4 + 16 + 8);
  std::memcpy(ns.data() + 4, our_link_local.bytes.data(), 16);
  ns[20] = std::byte{1};
  ns[21] = std::byte{1};
  seeds.push_back(ipv6_datagram(peer, ipv6_solicited_node(our_link_local), kIpv6Icmp,
                                icmpv6(peer, ipv6_solicited_node(our_link_local), kNdpNeighborSolicitation, 0, ns), 255));
  Bytes tcp_syn(20);
  store_be16(tcp_syn.data() + 2, 80);
  tcp_syn[12] = std::byte{0x50};
  tcp_syn[13] = std::byte{0x02};
  seeds.push_back(ipv6_datagram(peer, our_link_local, 6, tcp_syn));

  std::mt19937_64 random(20261207);
  for (int i = 0; i < 200000; i++) {
    Bytes datagram = seeds[random() % seeds.size()];
    int mutations = 1 + random() % 4;
    for (int m = 0; m < mutations && !datagram.empty(); m++) {
      switch (random() % 4) {
        case 0: datagram[random() % datagram.size()] = std::byte(random()); break;
        case 1: datagram.resize(random() % (datagram.size() + 1)); break;
        case 2: datagram.push_back(std::byte(random())); break;
        default: {
          size_t at = 4 + random() % 60;  // lengths, next headers, extension header fields
          if (at < datagram.size()) datagram[at] = std::byte(random() % 2 ? 0xff : 0x00);
        }
      }
    }
    if (random() % 8 == 0)
      stack.receive(1, make_packet(datagram));  // loopback: no Ethernet header
    else
      stack.receive(index, make_packet(ethernet_frame(kOurMac, kRouterMac, kEtherTypeIpv6, datagram)));
    if (i % 64 == 0) {
      advance((random() % 3000) * 1'000'000ull);
      while (receive_bytes(*udp, 2000)) {
      }
      while (tcp_listener->accept(true, nullptr)) {
      }
      nic.frames.clear();
    }
  }
  NetStatistics s = stack.statistics();
  EXPECT_GT(s.ip6_in_header_errors, 0u);
  EXPECT_GT(s.ip6_in_delivers, 0u);
  // Still working.
  stack.poll();
  while (receive_bytes(*udp, 2000)) {
  }
  receive(peer, our_link_local, 17, udp6(peer, our_link_local, 1, 7000, bytes_of("alive")));
  auto got = receive_bytes(*udp, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(text_of(got->data), "alive");
  static_cast<UdpSocket*>(udp.get())->close();
  static_cast<tcp::TcpSocket*>(tcp_listener.get())->close();
}

// An IPv6 fragment (RFC 8200 4.5): the fragment header (Next Header 17, the offset, M, the
// id) followed by `length` bytes of `payload` from `offset`.
Packet* ipv6_fragment(const Bytes& payload, uint16_t offset, uint16_t length, bool more, uint32_t id) {
  Bytes f(kIpv6FragmentHeaderSize);
  f[0] = std::byte{17};
  store_be16(f.data() + 2, static_cast<uint16_t>(offset | (more ? 1 : 0)));
  store_be32(f.data() + 4, id);
  f.insert(f.end(), payload.begin() + offset, payload.begin() + offset + length);
  return make_packet(f);
}

TEST(Ipv6Reassembly, OutOfOrderAndRepeatedPiecesMakeOneDatagramOverlapsDropIt) {
  Ipv6Reassembly reassembly;
  Ipv6Header header;
  header.next_header = kIpv6Fragment;
  header.hop_limit = 7;
  header.source = IpAddress::ipv6_loopback();
  header.destination = IpAddress::ipv6_loopback();
  Bytes payload(3000);
  for (size_t i = 0; i < payload.size(); i++) payload[i] = std::byte(i * 13);

  EXPECT_EQ(reassembly.add(ipv6_fragment(payload, 2000, 1000, false, 5), header, 0), nullptr);
  EXPECT_EQ(reassembly.add(ipv6_fragment(payload, 1000, 1000, true, 5), header, 0), nullptr);
  EXPECT_EQ(reassembly.add(ipv6_fragment(payload, 1000, 1000, true, 5), header, 0), nullptr);
  Packet* whole = reassembly.add(ipv6_fragment(payload, 0, 1000, true, 5), header, 0);
  ASSERT_NE(whole, nullptr);
  Ipv6Header parsed;
  ASSERT_EQ(ipv6_parse(whole->bytes(), parsed), Ipv6ParseResult::ok);
  EXPECT_EQ(parsed.payload_length, 3000u);
  EXPECT_EQ(parsed.next_header, 17u);  // the fragment header's, not 44
  EXPECT_EQ(parsed.hop_limit, 7u);
  EXPECT_EQ(Bytes(whole->data() + kIpv6HeaderSize, whole->data() + whole->length()), payload);
  Packet::free(whole);
  EXPECT_EQ(reassembly.statistics().duplicates, 1u);

  // A piece overlapping another by 8 bytes gives the datagram up; its rest completes nothing.
  EXPECT_EQ(reassembly.add(ipv6_fragment(payload, 0, 1000, true, 6), header, 0), nullptr);
  EXPECT_EQ(reassembly.add(ipv6_fragment(payload, 992, 1008, true, 6), header, 0), nullptr);
  EXPECT_EQ(reassembly.datagrams_held(), 0u);
  EXPECT_EQ(reassembly.add(ipv6_fragment(payload, 1000, 2000, false, 6), header, 0), nullptr);
  EXPECT_EQ(reassembly.statistics().overlaps, 1u);
  EXPECT_EQ(reassembly.statistics().reassembled, 1u);
}

}  // namespace
}  // namespace nimbus::net::test
