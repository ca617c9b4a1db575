// ARP, IPv4 validation and reassembly, and ICMP over a mock NIC with a virtual clock, plus
// an ICMP echo round trip between two stacks over the simulated link.
#include <gtest/gtest.h>

#include "kernel/net/ethernet.h"
#include "kernel/net/arp.h"
#include "kernel/net/ipv4_reassembly.h"
#include "kernel/net/loopback_device.h"
#include "kernel/net/udp.h"
#include "kernel/net/udp_socket.h"
#include "tests/unit/net/net_test_util.h"
#include "tests/unit/net/simulated_link.h"
#include "tests/unit/net/two_stacks.h"

namespace nimbus::net::test {
namespace {

const MacAddress kOurMac = {0x02, 0, 0, 0, 0, 0xaa};
const MacAddress kPeerMac = {0x02, 0, 0, 0, 0, 0xbb};
const Ipv4Address kOurIp = Ipv4Address::from_octets(10, 0, 0, 1);
const Ipv4Address kPeerIp = Ipv4Address::from_octets(10, 0, 0, 2);
constexpr uint64_t kSecond = 1'000'000'000ull;

// The frame's destination MAC is `mac`.
bool mac_is(const Bytes& frame, const MacAddress& mac) { return std::memcmp(frame.data(), mac.data(), 6) == 0; }

class OneStack : public ::testing::Test {
 protected:
  OneStack() : stack(env), nic(kOurMac) {
    index = *stack.add_interface(nic);
    EXPECT_TRUE(stack.set_ipv4_address(index, {kOurIp, 24}));
    nic.frames.clear();  // the gratuitous announcement
  }
  void inject(const Bytes& frame) { stack.receive(index, make_packet(frame)); }
  void inject_ip(const Bytes& datagram) { inject(ethernet_frame(kOurMac, kPeerMac, kEtherTypeIpv4, datagram)); }
  void learn_peer() {
    inject(ethernet_frame(kOurMac, kPeerMac, kEtherTypeArp, arp_payload(2, kPeerMac, kPeerIp, kOurMac, kOurIp)));
  }
  // A UDP datagram from us to the peer through a socket.
  void send_udp(Ipv4Address to, const std::string& text) {
    auto socket = *stack.udp().create_socket(2);
    SocketAddress destination = sockaddr_v4(to, 9999);
    ASSERT_TRUE(send_bytes(*socket, bytes_of(text), &destination));
    static_cast<UdpSocket*>(socket.get())->close();
  }
  static uint16_t ethertype(const Bytes& frame) { return load_be16(frame.data() + 12); }
  static uint16_t arp_operation(const Bytes& frame) { return load_be16(frame.data() + 14 + 6); }

