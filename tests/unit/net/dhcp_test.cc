// The DHCP client against a scripted server: the whole exchange, what is applied to the
// stack, retransmission back-off, renewal, rebinding, expiry and NAK.
#include <gtest/gtest.h>

#include <optional>

#include "kernel/net/dhcp_client.h"
#include "kernel/net/ethernet.h"
#include "tests/unit/net/net_test_util.h"
#include "tests/unit/net/virtual_environment.h"

namespace nimbus::net::test {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;
const MacAddress kClientMac = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
const MacAddress kServerMac = {0x52, 0x55, 0x0a, 0, 0x02, 0x02};
const Ipv4Address kServer = Ipv4Address::from_octets(10, 0, 2, 2);
const Ipv4Address kOffered = Ipv4Address::from_octets(10, 0, 2, 15);

// What the client sent, decoded.
struct ClientMessage {
  MacAddress destination_mac;
  Ipv4Address source, destination;
  uint32_t xid = 0;
  uint16_t flags = 0;
  Ipv4Address client_address;
  uint8_t type = 0;
  std::optional<Ipv4Address> requested, server_id;
};

std::optional<ClientMessage> decode(const Bytes& frame) {
  if (frame.size() < 14 + 20 + 8 + 240 || load_be16(frame.data() + 12) != kEtherTypeIpv4) return std::nullopt;
  const std::byte* ip = frame.data() + 14;
  if (ip[9] != std::byte{17}) return std::nullopt;
  const std::byte* udp = ip + 20;
  if (load_be16(udp) != 68 || load_be16(udp + 2) != 67) return std::nullopt;
  // The UDP checksum is right.
  uint16_t length = load_be16(udp + 4);
  EXPECT_EQ(checksum_finish(checksum_add(pseudo_header_sum_ipv4({load_be32(ip + 12)}, {load_be32(ip + 16)}, 17, length),
                                         {udp, length})),
            0);
  const std::byte* m = udp + 8;
  ClientMessage out;
  std::memcpy(out.destination_mac.data(), frame.data(), 6);
  out.source = {load_be32(ip + 12)};
  out.destination = {load_be32(ip + 16)};
  EXPECT_EQ(m[0], std::byte{1});
  EXPECT_EQ(std::memcmp(m + 28, kClientMac.data(), 6), 0);
  EXPECT_EQ(load_be32(m + 236), 0x63825363u);
  out.xid = load_be32(m + 4);
  out.flags = load_be16(m + 10);
  out.client_address = {load_be32(m + 12)};
  for (size_t at = 240; at < length - 8u;) {
    uint8_t code = uint8_t(m[at]);
    if (code == 0) {
      at++;
      continue;
    }
    if (code == 255) break;
    uint8_t n = uint8_t(m[at + 1]);
    if (code == 53) out.type = uint8_t(m[at + 2]);
    if (code == 50) out.requested = Ipv4Address{load_be32(m + at + 2)};
    if (code == 54) out.server_id = Ipv4Address{load_be32(m + at + 2)};
    at += 2 + n;
  }
  return out;
}

struct ServerReply {
  uint8_t type;
  uint32_t xid;
  Ipv4Address your_address = kOffered;
  uint32_t lease_seconds = 3600;
  bool with_options = true;
  Ipv4Address destination{0xffffffff};
};

Bytes reply_frame(const ServerReply& r) {
  Bytes m(240);
  m[0] = std::byte{2};
  m[1] = std::byte{1};
  m[2] = std::byte{6};
  store_be32(m.data() + 4, r.xid);
  store_be32(m.data() + 16, r.your_address.value);
  store_be32(m.data() + 20, kServer.value);
  std::memcpy(m.data() + 28, kClientMac.data(), 6);
  store_be32(m.data() + 236, 0x63825363);
  auto option = [&](uint8_t code, const Bytes& data) {
    m.push_back(std::byte{code});
    m.push_back(std::byte(data.size()));
    m.insert(m.end(), data.begin(), data.end());
  };
  auto address = [](Ipv4Address a) {
    Bytes b(4);
    store_be32(b.data(), a.value);
    return b;
  };
  option(53, {std::byte{r.type}});
  option(54, address(kServer));
  if (r.with_options) {
    option(1, address(Ipv4Address::from_octets(255, 255, 255, 0)));
    option(3, address(kServer));
    Bytes dns = address(Ipv4Address::from_octets(10, 0, 2, 3));
    Bytes second = address(Ipv4Address::from_octets(1, 1, 1, 1));
    dns.insert(dns.end(), second.begin(), second.end());
    option(6, dns);
    option(15, bytes_of("example.internal"));
    option(12, bytes_of("nimbus-vm"));
    Bytes lease(4);
    store_be32(lease.data(), r.lease_seconds);
    option(51, lease);
  }
  m.push_back(std::byte{0});  // a pad before the end
  m.push_back(std::byte{255});
  Ipv4Fields f{kServer, r.destination, 17, 1};
  return ethernet_frame(kBroadcastMac, kServerMac, kEtherTypeIpv4, ipv4_datagram(f, udp_segment(kServer, r.destination, 67, 68, m)));
}

class Dhcp : public ::testing::Test {
 protected:
  Dhcp() : stack(env), nic(kClientMac) {
    index = *stack.add_interface(nic);
    client = std::make_unique<DhcpClient>(stack, index);
    client->set_listener(
        [](void* context, const DhcpLease& lease, bool bound) {
          auto* self = static_cast<Dhcp*>(context);
          self->events.push_back({lease, bound});
        },
        this);
  }
  ~Dhcp() override { client.reset(); }
  // The client's DHCP messages sent since the last call.
  std::vector<ClientMessage> take_messages() {
    std::vector<ClientMessage> out;
    for (const Bytes& frame : nic.frames)
      if (auto message = decode(frame)) out.push_back(*message);
    nic.frames.clear();
    return out;
  }
  void inject(const Bytes& frame) { stack.receive(index, make_packet(frame)); }
  void advance_to(uint64_t when) {
    while (env.now_ns() < when) {
      uint64_t next = stack.poll();
      uint64_t step = std::min(next, when);
      if (step <= env.now_ns()) step = env.now_ns() + 1;
      env.set_now(std::min(step, when));
    }
    stack.poll();
  }
  void answer_arp_for_server() {
    inject(ethernet_frame(kClientMac, kServerMac, kEtherTypeArp, arp_payload(2, kServerMac, kServer, kClientMac, kOffered)));
  }
  // DISCOVER -> OFFER -> REQUEST -> ACK.
  uint32_t bind() {
    EXPECT_TRUE(client->start());
    auto sent = take_messages();
    EXPECT_EQ(sent.size(), 1u);
    uint32_t xid = sent[0].xid;
    inject(reply_frame({2, xid}));
    sent = take_messages();
    EXPECT_EQ(sent.size(), 1u);
    inject(reply_frame({5, xid}));
    return xid;
  }

