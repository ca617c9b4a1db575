// A seeded fuzzer over the receive path: random bytes and mutations of valid ARP, IPv4,
// ICMP, UDP and fragment frames go to receive() on an Ethernet interface and on loopback,
// with sockets bound and the clock moving so timers and reassembly expire. Passing means
// nothing crashed, leaked (under ASan) or over-read, and the stack still works afterwards.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "kernel/net/ethernet.h"
#include "kernel/net/socket_abi.h"
#include "kernel/net/loopback_device.h"
#include "kernel/net/udp.h"
#include "kernel/net/udp_socket.h"
#include "tests/unit/net/net_test_util.h"
#include "tests/unit/net/virtual_environment.h"

namespace nimbus::net::test {
namespace {

const MacAddress kOurMac = {0x02, 0, 0, 0, 0, 0xaa};
const MacAddress kPeerMac = {0x02, 0, 0, 0, 0, 0xbb};
const Ipv4Address kOurIp = Ipv4Address::from_octets(10, 0, 0, 1);
const Ipv4Address kPeerIp = Ipv4Address::from_octets(10, 0, 0, 2);

Bytes seed_frame(std::mt19937_64& random) {
  switch (random() % 7) {
    case 0:
      return ethernet_frame(kOurMac, kPeerMac, kEtherTypeArp,
                            arp_payload(1 + random() % 2, kPeerMac, kPeerIp, kOurMac, kOurIp));
    case 1: {
      Ipv4Fields f{kPeerIp, kOurIp, 17, static_cast<uint16_t>(random())};
      return ethernet_frame(kOurMac, kPeerMac, kEtherTypeIpv4,
                            ipv4_datagram(f, udp_segment(kPeerIp, kOurIp, 1000, 7000 + random() % 3, Bytes(random() % 64))));
    }
    case 2: {
      Ipv4Fields f{kPeerIp, kOurIp, 1, 1};
      return ethernet_frame(kOurMac, kPeerMac, kEtherTypeIpv4, ipv4_datagram(f, icmp_echo(8, 1, 1, Bytes(16))));
    }
    case 3: {
      // An ICMP error quoting a datagram of ours.
      Ipv4Fields quoted{kOurIp, kPeerIp, 17, 5};
      Bytes inner = ipv4_datagram(quoted, udp_segment(kOurIp, kPeerIp, 7000, 53, Bytes(4)));
      Bytes message(8);
      message[0] = std::byte{3};
      message[1] = std::byte(random() % 16);
      message.insert(message.end(), inner.begin(), inner.end());
      store_be16(message.data() + 2, internet_checksum(message));
      Ipv4Fields f{kPeerIp, kOurIp, 1, 2};
      return ethernet_frame(kOurMac, kPeerMac, kEtherTypeIpv4, ipv4_datagram(f, message));
    }
    case 4: {
      Ipv4Fields f{kPeerIp, kOurIp, 17, static_cast<uint16_t>(random() % 4)};
      f.more_fragments = random() % 2;
      f.offset_bytes = static_cast<uint16_t>((random() % 64) * 8);
      return ethernet_frame(kOurMac, kPeerMac, kEtherTypeIpv4, ipv4_datagram(f, Bytes(8 * (1 + random() % 20))));
    }
    case 5: {
      Bytes random_bytes(random() % 200);
      for (auto& b : random_bytes) b = std::byte(random());
      return random_bytes;
    }
    default: {
      Bytes payload(random() % 120);
      for (auto& b : payload) b = std::byte(random());
      return ethernet_frame(kOurMac, kPeerMac, random() % 2 ? kEtherTypeIpv4 : kEtherTypeArp, payload);
    }
  }
}

void mutate(Bytes& frame, std::mt19937_64& random) {
  int mutations = random() % 4;
  for (int i = 0; i < mutations && !frame.empty(); i++) {
    switch (random() % 4) {
      case 0: frame[random() % frame.size()] = std::byte(random()); break;
      case 1: frame.resize(random() % (frame.size() + 1)); break;
      case 2: frame.push_back(std::byte(random())); break;
      default: {
        // Lengths and offsets are the interesting fields: hit the IPv4 header's.
        size_t at = 14 + random() % 20;
        if (at < frame.size()) frame[at] = std::byte(random() % 2 ? 0xff : 0x00);
      }
    }
  }
}

TEST(Fuzz, ReceivePathSurvivesGarbage) {
  VirtualEnvironment env(99);
  NetStack stack(env);
  LoopbackDevice lo(stack);
  uint32_t lo_index = *LoopbackDevice::attach(stack, lo);
  MockDevice nic(kOurMac);
  uint32_t index = *stack.add_interface(nic);
  ASSERT_TRUE(stack.set_ipv4_address(index, {kOurIp, 24}));
  std::vector<RefPtr<Socket>> sockets;
  for (uint16_t port = 7000; port < 7003; port++) {
    auto s = *stack.udp().create_socket(port == 7002 ? abi::af_inet6 : abi::af_inet);
    ASSERT_TRUE(s->bind(port == 7002 ? sockaddr_v6_mapped({}, port, true) : sockaddr_v4({}, port)));
    sockets.push_back(s);
  }
  auto connected = *stack.udp().create_socket(abi::af_inet);
  ASSERT_TRUE(connected->bind(sockaddr_v4({}, 7003)));
  ASSERT_TRUE(connected->connect(sockaddr_v4(kPeerIp, 53), false));
  sockets.push_back(connected);

  // NIMBUS_NET_FUZZ_ITERATIONS / NIMBUS_NET_FUZZ_SEED: longer or different runs (a
  // benchmark script can ask for tens of millions); the default is about a second.
  const char* iterations_text = std::getenv("NIMBUS_NET_FUZZ_ITERATIONS");
  const char* seed_text = std::getenv("NIMBUS_NET_FUZZ_SEED");
  long iterations = iterations_text ? std::atol(iterations_text) : 500000;
  std::mt19937_64 random(seed_text ? std::strtoull(seed_text, nullptr, 10) : 20261207);
  for (long i = 0; i < iterations; i++) {
    Bytes frame = seed_frame(random);
    mutate(frame, random);
    if (random() % 8 == 0 && frame.size() > 14) {
      // Loopback frames have no Ethernet header.
      Bytes datagram(frame.begin() + 14, frame.end());
      stack.receive(lo_index, make_packet(datagram));
    } else {
      stack.receive(index, make_packet(frame));
    }
    if (i % 64 == 0) {
      env.advance((random() % 5000) * 1'000'000ull);
      stack.poll();
      for (auto& s : sockets)
        while (receive_bytes(*s, 2000)) {
        }
      (void)connected->take_error();
      nic.frames.clear();
      nic.offloads.clear();
    }
  }
  NetStatistics s = stack.statistics();
  EXPECT_GT(s.ip_in_header_errors, 0u);
  EXPECT_GT(s.ip_in_delivers, 0u);
  EXPECT_GT(s.arp_requests_received, 0u);

  // Still working: a clean datagram gets through (after what the last rounds queued).
  stack.poll();
  for (auto& socket : sockets)
    while (receive_bytes(*socket, 2000)) {
    }
  Ipv4Fields f{kPeerIp, kOurIp, 17, 4242};
  stack.receive(index, make_packet(ethernet_frame(kOurMac, kPeerMac, kEtherTypeIpv4,
                                                  ipv4_datagram(f, udp_segment(kPeerIp, kOurIp, 1, 7000, bytes_of("alive"))))));
  auto got = receive_bytes(*sockets[0], 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data, bytes_of("alive"));
  for (auto& socket : sockets) static_cast<UdpSocket*>(socket.get())->close();
}

}  // namespace
}  // namespace nimbus::net::test