  VirtualEnvironment env;
  NetStack stack;
  MockDevice nic;
  uint32_t index = 0;
};

// --- ARP ---

TEST_F(OneStack, AddressAnnouncedWhenSet) {
  nic.frames.clear();
  ASSERT_TRUE(stack.set_ipv4_address(index, {kOurIp, 24}));
  ASSERT_EQ(nic.frames.size(), 1u);
  EXPECT_EQ(ethertype(nic.frames[0]), kEtherTypeArp);
  // Gratuitous: sender and target protocol address are both ours.
  EXPECT_EQ(load_be32(nic.frames[0].data() + 14 + 14), kOurIp.value);
  EXPECT_EQ(load_be32(nic.frames[0].data() + 14 + 24), kOurIp.value);
}

TEST_F(OneStack, ResolvesThenSendsTheQueuedDatagram) {
  send_udp(kPeerIp, "hello");
  ASSERT_EQ(nic.frames.size(), 1u);
  const Bytes& request = nic.frames[0];
  EXPECT_EQ(ethertype(request), kEtherTypeArp);
  EXPECT_EQ(arp_operation(request), 1);
  EXPECT_TRUE(mac_is(request, kBroadcastMac));
  EXPECT_EQ(load_be32(request.data() + 14 + 24), kPeerIp.value);
  learn_peer();
  ASSERT_EQ(nic.frames.size(), 2u);
  const Bytes& datagram = nic.frames[1];
  EXPECT_EQ(ethertype(datagram), kEtherTypeIpv4);
  EXPECT_TRUE(mac_is(datagram, kPeerMac));
  EXPECT_EQ(load_be32(datagram.data() + 14 + 16), kPeerIp.value);
  // Now known: the next datagram goes straight out.
  send_udp(kPeerIp, "again");
  ASSERT_EQ(nic.frames.size(), 3u);
  EXPECT_EQ(ethertype(nic.frames[2]), kEtherTypeIpv4);
}

TEST_F(OneStack, AnswersRequestsForOurAddressOnly) {
  inject(ethernet_frame(kBroadcastMac, kPeerMac, kEtherTypeArp,
                        arp_payload(1, kPeerMac, kPeerIp, {}, Ipv4Address::from_octets(10, 0, 0, 77))));
  EXPECT_TRUE(nic.frames.empty());
  inject(ethernet_frame(kBroadcastMac, kPeerMac, kEtherTypeArp, arp_payload(1, kPeerMac, kPeerIp, {}, kOurIp)));
  ASSERT_EQ(nic.frames.size(), 1u);
  const Bytes& reply = nic.frames[0];
  EXPECT_EQ(arp_operation(reply), 2);
  EXPECT_TRUE(mac_is(reply, kPeerMac));
  EXPECT_EQ(load_be32(reply.data() + 14 + 14), kOurIp.value);
  // And the asker was learnt (RFC 826: the target adds the sender).
  send_udp(kPeerIp, "x");
  EXPECT_EQ(ethertype(nic.frames.back()), kEtherTypeIpv4);
}

TEST_F(OneStack, RetriesThenGivesUpAndDrops) {
  send_udp(kPeerIp, "lost");
  EXPECT_EQ(nic.frames.size(), 1u);
  for (int i = 0; i < 5; i++) {
    env.advance(kSecond);
    stack.poll();
  }
  // One request and two retries, then the datagram is dropped.
  EXPECT_EQ(nic.frames.size(), 3u);
  for (const Bytes& frame : nic.frames) EXPECT_EQ(ethertype(frame), kEtherTypeArp);
  NetStatistics s = stack.statistics();
  EXPECT_EQ(s.arp_requests_sent, 1u + 3u);  // the announcement, a request, two retries
  EXPECT_EQ(s.arp_unresolved_drops, 1u);
  EXPECT_EQ(s.ip_link_failures, 1u);  // reported to UDP as host unreachable (which ignores it)
  EXPECT_EQ(s.arp_entries, 0u);
  // A late reply creates nothing (it is not about us... it is a reply to us, so it is
  // learnt) and sends nothing old.
  learn_peer();
  EXPECT_EQ(nic.frames.size(), 3u);
}

TEST_F(OneStack, PendingQueueIsBounded) {
  // 60 datagrams of 1400 + 28 bytes: more than kMaxPendingBytes wait for one address.
  std::string padding(1397, '.');
  for (int i = 0; i < 60; i++) send_udp(kPeerIp, padding + std::to_string(100 + i));
  EXPECT_EQ(nic.frames.size(), 1u);  // one request: later sends found it pending
  learn_peer();
  size_t kept = ArpCache::kMaxPendingBytes / 1428;
  EXPECT_EQ(nic.frames.size(), 1u + kept);
  EXPECT_EQ(stack.statistics().arp_queue_drops, 60u - kept);
  // The newest were kept.
  const Bytes& last = nic.frames.back();
  std::string tail(reinterpret_cast<const char*>(last.data()) + last.size() - 3, 3);
  EXPECT_EQ(tail, "159");
}

TEST_F(OneStack, EntryExpiresAndIsReconfirmed) {
  learn_peer();  // a reply to us: learnt
  send_udp(kPeerIp, "a");
  ASSERT_EQ(nic.frames.size(), 1u);
  env.advance(61 * kSecond);
  send_udp(kPeerIp, "b");
  // Sent with the old address at once, and a unicast probe asks the peer to confirm.
  ASSERT_EQ(nic.frames.size(), 3u);
  EXPECT_EQ(ethertype(nic.frames[1]), kEtherTypeArp);
  EXPECT_TRUE(mac_is(nic.frames[1], kPeerMac));
  EXPECT_EQ(ethertype(nic.frames[2]), kEtherTypeIpv4);
  // No answer: after the retries the entry is gone and the next send asks by broadcast.
  for (int i = 0; i < 4; i++) {
    env.advance(kSecond);
    stack.poll();
  }
  nic.frames.clear();
  send_udp(kPeerIp, "c");
  ASSERT_EQ(nic.frames.size(), 1u);
  EXPECT_EQ(ethertype(nic.frames[0]), kEtherTypeArp);
  EXPECT_TRUE(mac_is(nic.frames[0], kBroadcastMac));
}

TEST_F(OneStack, GratuitousArpUpdatesAKnownNeighbour) {
  learn_peer();
  MacAddress moved = {0x02, 0, 0, 0, 0, 0xcc};
  inject(ethernet_frame(kBroadcastMac, moved, kEtherTypeArp, arp_payload(1, moved, kPeerIp, {}, kPeerIp)));
  EXPECT_TRUE(nic.frames.empty());  // not about us: no reply
  send_udp(kPeerIp, "x");
  ASSERT_EQ(nic.frames.size(), 1u);
  EXPECT_TRUE(mac_is(nic.frames[0], moved));
}

TEST_F(OneStack, MalformedArpIsCountedAndIgnored) {
  Bytes bad = arp_payload(1, kPeerMac, kPeerIp, {}, kOurIp);
  bad[4] = std::byte{8};  // hardware length
  inject(ethernet_frame(kBroadcastMac, kPeerMac, kEtherTypeArp, bad));
  inject(ethernet_frame(kBroadcastMac, kPeerMac, kEtherTypeArp, Bytes(10)));
  EXPECT_TRUE(nic.frames.empty());
  EXPECT_EQ(stack.statistics().arp_malformed, 2u);
}

TEST_F(OneStack, FramesForOtherMacsAreDropped) {
  MacAddress other = {0x02, 0, 0, 0, 0, 0x99};
  inject(ethernet_frame(other, kPeerMac, kEtherTypeArp, arp_payload(1, kPeerMac, kPeerIp, {}, kOurIp)));
  EXPECT_TRUE(nic.frames.empty());
  EXPECT_EQ(stack.statistics().link_not_for_us, 1u);
  inject(Bytes(8));
  EXPECT_EQ(stack.statistics().link_malformed, 1u);
}

// --- IPv4 header validation ---

class Ipv4Input : public OneStack {
 protected:
  Ipv4Input() {
    socket = *stack.udp().create_socket(2);
    SocketAddress local = sockaddr_v4({}, 7000);
    EXPECT_TRUE(socket->bind(local));
  }
  ~Ipv4Input() override { static_cast<UdpSocket*>(socket.get())->close(); }
  Bytes good(const std::string& text, uint16_t id = 1) {
    Ipv4Fields f{kPeerIp, kOurIp, 17, id};
    return ipv4_datagram(f, udp_segment(kPeerIp, kOurIp, 5000, 7000, bytes_of(text)));
  }
  size_t queued() { return static_cast<UdpSocket*>(socket.get())->queued_bytes(); }
  RefPtr<Socket> socket;
};

TEST_F(Ipv4Input, ValidDatagramIsDelivered) {
  inject_ip(good("ok"));
  auto got = receive_bytes(*socket, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(got->data.data()), got->data.size()), "ok");
  EXPECT_EQ(sockaddr_port(got->source), 5000);
  EXPECT_EQ(sockaddr_v4_address(got->source), kPeerIp);
}

TEST_F(Ipv4Input, LinkPaddingIsTrimmed) {
  Bytes datagram = good("x");
  datagram.resize(46, std::byte{0xee});  // Ethernet minimum payload
  inject_ip(datagram);
  auto got = receive_bytes(*socket, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data.size(), 1u);
}

TEST_F(Ipv4Input, MalformedHeadersAreDroppedAndCounted) {
  Bytes truncated = good("x");
  truncated.resize(19);
  inject_ip(truncated);

  Bytes version = good("x");
  version[0] = std::byte{0x65};
  inject_ip(version);

  Bytes short_ihl = good("x");
  short_ihl[0] = std::byte{0x44};
  inject_ip(short_ihl);

  Bytes long_ihl = good("x");
  long_ihl[0] = std::byte{0x4f};  // 60 bytes of header in a 29-byte datagram
  inject_ip(long_ihl);

  Bytes long_total = good("x");
  store_be16(long_total.data() + 2, 200);
  store_be16(long_total.data() + 10, 0);
  store_be16(long_total.data() + 10, internet_checksum({long_total.data(), 20}));
  inject_ip(long_total);

  Bytes short_total = good("x");
  store_be16(short_total.data() + 2, 16);
  inject_ip(short_total);

  Bytes checksum = good("x");
  checksum[8] = std::byte{1};  // TTL changed, checksum not
  inject_ip(checksum);

  NetStatistics s = stack.statistics();
  EXPECT_EQ(s.ip_in_header_errors, 7u);
  EXPECT_EQ(s.ip_truncated, 1u);
  EXPECT_EQ(s.ip_bad_version, 1u);
  EXPECT_EQ(s.ip_bad_header_length, 2u);
  EXPECT_EQ(s.ip_bad_total_length, 2u);
  EXPECT_EQ(s.ip_bad_checksum, 1u);
  EXPECT_EQ(queued(), 0u);
  EXPECT_TRUE(nic.frames.empty());  // no ICMP about garbage
}

TEST_F(Ipv4Input, OptionsAreSkipped) {
  Bytes plain = good("opt");
  // Insert a 4-byte option (NOP NOP NOP EOL): IHL 6.
  Bytes with_options(plain.begin(), plain.begin() + 20);
  with_options.insert(with_options.end(), {std::byte{1}, std::byte{1}, std::byte{1}, std::byte{0}});
  with_options.insert(with_options.end(), plain.begin() + 20, plain.end());
  with_options[0] = std::byte{0x46};
  store_be16(with_options.data() + 2, static_cast<uint16_t>(with_options.size()));
  store_be16(with_options.data() + 10, 0);
  store_be16(with_options.data() + 10, internet_checksum({with_options.data(), 24}));
  inject_ip(with_options);
  auto got = receive_bytes(*socket, 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data.size(), 3u);
}

TEST_F(Ipv4Input, OtherHostsDatagramsAndMartiansAreDropped) {
  Ipv4Fields f{kPeerIp, Ipv4Address::from_octets(10, 0, 0, 50), 17, 1};
  inject_ip(ipv4_datagram(f, udp_segment(kPeerIp, f.destination, 5000, 7000, bytes_of("x"))));
  Ipv4Fields martian{Ipv4Address::from_octets(127, 0, 0, 1), kOurIp, 17, 1};
  inject_ip(ipv4_datagram(martian, udp_segment(martian.source, kOurIp, 5000, 7000, bytes_of("x"))));
  EXPECT_EQ(stack.statistics().ip_in_address_errors, 2u);
  EXPECT_EQ(queued(), 0u);
}

TEST_F(Ipv4Input, UnknownProtocolGetsProtocolUnreachable) {
  learn_peer();
  Ipv4Fields f{kPeerIp, kOurIp, 99, 1};
  inject_ip(ipv4_datagram(f, bytes_of("????????")));
  ASSERT_EQ(nic.frames.size(), 1u);
  const Bytes& reply = nic.frames[0];
  EXPECT_EQ(reply[14 + 9], std::byte{1});  // ICMP
  EXPECT_EQ(reply[14 + 20], std::byte{3});
  EXPECT_EQ(reply[14 + 21], std::byte{2});
  EXPECT_EQ(internet_checksum({reply.data() + 34, reply.size() - 34}), 0);
  EXPECT_EQ(stack.statistics().ip_in_unknown_protocols, 1u);
}

// --- reassembly through the stack ---

Bytes fragment_of(const Bytes& whole_payload, uint16_t offset, uint16_t length, bool more, uint16_t id = 42) {
  Ipv4Fields f{kPeerIp, kOurIp, 17, id};
  f.offset_bytes = offset;
  f.more_fragments = more;
  Bytes piece(whole_payload.begin() + offset, whole_payload.begin() + offset + length);
  return ipv4_datagram(f, piece);
}

TEST_F(Ipv4Input, FragmentsInOrderAndOutOfOrder) {
  Bytes text(3000);
  for (size_t i = 0; i < text.size(); i++) text[i] = std::byte(i * 7);
  Bytes udp = udp_segment(kPeerIp, kOurIp, 5000, 7000, text);  // 3008 bytes
  inject_ip(fragment_of(udp, 0, 1480, true));
  inject_ip(fragment_of(udp, 1480, 1480, true));
  EXPECT_EQ(queued(), 0u);
  inject_ip(fragment_of(udp, 2960, 48, false));
  auto got = receive_bytes(*socket, 4000);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data, text);

