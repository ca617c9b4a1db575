// TcpHost: the few services TCP takes from its network stack (sending, routes, timers, the
// clock, randomness), as an interface so the protocol runs over NetStack in the kernel and
// over a virtual clock and a simulated wire in host unit tests.
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"
#include "kernel/net/ip_address.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/packet.h"

namespace nimbus::net::tcp {

class TcpHost {
 public:
  virtual uint64_t now_ns() = 0;
  // The wall clock (CLOCK_REALTIME) in nanoseconds, for SO_TIMESTAMP; tests keep the default.
  virtual uint64_t wall_ns() { return now_ns(); }
  virtual uint64_t random64() = 0;
  // A segment (TCP header at packet->data(), checksum filled in); takes ownership.
  virtual Result<> ip_output(Packet* packet, const IpAddress& source, const IpAddress& destination,
                             const IpSendOptions& options) = 0;
  virtual Result<IpAddress> source_address_for(const IpAddress& destination) = 0;
  virtual bool is_local_address(const IpAddress& address) = 0;
  // The largest TCP segment (header included) to `destination`.
  virtual uint32_t path_mtu(const IpAddress& destination) = 0;
  // The largest segment (header included) the route to `destination` cuts for TCP (TSO, see
  // PacketOffload::gso_size); 0, the default, when every segment must fit the MSS.
  virtual uint32_t segmentation_limit(const IpAddress&) { return 0; }
  // Timer callbacks run later without TCP's lock held (NetStack::arm_timer semantics).
  virtual void arm_timer(NetTimer& timer, uint64_t deadline_ns) = 0;
  virtual void disarm_timer(NetTimer& timer) = 0;

 protected:
  ~TcpHost() = default;
};

}  // namespace nimbus::net::tcp
