// UdpProtocol: UDP (RFC 768) for one NetStack: port bindings, the datagrams IP delivers, and
// the datagram sockets applications open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/socket.h"

namespace nimbus::net {

class UdpSocket;

class UdpProtocol {
 public:
  // udp: UDP itself. ping: ICMP echo sockets (Linux's net/ipv4/ping.c), which share UDP's
  // datagram socket and binding table, with the echo identifier in place of the port and an
  // echo request in place of the UDP header.
  enum class Kind { udp, ping };
  explicit UdpProtocol(NetStack& stack, Kind kind = Kind::udp);
  bool is_ping() const { return m_kind == Kind::ping; }
  // An echo reply for this host (packet->data() at the ICMP or ICMPv6 header, checksum
  // checked): delivered, whole, to the ping socket whose identifier it carries. Takes
  // ownership when it returns true.
  bool receive_echo_reply(const IpReceiveInfo& info, Packet* packet);
  ~UdpProtocol();
  UdpProtocol(const UdpProtocol&) = delete;
  UdpProtocol& operator=(const UdpProtocol&) = delete;

  // A datagram for this host: packet->data() is the UDP header. Takes ownership. Returns
  // false when no socket wants it (IP then answers ICMP port unreachable).
  bool receive(const IpReceiveInfo& info, Packet* packet);
  // A SOCK_DGRAM socket of `family` (AF_INET or AF_INET6).
  Result<RefPtr<Socket>> create_socket(int family);

  // --- additions by net-core ---
  // An ICMP error about a datagram we sent from `original_source` to
  // `original_destination` (`quoted_udp_header`: at least its 8 header bytes, then what the
  // error quoted of the data). ICMPv6 errors come translated to ICMPv4's type and code.
  // As Linux (__udp4_lib_err): a connected socket learns a hard error (ECONNREFUSED for
  // port unreachable...); with IP_RECVERR / IPV6_RECVERR every error also joins the socket's
  // error queue, connected or not.
  void icmp_error(const IpReceiveInfo& info, uint8_t type, uint8_t code, const IpAddress& original_source,
                  const IpAddress& original_destination, std::span<const std::byte> quoted_udp_header,
                  uint32_t next_hop_mtu = 0);

  // /proc/net/udp: one line per bound socket.
  struct SocketSnapshot {
    int family = 0;
    Endpoint local;
    Endpoint remote;  // port 0: not connected
    size_t receive_queue_bytes = 0;
    size_t transmit_queue_bytes = 0;
    uint64_t drops = 0;
    uint32_t references = 0;
  };
  // Fills `out` and returns how many sockets there are (possibly more than out.size()).
  size_t snapshot(std::span<SocketSnapshot> out);
  // /proc/net/snmp's Udp: line.
  struct Statistics {
    uint64_t in_datagrams = 0, no_ports = 0, in_errors = 0, out_datagrams = 0, receive_buffer_errors = 0,
             send_buffer_errors = 0, in_checksum_errors = 0;
  };
  Statistics statistics();

 private:
  friend class UdpSocket;
  // The binding table, for UdpSocket (each takes the protocol's lock). Port 0: ephemeral.
  Result<> bind_socket(UdpSocket& socket, const IpAddress& address, uint16_t port, bool lock_address, bool lock_port);
  Result<> connect_socket(UdpSocket& socket, const IpAddress& local, const IpAddress& remote, uint16_t remote_port);
  void disconnect_socket(UdpSocket& socket);
  void unbind_socket(UdpSocket& socket);
  void count_sent();
  // Guards every socket's Binding.
  Mutex& table_lock();

  NetStack& m_stack;
  Kind m_kind;
  struct State;
  State* m_state = nullptr;
};

}  // namespace nimbus::net