  // Reverse order, with a duplicate.
  inject_ip(fragment_of(udp, 2960, 48, false, 43));
  inject_ip(fragment_of(udp, 1480, 1480, true, 43));
  inject_ip(fragment_of(udp, 1480, 1480, true, 43));
  inject_ip(fragment_of(udp, 0, 1480, true, 43));
  got = receive_bytes(*socket, 4000);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data, text);
  NetStatistics s = stack.statistics();
  EXPECT_EQ(s.ip_reassembly_ok, 2u);
  EXPECT_EQ(s.ip_reassembly_failed, 0u);
}

TEST_F(Ipv4Input, OverlappingFragmentsDropTheDatagram) {
  Bytes udp = udp_segment(kPeerIp, kOurIp, 5000, 7000, Bytes(2000, std::byte{1}));
  inject_ip(fragment_of(udp, 0, 1000, true));
  inject_ip(fragment_of(udp, 992, 1016, false));  // overlaps the first by 8 bytes
  inject_ip(fragment_of(udp, 1000, 1008, false));  // would have completed it
  EXPECT_EQ(queued(), 0u);
  EXPECT_EQ(stack.statistics().ip_reassembly_failed, 1u);
}

TEST_F(Ipv4Input, IncompleteDatagramTimesOut) {
  Bytes udp = udp_segment(kPeerIp, kOurIp, 5000, 7000, Bytes(2000, std::byte{1}));
  inject_ip(fragment_of(udp, 0, 1000, true));
  uint64_t next = stack.poll();
  EXPECT_LE(next, env.now_ns() + 30 * kSecond);
  env.advance(29 * kSecond);
  stack.poll();
  EXPECT_EQ(stack.statistics().ip_reassembly_failed, 0u);
  env.advance(2 * kSecond);
  stack.poll();
  EXPECT_EQ(stack.statistics().ip_reassembly_failed, 1u);
  // The rest arriving now does not complete anything.
  inject_ip(fragment_of(udp, 1000, 1008, false));
  EXPECT_EQ(queued(), 0u);
}

