// SimulatedLink: an Ethernet cable between two NetStacks for host tests, with seeded loss,
// duplication, reordering and latency; SimulatedNetwork: the event loop that moves a
// shared virtual clock, polls the stacks and delivers frames, so protocol timers and
// retransmissions run as they would on a real machine, only deterministically.
//
// Typical use:
//   VirtualEnvironment env;
//   NetStack a(env), b(env);
//   SimulatedLink link(env, {.loss = 0.05, .seed = 7});
//   uint32_t ia = *a.add_interface(link.end(0));   // end(0) is a NetDevice
//   uint32_t ib = *b.add_interface(link.end(1));
//   link.attach(0, a, ia);
//   link.attach(1, b, ib);
//   SimulatedNetwork net(env);
//   net.add_stack(a); net.add_stack(b); net.add_link(link);
//   net.run_for(2'000'000'000);                    // two virtual seconds
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <vector>

#include "kernel/net/net_device.h"
#include "kernel/net/net_stack.h"
#include "tests/unit/net/virtual_environment.h"

namespace nimbus::net::test {

struct LinkConditions {
  double loss = 0;              // probability a frame is dropped
  double duplicate = 0;         // probability a frame is delivered twice
  double reorder = 0;           // probability a frame is held back by reorder_delay_ns
  uint64_t latency_ns = 100'000;  // one-way delay of every frame
  uint64_t reorder_delay_ns = 1'000'000;
  uint32_t mtu = 1500;
  uint64_t seed = 1;
  bool tx_checksum = false;  // the ends advertise checksum offload (frames are then
  bool rx_checksum = false;  // delivered with checksum_verified, as virtio-net does)
  // The ends take TSO segments (with tx_checksum) and carry them whole, as two virtio-net
  // devices with HOST_TSO and GUEST_TSO would between them.
  bool tcp_segmentation = false;
};

class SimulatedLink {
 public:
  // One end of the cable: the NetDevice a stack adds as its interface.
  class End final : public NetDevice {
   public:
    const char* name() const override { return m_name; }
    MacAddress mac() const override { return m_mac; }
    uint32_t mtu() const override { return m_link->m_conditions.mtu; }
    DeviceFeatures features() const override;
    Result<> transmit(Packet* packet) override;
    DeviceStatistics statistics() const override { return m_statistics; }
    void set_mac(MacAddress mac) { m_mac = mac; }

   private:
    friend class SimulatedLink;
    SimulatedLink* m_link = nullptr;
    int m_side = 0;
    char m_name[8] = "eth0";
    MacAddress m_mac{};
    DeviceStatistics m_statistics;
  };

  // A frame as it crossed the cable (for assertions).
  struct Frame {
    int from_side;
    uint64_t sent_ns;
    std::vector<std::byte> bytes;
  };

  SimulatedLink(VirtualEnvironment& environment, LinkConditions conditions = {});
  ~SimulatedLink();
  SimulatedLink(const SimulatedLink&) = delete;
  SimulatedLink& operator=(const SimulatedLink&) = delete;

  // Side 0 has MAC 02:00:00:00:00:01, side 1 02:00:00:00:00:02 (set_mac to change).
  End& end(int side) { return m_ends[side]; }
  // Where frames sent from the other side arrive.
  void attach(int side, NetStack& stack, uint32_t interface_index);
  void set_conditions(const LinkConditions& conditions);

  // Called for each frame as it is sent, before loss is decided; returning false drops it
  // (a test's targeted loss). The frame may be modified in place.
  std::function<bool(int from_side, Packet& frame)> filter;
  // Every frame sent (before loss), when recording is on.
  bool record = true;
  std::vector<Frame> sent;

  // Hands the stacks every frame whose delivery time has come; how many were delivered.
  size_t deliver_due();
  // The earliest delivery time of a frame in flight (kNoTimer: none).
  uint64_t next_delivery_ns() const;
  size_t in_flight() const { return m_queue.size(); }
  uint64_t dropped() const { return m_dropped; }
  // Drops everything in flight.
  void clear();

 private:
  struct InFlight {
    uint64_t due_ns;
    uint64_t order;
    int to_side;
    Packet* packet;
  };
  void send(int from_side, Packet* packet);
  Packet* copy(const Packet& packet);

  VirtualEnvironment& m_environment;
  LinkConditions m_conditions;
  std::mt19937_64 m_random;
  End m_ends[2];
  NetStack* m_stacks[2] = {nullptr, nullptr};
  uint32_t m_interfaces[2] = {0, 0};
  std::vector<InFlight> m_queue;
  uint64_t m_order = 0;
  uint64_t m_dropped = 0;
};

class SimulatedNetwork {
 public:
  explicit SimulatedNetwork(VirtualEnvironment& environment) : m_environment(environment) {}
  void add_stack(NetStack& stack) { m_stacks.push_back({&stack, 0}); }
  void add_link(SimulatedLink& link) { m_links.push_back(&link); }

  // Polls and delivers until nothing more happens at the current instant, then advances
  // the clock to the next event, until `deadline_ns` (the clock ends there).
  void run_until(uint64_t deadline_ns);
  void run_for(uint64_t duration_ns) { run_until(m_environment.now_ns() + duration_ns); }
  // As run_until, but returns as soon as `done()` holds (checked after each step); true if it did.
  bool run_until(const std::function<bool()>& done, uint64_t deadline_ns);
  // Everything due now, without moving the clock.
  void settle();

 private:
  struct StackEntry {
    NetStack* stack;
    uint64_t next_ns;
  };
  VirtualEnvironment& m_environment;
  std::vector<StackEntry> m_stacks;
  std::vector<SimulatedLink*> m_links;
};

}  // namespace nimbus::net::test
