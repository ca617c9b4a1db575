// NetStack's own machinery: interfaces and addresses, routing choices, the timer list and
// the deferred queue run by poll(), checksum offload on output, and the snapshots.
#include <gtest/gtest.h>

#include "kernel/net/ethernet.h"
#include "kernel/net/loopback_device.h"
#include "tests/unit/net/net_test_util.h"
#include "tests/unit/net/virtual_environment.h"

namespace nimbus::net::test {
namespace {

constexpr uint64_t kMs = 1'000'000ull;

struct Recorder {
  std::vector<int> fired;
};
struct TestTimer {
  NetTimer timer;
  Recorder* recorder;
  int id;
};
void record(NetTimer& timer) {
  auto* t = static_cast<TestTimer*>(timer.context);
  t->recorder->fired.push_back(t->id);
}

TEST(NetStackCore, TimersFireInDeadlineOrder) {
  VirtualEnvironment env;
  NetStack stack(env);
  Recorder recorder;
  TestTimer timers[4];
  for (int i = 0; i < 4; i++) {
    timers[i] = {{}, &recorder, i};
    timers[i].timer.callback = record;
    timers[i].timer.context = &timers[i];
  }
  uint64_t t0 = env.now_ns();
  env.take_poll_requests();
  stack.arm_timer(timers[0].timer, t0 + 30 * kMs);
  EXPECT_EQ(env.take_poll_requests(), 1u);  // the earliest: the worker must know
  stack.arm_timer(timers[1].timer, t0 + 10 * kMs);
  EXPECT_EQ(env.take_poll_requests(), 1u);
  stack.arm_timer(timers[2].timer, t0 + 20 * kMs);
  EXPECT_EQ(env.take_poll_requests(), 0u);  // not the earliest: no need
  stack.arm_timer(timers[3].timer, t0 + 40 * kMs);
  stack.disarm_timer(timers[3].timer);
  EXPECT_FALSE(timers[3].timer.armed());
  EXPECT_EQ(stack.poll(), t0 + 10 * kMs);
  env.advance(25 * kMs);
  EXPECT_EQ(stack.poll(), t0 + 30 * kMs);
  EXPECT_EQ(recorder.fired, (std::vector<int>{1, 2}));
  // Re-arming moves a timer.
  stack.arm_timer(timers[0].timer, t0 + 100 * kMs);
  env.advance(10 * kMs);
  stack.poll();
  EXPECT_EQ(recorder.fired.size(), 2u);
  env.advance(100 * kMs);
  EXPECT_EQ(stack.poll(), kNoTimer);
  EXPECT_EQ(recorder.fired, (std::vector<int>{1, 2, 0}));
}

TEST(NetStackCore, InterfacesAddressesAndSnapshots) {
  VirtualEnvironment env;
  NetStack stack(env);
  LoopbackDevice lo(stack);
  MockDevice eth0({0x02, 0, 0, 0, 0, 1});
  EXPECT_EQ(*LoopbackDevice::attach(stack, lo), 1u);
  EXPECT_EQ(*stack.add_interface(eth0), 2u);
  EXPECT_EQ(stack.interface_count(), 2u);
  EXPECT_EQ(stack.device(2), &eth0);
  EXPECT_EQ(stack.device(3), nullptr);
  EXPECT_EQ(stack.ipv4_address(2).error(), Errno::enoent);
  EXPECT_EQ(stack.set_ipv4_address(9, {}).error(), Errno::enodev);
  EXPECT_EQ(stack.set_ipv4_address(2, {{}, 33}).error(), Errno::einval);
  ASSERT_TRUE(stack.set_ipv4_address(2, {Ipv4Address::from_octets(10, 1, 2, 3), 16}));
  auto snapshot = stack.interface_snapshot(2);
  ASSERT_TRUE(snapshot);
  EXPECT_STREQ(snapshot->name, "eth0");
  EXPECT_EQ(snapshot->ipv4_prefix_length, 16);
  EXPECT_EQ(snapshot->mtu, 1500u);
  auto lo_snapshot = stack.interface_snapshot(1);
  EXPECT_STREQ(lo_snapshot->name, "lo");
  EXPECT_TRUE(lo_snapshot->features.loopback);
  EXPECT_EQ(lo_snapshot->ipv4_address, Ipv4Address::from_octets(127, 0, 0, 1));

  EXPECT_TRUE(stack.is_local_address(IpAddress::from_ipv4(Ipv4Address::from_octets(10, 1, 2, 3))));
  EXPECT_TRUE(stack.is_local_address(IpAddress::from_ipv4(Ipv4Address::from_octets(127, 5, 5, 5))));
  EXPECT_FALSE(stack.is_local_address(IpAddress::from_ipv4(Ipv4Address::from_octets(10, 1, 2, 4))));
  EXPECT_EQ(stack.source_address_for(IpAddress::from_ipv4(Ipv4Address::from_octets(10, 1, 200, 1)))->ipv4(),
            Ipv4Address::from_octets(10, 1, 2, 3));
  EXPECT_EQ(stack.source_address_for(IpAddress::from_ipv4(Ipv4Address::from_octets(127, 0, 0, 9)))->ipv4(),
            Ipv4Address::from_octets(127, 0, 0, 1));
  EXPECT_EQ(stack.path_mtu(IpAddress::from_ipv4(Ipv4Address::from_octets(10, 1, 0, 1))), 1480u);
  EXPECT_EQ(stack.path_mtu(IpAddress::from_ipv4(Ipv4Address::from_octets(127, 0, 0, 1))), 65536u - 20u);

  ASSERT_TRUE(stack.clear_ipv4_address(2));
  EXPECT_FALSE(stack.is_local_address(IpAddress::from_ipv4(Ipv4Address::from_octets(10, 1, 2, 3))));
  EXPECT_EQ(stack.source_address_for(IpAddress::from_ipv4(Ipv4Address::from_octets(10, 1, 200, 1))).error(),
            Errno::enetunreach);
}

TEST(NetStackCore, LongestPrefixAndGatewayRoutes) {
  VirtualEnvironment env;
  NetStack stack(env);
  MockDevice wide({0x02, 0, 0, 0, 0, 1}), narrow({0x02, 0, 0, 0, 0, 2});
  uint32_t w = *stack.add_interface(wide);
  uint32_t n = *stack.add_interface(narrow);
  ASSERT_TRUE(stack.set_ipv4_address(w, {Ipv4Address::from_octets(10, 0, 0, 1), 8}));
  ASSERT_TRUE(stack.set_ipv4_address(n, {Ipv4Address::from_octets(10, 5, 0, 1), 16}));
  EXPECT_EQ(stack.source_address_for(IpAddress::from_ipv4(Ipv4Address::from_octets(10, 5, 9, 9)))->ipv4(),
            Ipv4Address::from_octets(10, 5, 0, 1));
  EXPECT_EQ(stack.source_address_for(IpAddress::from_ipv4(Ipv4Address::from_octets(10, 6, 9, 9)))->ipv4(),
            Ipv4Address::from_octets(10, 0, 0, 1));
  ASSERT_TRUE(stack.set_ipv4_gateway(Ipv4Address::from_octets(10, 5, 0, 254)));
  EXPECT_EQ(stack.source_address_for(IpAddress::from_ipv4(Ipv4Address::from_octets(1, 2, 3, 4)))->ipv4(),
            Ipv4Address::from_octets(10, 5, 0, 1));
  // Off-link traffic goes to the gateway's MAC: the ARP request asks for the gateway.
  narrow.frames.clear();
  ASSERT_TRUE(stack.ip_output(make_packet(Bytes(8)), {}, IpAddress::from_ipv4(Ipv4Address::from_octets(1, 2, 3, 4)),
                              17, {}));
  ASSERT_EQ(narrow.frames.size(), 1u);
  EXPECT_EQ(load_be32(narrow.frames[0].data() + 14 + 24), Ipv4Address::from_octets(10, 5, 0, 254).value);
}

TEST(NetStackCore, ChecksumOffloadOnOutput) {
  VirtualEnvironment env;
  NetStack stack(env);
  MockDevice offloading({0x02, 0, 0, 0, 0, 1});
  offloading.m_features.tx_checksum = true;
  uint32_t index = *stack.add_interface(offloading);
  ASSERT_TRUE(stack.set_ipv4_address(index, {Ipv4Address::from_octets(10, 0, 0, 1), 24}));
  Ipv4Address peer = Ipv4Address::from_octets(10, 0, 0, 2);
  stack.receive(index, make_packet(ethernet_frame({0x02, 0, 0, 0, 0, 1}, {0x02, 0, 0, 0, 0, 9}, kEtherTypeArp,
                                                  arp_payload(2, {0x02, 0, 0, 0, 0, 9}, peer, {0x02, 0, 0, 0, 0, 1},
                                                              Ipv4Address::from_octets(10, 0, 0, 1)))));
  // A TCP-like segment: the checksum field at offset 16 holds the pseudo-header sum.
  auto segment = [&] {
    Bytes tcp(24, std::byte{0x11});
    uint32_t sum = pseudo_header_sum_ipv4(Ipv4Address::from_octets(10, 0, 0, 1), peer, 6, 24);
    store_be16(tcp.data() + 16, static_cast<uint16_t>(sum));
    Packet* packet = make_packet(tcp);
    packet->offload.checksum_needed = true;
    packet->offload.checksum_start = 0;
    packet->offload.checksum_offset = 16;
    return packet;
  };
  offloading.frames.clear();
  offloading.offloads.clear();
  IpSendOptions options;
  options.checksum_offloaded = true;
  ASSERT_TRUE(stack.ip_output(segment(), {}, IpAddress::from_ipv4(peer), 6, options));
  ASSERT_EQ(offloading.offloads.size(), offloading.frames.size());
  PacketOffload left = offloading.offloads.back();
  EXPECT_TRUE(left.checksum_needed);
  EXPECT_EQ(left.checksum_start, 14 + 20);  // from the start of the frame
  EXPECT_EQ(left.checksum_offset, 16);

  // A device without offload: the stack finishes the checksum itself.
  MockDevice plain({0x02, 0, 0, 0, 0, 3});
  NetStack other(env);
  uint32_t plain_index = *other.add_interface(plain);
  ASSERT_TRUE(other.set_ipv4_address(plain_index, {Ipv4Address::from_octets(10, 0, 0, 1), 24}));
  other.receive(plain_index, make_packet(ethernet_frame({0x02, 0, 0, 0, 0, 3}, {0x02, 0, 0, 0, 0, 9}, kEtherTypeArp,
                                                        arp_payload(2, {0x02, 0, 0, 0, 0, 9}, peer, {0x02, 0, 0, 0, 0, 3},
                                                                    Ipv4Address::from_octets(10, 0, 0, 1)))));
  plain.frames.clear();
  plain.offloads.clear();
  ASSERT_TRUE(other.ip_output(segment(), {}, IpAddress::from_ipv4(peer), 6, options));
  ASSERT_EQ(plain.frames.size(), 1u);
  EXPECT_FALSE(plain.offloads[0].checksum_needed);
  const Bytes& frame = plain.frames[0];
  uint32_t sum = pseudo_header_sum_ipv4(Ipv4Address::from_octets(10, 0, 0, 1), peer, 6, 24);
  EXPECT_EQ(checksum_finish(checksum_add(sum, {frame.data() + 34, 24})), 0);
}

TEST(NetStackCore, DeferredFramesWaitForPoll) {
  VirtualEnvironment env;
  NetStack stack(env);
  LoopbackDevice lo(stack);
  ASSERT_TRUE(LoopbackDevice::attach(stack, lo));
  env.take_poll_requests();
  Packet* echo = make_packet(icmp_echo(8, 1, 1, bytes_of("x")));
  ASSERT_TRUE(stack.ip_output(echo, {}, IpAddress::from_ipv4(Ipv4Address::from_octets(127, 0, 0, 1)), 1, {}));
  EXPECT_EQ(env.take_poll_requests(), 1u);
  EXPECT_EQ(stack.statistics().icmp_in_echos, 0u);
  EXPECT_EQ(stack.poll(), env.now_ns());  // the reply is deferred in turn: come back now
  EXPECT_EQ(stack.statistics().icmp_in_echos, 1u);
  stack.poll();
  EXPECT_EQ(stack.statistics().icmp_in_echo_replies, 1u);
  EXPECT_EQ(lo.statistics().tx_packets, 2u);
}

}  // namespace
}  // namespace nimbus::net::test
