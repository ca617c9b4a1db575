// StackRouteSource: snapshots of the stack's interfaces, in index order.
#include "kernel/net/netlink/stack_route_source.h"

namespace nimbus::net::netlink {

size_t StackRouteSource::interfaces(std::span<InterfaceSnapshot> out) { return m_stack.interface_snapshots(out); }

std::optional<Ipv4Address> StackRouteSource::ipv4_gateway() {
  Ipv4Address gateway = m_stack.ipv4_gateway();
  if (gateway.is_any()) return std::nullopt;
  return gateway;
}

uint32_t StackRouteSource::next_port_id() {
  // The process id first, then ids counting down from -4096, as Linux's autobind does.
  uint32_t n = m_autobinds.fetch_add(1, std::memory_order_relaxed);
  return n == 0 ? m_first_port_id : 0xfffff000u - (n - 1);
}

}  // namespace nimbus::net::netlink