TEST(Ipv4Reassembly, MemoryLimitEvictsOldest) {
  Ipv4Reassembly reassembly;
  reassembly.set_memory_limit(3000);
  Bytes payload(4000, std::byte{2});
  auto add = [&](uint16_t id, uint16_t offset, uint16_t length, bool more) {
    Bytes f = fragment_of(payload, offset, length, more, id);
    Ipv4Header header;
    EXPECT_EQ(ipv4_parse(f, header, true), Ipv4ParseResult::ok);
    return reassembly.add(make_packet(f), header, 1000);
  };
  EXPECT_EQ(add(1, 0, 1000, true), nullptr);
  EXPECT_EQ(add(2, 0, 1000, true), nullptr);
  EXPECT_EQ(reassembly.datagrams_held(), 2u);
  EXPECT_EQ(add(3, 0, 1000, true), nullptr);  // 3 x 1020 > 3000: the oldest goes
  EXPECT_EQ(reassembly.datagrams_held(), 2u);
  EXPECT_LE(reassembly.bytes_held(), 3000u);
  EXPECT_EQ(reassembly.statistics().memory_drops, 1u);
  // Datagram 1 is gone: its last piece does not complete it.
  EXPECT_EQ(add(1, 1000, 500, false), nullptr);
  Packet* whole = add(3, 1000, 8, false);
  ASSERT_NE(whole, nullptr);
  EXPECT_EQ(whole->length(), 20u + 1008u);
  Ipv4Header header;
  EXPECT_EQ(ipv4_parse(whole->bytes(), header, true), Ipv4ParseResult::ok);
  EXPECT_FALSE(header.is_fragment());
  Packet::free(whole);
}

