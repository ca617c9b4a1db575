// The kernel's network stack (kernel only): its environment (clocks, randomness, the worker
// thread that runs NetStack::poll()), and the boot stage that brings up "lo" and eth0...
#pragma once

#include <cstddef>
#include <string_view>

#include "kernel/lib/result.h"
#include "kernel/net/ip_address.h"

namespace nimbus::net {

class NetStack;
namespace netlink {
class RouteSource;
}

// What NETLINK_ROUTE sockets answer from: the kernel stack's interfaces (nullptr before the
// network stage).
netlink::RouteSource* kernel_route_source();

// What the command line says about the first Ethernet interface (kernel/boot/boot_options.h).
struct KernelNetworkConfig {
  bool static_ip = false;  // false: DHCP on the first Ethernet interface
  Ipv4Address address;
  uint8_t prefix_length = 0;
  Ipv4Address gateway;  // 0.0.0.0: none
  Ipv4Address dns;      // 0.0.0.0: none
  std::string_view hostname;  // empty: "nimbus"
};

// Creates the stack and its worker, adds "lo" (127.0.0.1/8), then each started virtio-net
// device as eth0, eth1, ... (their receive threads feed the stack), and configures eth0:
// the static address, or DHCP (waiting up to 5 s for the first lease). kernel_net_stack()
// returns the stack from before the address is set.
Result<NetStack*> start_kernel_network(const KernelNetworkConfig& config);

// The name and addresses the program's /etc files should carry (valid after
// start_kernel_network; before it, "nimbus" and no addresses; DHCP may change them later).
struct KernelNetworkIdentity {
  std::string_view hostname;
  Ipv4Address address;  // eth0's, 0.0.0.0 when it has none
  Ipv4Address dns;
};
KernelNetworkIdentity kernel_network_identity();

// Waits (until the monotonic `deadline_ns` at most) for the TCP connections to get what they
// hold acknowledged by their peers, then for the devices to send what they hold: data a
// program wrote just before it exited would otherwise die with the VM, where Linux goes on
// sending it after the process has gone.
void drain_kernel_network(uint64_t deadline_ns);

// /etc/hosts and /etc/resolv.conf for that identity, written into `buffer` (at most `size`
// bytes, NUL-terminated); returns the length. resolv.conf is empty without a DNS server.
size_t format_etc_hosts(const KernelNetworkIdentity& identity, char* buffer, size_t size);
size_t format_resolv_conf(const KernelNetworkIdentity& identity, char* buffer, size_t size);

}  // namespace nimbus::net