  struct Event {
    DhcpLease lease;
    bool bound;
  };
  VirtualEnvironment env;
  NetStack stack;
  MockDevice nic;
  uint32_t index = 0;
  std::unique_ptr<DhcpClient> client;
  std::vector<Event> events;
};

TEST_F(Dhcp, FullExchangeAppliesTheLease) {
  ASSERT_TRUE(client->start());
  auto sent = take_messages();
  ASSERT_EQ(sent.size(), 1u);
  const ClientMessage discover = sent[0];
  EXPECT_EQ(discover.type, 1);
  EXPECT_EQ(discover.source, Ipv4Address{});
  EXPECT_EQ(discover.destination, Ipv4Address{0xffffffff});
  EXPECT_EQ(discover.destination_mac, kBroadcastMac);
  EXPECT_EQ(discover.flags, 0x8000);
  EXPECT_EQ(client->state(), DhcpClient::State::selecting);

  // A reply with another transaction id is ignored.
  inject(reply_frame({2, discover.xid + 1}));
  EXPECT_TRUE(take_messages().empty());

  inject(reply_frame({2, discover.xid}));
  sent = take_messages();
  ASSERT_EQ(sent.size(), 1u);
  const ClientMessage request = sent[0];
  EXPECT_EQ(request.type, 3);
  EXPECT_EQ(request.xid, discover.xid);
  ASSERT_TRUE(request.requested && request.server_id);
  EXPECT_EQ(*request.requested, kOffered);
  EXPECT_EQ(*request.server_id, kServer);
  EXPECT_EQ(request.source, Ipv4Address{});
  EXPECT_EQ(client->state(), DhcpClient::State::requesting);

  inject(reply_frame({5, discover.xid}));
  EXPECT_EQ(client->state(), DhcpClient::State::bound);
  ASSERT_TRUE(client->has_lease());
  DhcpLease lease = client->lease();
  EXPECT_EQ(lease.address, kOffered);
  EXPECT_EQ(lease.prefix_length, 24);
  EXPECT_EQ(lease.router, kServer);
  EXPECT_EQ(lease.server, kServer);
  ASSERT_EQ(lease.dns_server_count, 2u);
  EXPECT_EQ(lease.dns_servers[0], Ipv4Address::from_octets(10, 0, 2, 3));
  EXPECT_EQ(lease.dns_servers[1], Ipv4Address::from_octets(1, 1, 1, 1));
  EXPECT_STREQ(lease.domain_name, "example.internal");
  EXPECT_STREQ(lease.host_name, "nimbus-vm");
  EXPECT_EQ(lease.lease_seconds, 3600u);
  EXPECT_EQ(lease.renewal_seconds, 1800u);
  EXPECT_EQ(lease.rebinding_seconds, 3150u);
  // Applied to the stack.
  auto address = stack.ipv4_address(index);
  ASSERT_TRUE(address);
  EXPECT_EQ(address->address, kOffered);
  EXPECT_EQ(address->prefix_length, 24);
  EXPECT_EQ(stack.ipv4_gateway(), kServer);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].bound);
  EXPECT_EQ(events[0].lease.address, kOffered);
}