TEST(Ipv4Reassembly, RejectsOversizeAndBadFragments) {
  Ipv4Reassembly reassembly;
  Bytes payload(70000, std::byte{3});
  auto add = [&](uint16_t offset, uint16_t length, bool more) {
    Bytes f = fragment_of(payload, offset, length, more, 9);
    Ipv4Header header;
    EXPECT_EQ(ipv4_parse(f, header, true), Ipv4ParseResult::ok);
    return reassembly.add(make_packet(f), header, 1000);
  };
  // "Ping of death": a fragment ending past 65535.
  EXPECT_EQ(add(65528, 100, false), nullptr);
  // A first piece with a 60-byte header and a last piece ending at 65512 with a 20-byte
  // one: each fits alone, the whole would be 65572 bytes.
  {
    Bytes first = fragment_of(payload, 0, 1000, true, 10);
    Bytes with_options(first.begin(), first.begin() + 20);
    with_options.insert(with_options.end(), 40, std::byte{1});  // NOPs
    with_options.insert(with_options.end(), first.begin() + 20, first.end());
    with_options[0] = std::byte{0x4f};
    store_be16(with_options.data() + 2, static_cast<uint16_t>(with_options.size()));
    store_be16(with_options.data() + 10, 0);
    store_be16(with_options.data() + 10, internet_checksum({with_options.data(), 60}));
    Ipv4Header header;
    ASSERT_EQ(ipv4_parse(with_options, header, true), Ipv4ParseResult::ok);
    EXPECT_EQ(reassembly.add(make_packet(with_options), header, 1000), nullptr);
    for (uint32_t offset = 1000; offset < 65512; offset += 8000) {
      uint16_t length = static_cast<uint16_t>(std::min<uint32_t>(8000, 65512 - offset));
      Bytes piece = fragment_of(payload, static_cast<uint16_t>(offset), length, offset + length < 65512, 10);
      ASSERT_EQ(ipv4_parse(piece, header, true), Ipv4ParseResult::ok);
      Packet* whole = reassembly.add(make_packet(piece), header, 1000);
      EXPECT_EQ(whole, nullptr);
      if (whole) Packet::free(whole);
    }
    EXPECT_EQ(reassembly.datagrams_held(), 0u);
  }
  // A middle fragment whose length is not a multiple of 8.
  EXPECT_EQ(add(0, 1001, true), nullptr);
  EXPECT_EQ(reassembly.datagrams_held(), 0u);
  EXPECT_EQ(reassembly.bytes_held(), 0u);
}

