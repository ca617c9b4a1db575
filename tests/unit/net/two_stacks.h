// TwoStackNetwork: two stacks, each with its loopback device, joined by a simulated link on
// 192.168.1.0/24 (a is .10, b is .20) and run on one virtual clock: the set-up of the tests
// that talk between stacks.
#pragma once

#include <gtest/gtest.h>

#include "kernel/net/loopback_device.h"
#include "kernel/net/net_stack.h"
#include "tests/unit/net/simulated_link.h"
#include "tests/unit/net/virtual_environment.h"

namespace nimbus::net::test {

struct TwoStackNetwork {
  explicit TwoStackNetwork(LinkConditions conditions = {})
      : a(env), b(env), link(env, conditions), network(env), lo_a(a), lo_b(b) {
    EXPECT_TRUE(LoopbackDevice::attach(a, lo_a));
    EXPECT_TRUE(LoopbackDevice::attach(b, lo_b));
    ia = *a.add_interface(link.end(0));
    ib = *b.add_interface(link.end(1));
    link.attach(0, a, ia);
    link.attach(1, b, ib);
    EXPECT_TRUE(a.set_ipv4_address(ia, {address_a, 24}));
    EXPECT_TRUE(b.set_ipv4_address(ib, {address_b, 24}));
    network.add_stack(a);
    network.add_stack(b);
    network.add_link(link);
    network.run_for(10'000'000);  // 10 ms: the addresses' gratuitous ARPs settle
  }

  const Ipv4Address address_a = Ipv4Address::from_octets(192, 168, 1, 10);
  const Ipv4Address address_b = Ipv4Address::from_octets(192, 168, 1, 20);
  VirtualEnvironment env;
  NetStack a, b;
  SimulatedLink link;
  SimulatedNetwork network;
  LoopbackDevice lo_a, lo_b;
  uint32_t ia = 0, ib = 0;
};

}  // namespace nimbus::net::test
