// StackRouteSource: rtnetlink's view of a NetStack (its interfaces and default gateway).
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/net/net_stack.h"
#include "kernel/net/netlink/netlink_socket.h"

namespace nimbus::net::netlink {

class StackRouteSource final : public RouteSource {
 public:
  // `first_port_id`: what the first autobound socket gets (Linux gives it the process id).
  StackRouteSource(NetStack& stack, uint32_t first_port_id) : m_stack(stack), m_first_port_id(first_port_id) {}

  size_t interfaces(std::span<InterfaceSnapshot> out) override;
  std::optional<Ipv4Address> ipv4_gateway() override;
  uint64_t now_ns() override { return m_stack.now_ns(); }
  uint32_t next_port_id() override;

 private:
  NetStack& m_stack;
  uint32_t m_first_port_id;
  std::atomic<uint32_t> m_autobinds{0};
};

}  // namespace nimbus::net::netlink