// --- ICMP ---

TEST_F(OneStack, EchoRequestIsAnswered) {
  learn_peer();
  Ipv4Fields f{kPeerIp, kOurIp, 1, 5};
  inject_ip(ipv4_datagram(f, icmp_echo(8, 0x1234, 7, bytes_of("ping data"))));
  ASSERT_EQ(nic.frames.size(), 1u);
  const Bytes& reply = nic.frames[0];
  EXPECT_EQ(load_be32(reply.data() + 14 + 16), kPeerIp.value);
  const std::byte* icmp = reply.data() + 34;
  EXPECT_EQ(icmp[0], std::byte{0});
  EXPECT_EQ(load_be16(icmp + 4), 0x1234);
  EXPECT_EQ(load_be16(icmp + 6), 7);
  EXPECT_EQ(internet_checksum({icmp, reply.size() - 34}), 0);
  // A broadcast echo is ignored (smurf protection).
  Ipv4Fields broadcast{kPeerIp, Ipv4Address{0xffffffff}, 1, 6};
  inject_ip(ipv4_datagram(broadcast, icmp_echo(8, 1, 1, {})));
  EXPECT_EQ(nic.frames.size(), 1u);
  // A bad ICMP checksum is counted, not answered.
  Bytes bad = icmp_echo(8, 1, 1, bytes_of("x"));
  bad[2] ^= std::byte{1};
  inject_ip(ipv4_datagram(f, bad));
  EXPECT_EQ(nic.frames.size(), 1u);
  EXPECT_EQ(stack.statistics().icmp_in_errors, 1u);
}

