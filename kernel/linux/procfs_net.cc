// /proc/net (tcp, tcp6, udp, udp6, dev, route, if_inet6, sockstat, sockstat6) and /proc/sys/net: the kernel
// stack's sockets and interfaces in the text formats of Linux 6.1 (proc_net_tcp(5), netstat
// and ss read them); and /proc/net/queues, Nimbus's own: each interface's queue pairs.
#include "kernel/linux/procfs_net.h"

#include <new>

#include "kernel/lib/ref_ptr.h"

#include "kernel/net/kernel_net_stack.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/net_statistics.h"
#include "kernel/net/netlink/route_messages.h"
#include "kernel/net/tcp/tcp_protocol.h"
#include "kernel/net/udp.h"

namespace nimbus::linux {
namespace {

using Kind = SyntheticEntry::Kind;
constexpr int kAfInet6 = 10;
constexpr size_t kMaxRows = 512;
constexpr size_t kMaxInterfaces = net::NetStack::kMaxInterfaces;
constexpr uint32_t kMaxBacklog = 4096;  // the listen() cap of the TCP and UNIX sockets

// An IPv4 address as Linux prints it: the four network-order bytes read as a little-endian
// word (127.0.0.1 is 0100007F).
uint32_t as_printed(net::Ipv4Address address) {
  uint32_t v = address.value;
  return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

// Rows for one read of a table (heap: a table is too large for a kernel stack).
template <typename Row>
struct RowBuffer {
  Row* rows = new (kNoThrow) Row[kMaxRows];
  ~RowBuffer() { delete[] rows; }
};

void format_ipv4_endpoint(TextBuffer& out, const net::Endpoint& endpoint) {
  out.format("%08X:%04X", as_printed(endpoint.address.ipv4()), endpoint.port);
}

// IPv6: four 32-bit words, each printed as the host reads its network-order bytes.
void format_ipv6_endpoint(TextBuffer& out, const net::Endpoint& endpoint) {
  const auto& b = endpoint.address.bytes;
  for (int word = 0; word < 4; word++) {
    uint32_t v = uint32_t{b[4 * word]} | uint32_t{b[4 * word + 1]} << 8 | uint32_t{b[4 * word + 2]} << 16 |
                 uint32_t{b[4 * word + 3]} << 24;
    out.format("%08X", v);
  }
  out.format(":%04X", endpoint.port);
}

void socket_table(TextBuffer& out, bool ipv6, bool tcp) {
  net::NetStack* stack = net::kernel_net_stack();
  if (ipv6) {
    out.append("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode");
  } else {
    out.append("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode");
  }
  out.append(tcp ? "\n" : " ref pointer drops\n");
  if (!stack) return;
  auto endpoint = ipv6 ? format_ipv6_endpoint : format_ipv4_endpoint;
  size_t line = 0;
  if (tcp) {
    RowBuffer<net::TcpConnectionRow> buffer;
    if (!buffer.rows) return;
    net::TcpConnectionRow* rows = buffer.rows;
    size_t count = stack->tcp().list_connections({rows, kMaxRows});
    uint64_t now = stack->now_ns();
    for (size_t i = 0; i < count && i < kMaxRows; i++) {
      const net::TcpConnectionRow& row = rows[i];
      if ((row.family == kAfInet6) != ipv6) continue;
      bool timer = row.timer_deadline_ns != net::kNoTimer;
      uint64_t when = timer && row.timer_deadline_ns > now ? (row.timer_deadline_ns - now) / 10'000'000 : 0;
      out.format("%4zu: ", line++);
      endpoint(out, row.local);
      out.append(" ");
      endpoint(out, row.remote);
      out.format(" %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu\n", row.state, row.send_queue, row.receive_queue,
                 timer ? 1 : 0, when, row.retransmits, 0u, 0, 0ul);
    }
  } else {
    RowBuffer<net::UdpProtocol::SocketSnapshot> buffer;
    if (!buffer.rows) return;
    net::UdpProtocol::SocketSnapshot* rows = buffer.rows;
    size_t count = stack->udp().snapshot({rows, kMaxRows});
    for (size_t i = 0; i < count && i < kMaxRows; i++) {
      const net::UdpProtocol::SocketSnapshot& row = rows[i];
      if ((row.family == kAfInet6) != ipv6) continue;
      out.format("%5zu: ", line++);
      endpoint(out, row.local);
      out.append(" ");
      endpoint(out, row.remote);
      // TCP_ESTABLISHED (1) when connected, TCP_CLOSE (7) otherwise, as Linux shows UDP.
      out.format(" %02X %08zX:%08zX 00:00000000 00000000 %5u %8d %lu %u 0000000000000000 %lu\n",
                 row.remote.port ? 1 : 7, row.transmit_queue_bytes, row.receive_queue_bytes, 0u, 0, 0ul,
                 row.references, row.drops);
    }
  }
}

void tcp4(TextBuffer& out) { socket_table(out, false, true); }
void tcp6(TextBuffer& out) { socket_table(out, true, true); }
void udp4(TextBuffer& out) { socket_table(out, false, false); }
void udp6(TextBuffer& out) { socket_table(out, true, false); }

// Snapshots of the stack's interfaces, at most kMaxInterfaces; returns how many were filled.
size_t interfaces(net::NetStack& stack, net::InterfaceSnapshot (&out)[kMaxInterfaces]) {
  size_t count = stack.interface_snapshots(out);
  return count < kMaxInterfaces ? count : kMaxInterfaces;
}

void dev(TextBuffer& out) {
  out.append("Inter-|   Receive                                                |  Transmit\n");
  out.append(" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n");
  net::NetStack* stack = net::kernel_net_stack();
  if (!stack) return;
  net::InterfaceSnapshot list[kMaxInterfaces];
  size_t count = interfaces(*stack, list);
  for (size_t i = 0; i < count; i++) {
    const net::DeviceStatistics& s = list[i].statistics;
    out.format("%6s: %7lu %7lu %4lu %4lu %4u %5u %10u %9u %8lu %7lu %4lu %4lu %4u %5u %7u %10u\n", list[i].name,
               s.rx_bytes, s.rx_packets, s.rx_errors, s.rx_dropped, 0u, 0u, 0u, 0u, s.tx_bytes, s.tx_packets,
               s.tx_errors, s.tx_dropped, 0u, 0u, 0u, 0u);
  }
}

// Nimbus's own (Linux gives per-queue counters through ethtool -S): one row per queue pair
// of every interface, with the CPU that processes it (-1: any).
void queues(TextBuffer& out) {
  out.append("Iface Queue CPU RxPackets RxBytes TxPackets TxBytes\n");
  net::NetStack* stack = net::kernel_net_stack();
  if (!stack) return;
  net::InterfaceSnapshot list[kMaxInterfaces];
  size_t count = interfaces(*stack, list);
  for (size_t i = 0; i < count; i++) {
    net::NetDevice* device = stack->device(list[i].index);
    if (!device) continue;
    for (size_t queue = 0; queue < device->queue_count(); queue++) {
      net::QueueStatistics q = device->queue_statistics(queue);
      out.format("%s %zu %d %lu %lu %lu %lu\n", list[i].name, queue, q.cpu, q.counters.rx_packets,
                 q.counters.rx_bytes, q.counters.tx_packets, q.counters.tx_bytes);
    }
  }
}

void route(TextBuffer& out) {
  out.format("%-127s\n", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT");
  net::NetStack* stack = net::kernel_net_stack();
  if (!stack) return;
  net::InterfaceSnapshot list[kMaxInterfaces];
  size_t count = interfaces(*stack, list);
  net::netlink::Ipv4Route routes[kMaxInterfaces + 1];
  net::Ipv4Address gateway = stack->ipv4_gateway();
  size_t route_count = net::netlink::ipv4_routes(
      {list, count}, gateway.is_any() ? std::nullopt : std::optional<net::Ipv4Address>(gateway), routes);
  constexpr uint32_t kRouteUp = 0x1, kRouteGateway = 0x2;
  for (size_t i = 0; i < route_count; i++) {
    const net::netlink::Ipv4Route& r = routes[i];
    const char* name = "";
    for (size_t j = 0; j < count; j++)
      if (list[j].index == r.interface_index) name = list[j].name;
    uint32_t mask = net::ipv4_netmask(r.prefix_length);
    TextBuffer line;
    line.format("%s\t%08X\t%08X\t%04X\t%d\t%u\t%d\t%08X\t%d\t%u\t%u", name, as_printed(r.destination),
                r.gateway ? as_printed(*r.gateway) : 0u, kRouteUp | (r.gateway ? kRouteGateway : 0u), 0, 0u, 0,
                as_printed({mask}), 0, 0u, 0u);
    auto text = line.text();
    out.format("%-127.*s\n", static_cast<int>(text.size()), text.data());
  }
}

// One line per IPv6 address: the address in 32 hex digits, the interface index, prefix
// length, scope (IPV6_ADDR_LOOPBACK 0x10, _LINKLOCAL 0x20, global 0) and IFA_F_* flags, in
// hex, then the name (Linux's if6_seq_show).
void if_inet6(TextBuffer& out) {
  net::NetStack* stack = net::kernel_net_stack();
  if (!stack) return;
  net::InterfaceSnapshot list[kMaxInterfaces];
  size_t count = interfaces(*stack, list);
  for (size_t i = 0; i < count; i++) {
    for (size_t j = 0; j < list[i].ipv6_count; j++) {
      const net::InterfaceSnapshot::Ipv6Entry& entry = list[i].ipv6[j];
      for (uint8_t byte : entry.address.bytes) out.format("%02x", byte);
      uint32_t scope = entry.address.is_ipv6_loopback() ? 0x10 : entry.address.is_link_local() ? 0x20 : 0;
      uint32_t flags = entry.autoconfigured ? 0 : 0x80;  // IFA_F_PERMANENT
      out.format(" %02x %02x %02x %02x %8s\n", list[i].index, entry.prefix_length, scope, flags, list[i].name);
    }
  }
}

// Socket counts in Linux's format (net/ipv4/proc.c sockstat_seq_show, net/ipv6/proc.c):
// "TCP: inuse" counts IPv4 sockets and "TCP6: inuse" IPv6 ones (a dual-stack listener and
// what it accepts are TCP6); orphan, tw, alloc and mem cover both. alloc counts the sockets in
// the connection table (not those created but never bound or connected).
size_t udp_in_use(net::NetStack& stack, bool ipv6) {
  RowBuffer<net::UdpProtocol::SocketSnapshot> buffer;
  if (!buffer.rows) return 0;
  size_t count = stack.udp().snapshot({buffer.rows, kMaxRows});
  size_t matching = 0;
  for (size_t i = 0; i < count && i < kMaxRows; i++)
    if ((buffer.rows[i].family == kAfInet6) == ipv6) matching++;
  return matching;
}

void sockstat(TextBuffer& out) {
  net::NetStack* stack = net::kernel_net_stack();
  net::TcpSocketCounts tcp = stack ? stack->tcp().count_sockets() : net::TcpSocketCounts{};
  out.format("sockets: used %zu\n", net::Socket::live_count());
  out.format("TCP: inuse %zu orphan %zu tw %zu alloc %zu mem %zu\n", tcp.in_use_ipv4, tcp.orphans, tcp.time_wait,
             tcp.in_use_ipv4 + tcp.in_use_ipv6, tcp.buffer_pages);
  out.format("UDP: inuse %zu mem 0\n", stack ? udp_in_use(*stack, false) : 0);
  out.append("UDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n");
}

void sockstat6(TextBuffer& out) {
  net::NetStack* stack = net::kernel_net_stack();
  out.format("TCP6: inuse %zu\n", stack ? stack->tcp().count_sockets().in_use_ipv6 : 0);
  out.format("UDP6: inuse %zu\n", stack ? udp_in_use(*stack, true) : 0);
  out.append("UDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n");
}

void somaxconn(TextBuffer& out) { out.format("%u\n", kMaxBacklog); }
void local_port_range(TextBuffer& out) { out.append("32768\t60999\n"); }
void fin_timeout(TextBuffer& out) { out.append("60\n"); }

constexpr SyntheticEntry kNet[] = {
    {"tcp", Kind::file, tcp4}, {"tcp6", Kind::file, tcp6},   {"udp", Kind::file, udp4},
    {"udp6", Kind::file, udp6}, {"dev", Kind::file, dev},     {"route", Kind::file, route},
    {"if_inet6", Kind::file, if_inet6}, {"sockstat", Kind::file, sockstat}, {"sockstat6", Kind::file, sockstat6},
    {"queues", Kind::file, queues},
};
constexpr SyntheticEntry kSysNetCore[] = {{"somaxconn", Kind::file, somaxconn}};
constexpr SyntheticEntry kSysNetIpv4[] = {
    {"ip_local_port_range", Kind::file, local_port_range},
    {"tcp_fin_timeout", Kind::file, fin_timeout},
};
constexpr SyntheticEntry kSysNet[] = {
    {"core", Kind::directory, nullptr, [] { return std::span<const SyntheticEntry>(kSysNetCore); }},
    {"ipv4", Kind::directory, nullptr, [] { return std::span<const SyntheticEntry>(kSysNetIpv4); }},
};

}  // namespace

std::span<const SyntheticEntry> proc_net_entries() { return kNet; }
std::span<const SyntheticEntry> proc_sys_net_entries() { return kSysNet; }

}  // namespace nimbus::linux
