// NetStack: one instance of the TCP/IP stack: its interfaces, addresses and routes, the
// neighbour cache, the protocols and their timers. The kernel has one (kernel_net_stack());
// unit tests make two and join them with a simulated link.
//
// Threads: frames arrive through receive() on a driver's receive thread (never in an
// interrupt handler) and through poll() on the stack's worker; sockets call in from
// application threads. All locks are Mutexes (host-testable); no lock is held while calling
// NetDevice::transmit() into a loopback device, which defers delivery to poll().
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/result.h"
#include "kernel/net/ip_address.h"
#include "kernel/net/net_device.h"
#include "kernel/net/net_environment.h"
#include "kernel/net/net_statistics.h"
#include "kernel/net/packet.h"
#include "kernel/sync/mutex.h"

namespace nimbus::net {

class NetStack;
class TcpProtocol;   // kernel/net/tcp/
class UdpProtocol;   // kernel/net/udp.cc
constexpr uint64_t kNoTimer = ~0ull;

// A protocol timer. Callbacks run on the worker inside poll(), with no stack lock held.
// disarm() guarantees the callback will not start afterwards, but one already started may
// still be running: owners keep their object alive (a reference) while a timer is armed.
struct NetTimer {
  using Callback = void (*)(NetTimer& timer);
  Callback callback = nullptr;
  void* context = nullptr;
  uint64_t deadline_ns = kNoTimer;
  ListNode node;
  bool armed() const { return node.is_linked(); }
};

// What IP tells a transport protocol about a datagram it delivers.
struct IpReceiveInfo {
  IpAddress source;
  IpAddress destination;
  uint8_t protocol = 0;  // IPPROTO_*
  uint8_t tos = 0;       // IPv4 TOS / IPv6 traffic class
  uint8_t ttl = 0;       // TTL / hop limit
  uint32_t interface_index = 0;
  bool checksum_verified = false;  // the transport checksum needs no check (device or loopback)
};

// How a transport protocol asks IP to send.
struct IpSendOptions {
  uint8_t tos = 0;
  uint8_t ttl = 64;
  bool dont_fragment = true;  // TCP and PMTU discovery; UDP clears it
  // Set by a transport that left its checksum to the device (it then fills
  // Packet::offload itself relative to the transport header; IP adjusts the offsets).
  bool checksum_offloaded = false;
};

struct InterfaceAddress {
  Ipv4Address address;
  uint8_t prefix_length = 0;
};

class NetStack {
 public:
  explicit NetStack(NetEnvironment& environment);
  ~NetStack();
  NetStack(const NetStack&) = delete;
  NetStack& operator=(const NetStack&) = delete;

  NetEnvironment& environment() { return m_environment; }
  uint64_t now_ns() { return m_environment.now_ns(); }

  // Interfaces, numbered from 1 in the order added ("lo" is added first by the kernel), at
  // most this many.
  static constexpr size_t kMaxInterfaces = 16;
  Result<uint32_t> add_interface(NetDevice& device);
  Result<> set_ipv4_address(uint32_t interface_index, InterfaceAddress address);
  Result<> set_ipv4_gateway(Ipv4Address gateway);
  NetDevice* device(uint32_t interface_index);
  size_t interface_count() const;

  // A frame from interface `interface_index`; the stack owns it from here on.
  void receive(uint32_t interface_index, Packet* packet);
  // Hands a frame to poll() instead of processing it now (loopback transmit).
  void defer_receive(uint32_t interface_index, Packet* packet);
  // The worker's job: deferred frames, then expired timers. Returns the monotonic time at
  // which it wants to run again (kNoTimer: only when request_poll() says so).
  uint64_t poll();

  void arm_timer(NetTimer& timer, uint64_t deadline_ns);
  void disarm_timer(NetTimer& timer);