TEST_F(OneStack, IcmpErrorsAreRateLimited) {
  learn_peer();
  for (int i = 0; i < 200; i++) {
    Ipv4Fields f{kPeerIp, kOurIp, 17, static_cast<uint16_t>(i)};
    inject_ip(ipv4_datagram(f, udp_segment(kPeerIp, kOurIp, 5000, 7777, bytes_of("x"))));
  }
  NetStatistics s = stack.statistics();
  EXPECT_EQ(s.icmp_out_destination_unreachables, 50u);  // the burst
  EXPECT_EQ(s.icmp_out_rate_limited, 150u);
  env.advance(kSecond);
  Ipv4Fields f{kPeerIp, kOurIp, 17, 999};
  inject_ip(ipv4_datagram(f, udp_segment(kPeerIp, kOurIp, 5000, 7777, bytes_of("x"))));
  EXPECT_EQ(stack.statistics().icmp_out_destination_unreachables, 51u);
}

// --- two stacks ---

class TwoStacks : public ::testing::Test, protected TwoStackNetwork {};

TEST_F(TwoStacks, EchoRoundTrip) {
  for (uint16_t sequence = 1; sequence <= 3; sequence++) {
    Packet* request = make_packet(icmp_echo(8, 77, sequence, bytes_of("round trip")));
    ASSERT_TRUE(a.ip_output(request, {}, IpAddress::from_ipv4(address_b), 1, {}));
    network.run_for(kSecond / 10);
  }
  EXPECT_EQ(b.statistics().icmp_in_echos, 3u);
  EXPECT_EQ(b.statistics().icmp_out_echo_replies, 3u);
  EXPECT_EQ(a.statistics().icmp_in_echo_replies, 3u);
  // One ARP exchange served all three.
  EXPECT_EQ(a.statistics().arp_requests_sent, 1u + 1u /* the announcement */);
}

TEST_F(TwoStacks, LargeDatagramIsFragmentedAndReassembled) {
  Packet* request = make_packet(icmp_echo(8, 1, 1, Bytes(5000, std::byte{0x5a})));
  ASSERT_TRUE(a.ip_output(request, {}, IpAddress::from_ipv4(address_b), 1, {.dont_fragment = false}));
  network.run_for(kSecond / 10);
  EXPECT_EQ(a.statistics().ip_fragments_created, 4u);  // 5008 bytes in 1480-byte pieces
  EXPECT_EQ(b.statistics().ip_reassembly_ok, 1u);
  EXPECT_EQ(a.statistics().icmp_in_echo_replies, 1u);  // the reply came back in pieces too
  // With DF set it is refused.
  Packet* big = make_packet(Bytes(3000));
  EXPECT_EQ(a.ip_output(big, {}, IpAddress::from_ipv4(address_b), 1, {.dont_fragment = true}).error(), Errno::emsgsize);
}