TEST_F(Dhcp, DiscoverBacksOffExponentially) {
  ASSERT_TRUE(client->start());
  take_messages();
  // Step 100 ms at a time and note when each DISCOVER leaves.
  std::vector<uint64_t> times{env.now_ns()};
  uint64_t end = env.now_ns() + 200 * kSecond;
  while (env.now_ns() < end) {
    advance_to(env.now_ns() + kSecond / 10);
    for (const ClientMessage& message : take_messages()) {
      EXPECT_EQ(message.type, 1);
      times.push_back(env.now_ns());
    }
  }
  // RFC 2131 4.1: 4, 8, 16, 32, 64, 64... s apart, each randomized by up to 1 s.
  ASSERT_GE(times.size(), 6u);
  for (size_t i = 1; i < times.size(); i++) {
    uint64_t expected = std::min<uint64_t>(4 * kSecond << (i - 1 < 4 ? i - 1 : 4), 64 * kSecond);
    uint64_t gap = times[i] - times[i - 1];
    EXPECT_GE(gap + kSecond / 10, expected - kSecond) << "retransmission " << i;
    EXPECT_LE(gap, expected + kSecond + kSecond / 10) << "retransmission " << i;
  }
}

TEST_F(Dhcp, RenewsAtT1WithTheServer) {
  uint32_t xid = bind();
  nic.frames.clear();
  uint64_t bound_at = env.now_ns();
  advance_to(bound_at + 1799 * kSecond);
  EXPECT_TRUE(take_messages().empty());
  advance_to(bound_at + 1800 * kSecond);
  // Unicast to the server: an ARP request first, then the REQUEST once answered.
  answer_arp_for_server();
  auto sent = take_messages();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, 3);
  EXPECT_EQ(sent[0].destination, kServer);
  EXPECT_EQ(sent[0].source, kOffered);
  EXPECT_EQ(sent[0].client_address, kOffered);
  EXPECT_FALSE(sent[0].requested);  // RFC 2131 table 5: not in RENEWING
  EXPECT_EQ(sent[0].destination_mac, kServerMac);
  EXPECT_EQ(client->state(), DhcpClient::State::renewing);
  inject(reply_frame({5, xid, kOffered, 7200, true, kOffered}));
  EXPECT_EQ(client->state(), DhcpClient::State::bound);
  EXPECT_EQ(client->lease().lease_seconds, 7200u);
  EXPECT_EQ(events.size(), 2u);
  EXPECT_EQ(stack.ipv4_address(index)->address, kOffered);
}

TEST_F(Dhcp, RebindsThenLosesTheLease) {
  bind();
  uint64_t bound_at = env.now_ns();
  answer_arp_for_server();
  advance_to(bound_at + 3150 * kSecond);
  EXPECT_EQ(client->state(), DhcpClient::State::rebinding);
  auto sent = take_messages();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().destination, Ipv4Address{0xffffffff});
  EXPECT_EQ(sent.back().client_address, kOffered);
  advance_to(bound_at + 3600 * kSecond + kSecond);
  // Expired: the address is gone and discovery starts over.
  EXPECT_EQ(client->state(), DhcpClient::State::selecting);
  EXPECT_FALSE(client->has_lease());
  EXPECT_FALSE(stack.ipv4_address(index));
  EXPECT_EQ(stack.ipv4_gateway(), Ipv4Address{});
  sent = take_messages();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().type, 1);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_FALSE(events[1].bound);
}

TEST_F(Dhcp, NakStartsOver) {
  ASSERT_TRUE(client->start());
  uint32_t xid = take_messages()[0].xid;
  inject(reply_frame({2, xid}));
  take_messages();
  inject(reply_frame({6, xid, {}, 0, false}));
  EXPECT_EQ(client->state(), DhcpClient::State::selecting);
  auto sent = take_messages();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, 1);
  EXPECT_NE(sent[0].xid, xid);  // a new transaction
}

TEST_F(Dhcp, MalformedRepliesAreIgnored) {
  ASSERT_TRUE(client->start());
  uint32_t xid = take_messages()[0].xid;
  Bytes frame = reply_frame({2, xid});
  // An option whose length runs past the end: the offer is still read up to there, or
  // dropped, never over-read (ASan would say).
  for (size_t cut = 14 + 20 + 8; cut < frame.size(); cut += 7) {
    Bytes truncated(frame.begin(), frame.begin() + cut);
    // Keep the IP and UDP lengths consistent with the cut so the datagram gets through.
    store_be16(truncated.data() + 14 + 2, static_cast<uint16_t>(cut - 14));
    store_be16(truncated.data() + 14 + 10, 0);
    store_be16(truncated.data() + 14 + 10, internet_checksum({truncated.data() + 14, 20}));
    store_be16(truncated.data() + 34 + 4, static_cast<uint16_t>(cut - 34));
    store_be16(truncated.data() + 34 + 6, 0);
    inject(truncated);
  }
  EXPECT_EQ(client->state(), DhcpClient::State::selecting);
  inject(frame);
  EXPECT_EQ(client->state(), DhcpClient::State::requesting);
}

}  // namespace
}  // namespace nimbus::net::test