  // Sends a transport segment (its header at packet->data()) to `destination`: routes it,
  // adds the IP header, resolves the next hop's link address (holding the packet meanwhile),
  // fragments if needed and allowed. Takes ownership. EHOSTUNREACH/ENETUNREACH without a
  // route; EMSGSIZE when DF is set and the datagram exceeds the path MTU.
  Result<> ip_output(Packet* packet, const IpAddress& source, const IpAddress& destination, uint8_t protocol,
                     const IpSendOptions& options);
  // The source address a datagram to `destination` would carry (EADDRNOTAVAIL / ENETUNREACH).
  Result<IpAddress> source_address_for(const IpAddress& destination);
  // Whether `address` is one of this host's (for bind()).
  bool is_local_address(const IpAddress& address);
  // The largest transport segment that fits one IP datagram to `destination` (MSS + options).
  uint32_t path_mtu(const IpAddress& destination);
  // The largest TCP segment (header included) that may go to `destination` as one TSO
  // segment for its device to cut (PacketOffload::gso_size); 0 when its device cannot.
  uint32_t tcp_segmentation_limit(const IpAddress& destination);

  // IPv6 (kernel/net/ipv6.cc). A static address (the loopback device adds ::1/128).
  Result<> add_ipv6_address(uint32_t interface_index, const IpAddress& address, uint8_t prefix_length);
  // Turns IPv6 on for a link (RFC 4862): its fe80:: address from the MAC, then router
  // solicitations, whose advertisements bring a default router and SLAAC addresses.
  Result<> enable_ipv6(uint32_t interface_index);

  // --- additions by net-core (kernel/net/net_stack.cc) ---
  // The interface's IPv4 address (ENOENT: none) and the default gateway (0.0.0.0: none).
  Result<InterfaceAddress> ipv4_address(uint32_t interface_index);
  Result<> clear_ipv4_address(uint32_t interface_index);
  Ipv4Address ipv4_gateway();
  // Counters for /proc/net/snmp, and one interface for /proc/net/dev, SIOCGIF* and netlink.
  NetStatistics statistics();
  Result<InterfaceSnapshot> interface_snapshot(uint32_t interface_index);
  // Every interface's snapshot in index order, up to out.size(); returns how many there are.
  size_t interface_snapshots(std::span<InterfaceSnapshot> out);

  // Sends an IPv4 datagram out of one interface whatever its address and routes say (the
  // DHCP client, before it has an address: source 0.0.0.0, destination 255.255.255.255).
  Result<> ipv4_output_on_interface(uint32_t interface_index, Packet* packet, Ipv4Address source,
                                    Ipv4Address destination, uint8_t protocol, const IpSendOptions& options);
  // UDP datagrams to `port` arriving on `interface_index` go to `callback` (packet->data() at
  // the UDP header; the callback owns it) before any socket, whatever their destination
  // address: the DHCP client receives its offers before the address is ours.
  struct UdpHook {
    uint32_t interface_index = 0;
    uint16_t port = 0;
    void (*callback)(void* context, const IpReceiveInfo& info, Packet* packet) = nullptr;
    void* context = nullptr;
  };
  Result<> add_udp_hook(const UdpHook& hook);
  void remove_udp_hook(void* context);

  // The implementation's private data (kernel/net/net_stack_state.h); named here so the
  // files implementing the stack can take it, opaque to everyone else.
  struct State;

  TcpProtocol& tcp() { return *m_tcp; }
  UdpProtocol& udp() { return *m_udp; }
  // ICMP "ping" sockets (SOCK_DGRAM, IPPROTO_ICMP / IPPROTO_ICMPV6): datagram sockets whose
  // port is the echo identifier.
  UdpProtocol& ping() { return *m_ping; }

 private:
  NetEnvironment& m_environment;
  TcpProtocol* m_tcp = nullptr;
  UdpProtocol* m_udp = nullptr;
  UdpProtocol* m_ping = nullptr;
  // The rest (interfaces, routes, ARP, reassembly, the timer list, the deferred queue) is the
  // implementation's: see net_stack.cc.
  State* m_state = nullptr;
};

// The kernel's stack (kernel only; nullptr before the network stage of boot).
NetStack* kernel_net_stack();

}  // namespace nimbus::net