TEST_F(TwoStacks, EchoToOurselvesGoesThroughLoopback) {
  Packet* request = make_packet(icmp_echo(8, 1, 1, bytes_of("self")));
  size_t frames = link.sent.size();
  ASSERT_TRUE(a.ip_output(request, {}, IpAddress::from_ipv4(address_a), 1, {}));
  network.run_for(kSecond / 10);
  EXPECT_EQ(a.statistics().icmp_in_echo_replies, 1u);
  EXPECT_EQ(link.sent.size(), frames);  // nothing on the wire
  Packet* to_lo = make_packet(icmp_echo(8, 1, 2, bytes_of("lo")));
  ASSERT_TRUE(a.ip_output(to_lo, {}, IpAddress::from_ipv4(Ipv4Address::from_octets(127, 0, 0, 1)), 1, {}));
  network.run_for(kSecond / 10);
  EXPECT_EQ(a.statistics().icmp_in_echo_replies, 2u);
}

TEST_F(TwoStacks, NoRouteIsReported) {
  Packet* packet = make_packet(Bytes(10));
  auto result = a.ip_output(packet, {}, IpAddress::from_ipv4(Ipv4Address::from_octets(8, 8, 8, 8)), 17, {});
  EXPECT_EQ(result.error(), Errno::enetunreach);
  ASSERT_TRUE(a.set_ipv4_gateway(Ipv4Address::from_octets(192, 168, 1, 1)));
  auto source = a.source_address_for(IpAddress::from_ipv4(Ipv4Address::from_octets(8, 8, 8, 8)));
  ASSERT_TRUE(source);
  EXPECT_EQ(source->ipv4(), address_a);
}

}  // namespace
}  // namespace nimbus::net::test

namespace nimbus::net::test {
namespace {

// RFC 1191: a "fragmentation needed" about a datagram we sent lowers the path MTU to that
// destination for ten minutes.
TEST_F(TwoStacks, FragmentationNeededLowersThePathMtu) {
  auto frag_needed = [&](uint16_t mtu, uint16_t original_length) {
    Ipv4Fields original{address_a, address_b, 17, 9};
    original.dont_fragment = true;
    Bytes quoted = ipv4_datagram(original, Bytes(original_length - 20));
    quoted.resize(28);
    Bytes message(8);
    message[0] = std::byte{3};
    message[1] = std::byte{4};
    store_be16(message.data() + 6, mtu);
    message.insert(message.end(), quoted.begin(), quoted.end());
    store_be16(message.data() + 2, internet_checksum(message));
    Ipv4Fields f{Ipv4Address::from_octets(192, 168, 1, 1), address_a, 1, 3};
    return ethernet_frame(link.end(0).mac(), link.end(1).mac(), kEtherTypeIpv4, ipv4_datagram(f, message));
  };
  IpAddress b_address = IpAddress::from_ipv4(address_b);
  EXPECT_EQ(a.path_mtu(b_address), 1480u);
  a.receive(ia, make_packet(frag_needed(1000, 1500)));
  EXPECT_EQ(a.path_mtu(b_address), 980u);
  // DF datagrams over the new MTU are refused; others are fragmented to it.
  EXPECT_EQ(a.ip_output(make_packet(Bytes(1200)), {}, b_address, 17, {.dont_fragment = true}).error(), Errno::emsgsize);
  size_t before = link.sent.size();
  ASSERT_TRUE(a.ip_output(make_packet(icmp_echo(8, 1, 1, Bytes(1192))), {}, b_address, 1, {.dont_fragment = false}));
  network.run_for(kSecond / 10);
  for (size_t i = before; i < link.sent.size(); i++)
    if (link.sent[i].from_side == 0) EXPECT_LE(link.sent[i].bytes.size(), 14u + 1000u);
  EXPECT_EQ(a.statistics().icmp_in_echo_replies, 1u);
  // An old router says 0: the plateau below the 1000-byte datagram is 508 (RFC 1191 7.1),
  a.receive(ia, make_packet(frag_needed(0, 1000)));
  // raised to Linux's floor of 552.
  EXPECT_EQ(a.path_mtu(b_address), 552u - 20u);
  // Forgotten after ten minutes.
  env.advance(601 * kSecond);
  EXPECT_EQ(a.path_mtu(b_address), 1480u);
}

}  // namespace
}  // namespace nimbus::net::test
