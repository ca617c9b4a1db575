// UdpSocket: a SOCK_DGRAM socket of AF_INET, or of AF_INET6 (IPv6, and IPv4 as IPv4-mapped
// addresses unless IPV6_V6ONLY), over UdpProtocol.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/intrusive_list.h"
#include "kernel/net/inet_options.h"
#include "kernel/net/ip_address.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/packet.h"
#include "kernel/net/socket.h"
#include "kernel/net/socket_error_queue.h"
#include "kernel/sync/mutex.h"
#include "kernel/sync/poll_queue.h"

namespace nimbus::net {

class NetStack;
class UdpProtocol;

// One received datagram waiting in a socket's queue.
struct UdpDatagram {
  Packet* packet = nullptr;  // data() at the payload
  Endpoint source;
  IpAddress destination;
  uint16_t destination_port = 0;  // the socket's port (IP_ORIGDSTADDR)
  uint32_t interface_index = 0;
  uint8_t tos = 0, ttl = 0;
  uint64_t received_wall_ns = 0;  // SO_TIMESTAMP, SIOCGSTAMP
  size_t charge = 0;  // what it counts against SO_RCVBUF
  ListNode node;
};

class UdpSocket final : public Socket {
 public:
  UdpSocket(UdpProtocol& protocol, NetStack& stack, int family);
  ~UdpSocket() override;

  Result<> bind(const SocketAddress& address) override;
  Result<> connect(const SocketAddress& address, bool nonblocking) override;
  Result<size_t> send(SendRequest& request) override;
  Result<size_t> receive(ReceiveRequest& request) override;
  Result<> shutdown(int how) override;
  Result<SocketAddress> local_address() override;
  Result<SocketAddress> peer_address() override;
  Result<> set_option(int level, int name, std::span<const std::byte> value) override;
  Result<size_t> get_option(int level, int name, std::span<std::byte> value) override;
  int take_error() override;

  // FileOps: the socket's descriptor.
  void release(fs::File& file) override;
  Result<int64_t> ioctl(fs::File& file, uint32_t request, uintptr_t argument) override;
  uint32_t poll(fs::File& file) override;
  PollQueue* poll_queue(fs::File&) override { return &m_poll_queue; }

  // Unbinds the socket so it receives nothing more (its descriptor closed). The binding
  // table holds a reference to a bound socket until then.
  void close();
  // POLL* bits now (poll() without a File).
  uint32_t readiness();
  // FIONREAD: the size of the next datagram (0: none).
  size_t next_datagram_size();
  // ioctl() without a File: FIONREAD (SIOCINQ) and SIOCOUTQ.
  Result<int64_t> handle_ioctl(uint32_t request, uintptr_t argument);

  // --- for UdpProtocol (its lock held where said) ---
  // Whether this socket may receive a datagram for `local` from `remote`, and how well it
  // matches (higher is more specific); -1: no (protocol lock held).
  int match_score(const IpReceiveInfo& info, uint16_t local_port, uint16_t remote_port) const;
  // Queues a datagram (takes ownership); false when SO_RCVBUF is full (counted, freed).
  bool enqueue(Packet* payload, const IpReceiveInfo& info, uint16_t source_port);
  // An ICMP error about a datagram this socket sent.
  void report_error(Errno error);
  // The same with IP_RECVERR / IPV6_RECVERR on: the error also joins the error queue, with
  // `payload` (the part of the datagram's data the ICMP message quoted).
  // `set_pending`: also the socket's pending error (SO_ERROR); a local error is only queued.
  void queue_error(const SocketError& error, std::span<const std::byte> payload, bool set_pending = true);
  // Whether errors from IPv4 (or IPv6) ICMP go to the error queue.
  bool receives_errors(bool ipv4_origin);

  // What the binding table keys by (protocol lock held).
  struct Binding {
    IpAddress local_address;  // IPv4-mapped, or :: / 0.0.0.0 for any
    uint16_t local_port = 0;
    IpAddress remote_address;
    uint16_t remote_port = 0;
    bool connected = false;
    bool bound = false;
    bool address_locked = false;  // bind() chose the address (connect(AF_UNSPEC) keeps it)
    bool port_locked = false;     // bind() chose the port
  };
  const Binding& binding() const { return m_binding; }
  bool accepts_ipv4() const;  // AF_INET, or AF_INET6 without IPV6_V6ONLY
  bool v6only() const { return m_v6only; }
  size_t queued_bytes();
  uint64_t drops();

  ListNode binding_node;  // in UdpProtocol's table while bound

 private:
  friend class UdpProtocol;
  // Parses a sockaddr of this socket's family into an IPv4-mapped address and port.
  Result<Endpoint> parse_address(const SocketAddress& address, bool for_bind) const;
  // `scope_id`: the interface a link-local address belongs to (sin6_scope_id).
  SocketAddress format_address(const Endpoint& endpoint, uint32_t scope_id = 0) const;
  // The address family error Linux gives a socket bound to one family's address sending to
  // the other's (0: none).
  Errno family_mismatch(const IpAddress& destination);
  void notify(uint32_t events);
  // A ping socket's send: the echo request the application wrote, with our identifier.
  Result<> send_echo_request(SendRequest& request, size_t length, const IpAddress& source,
                             const IpAddress& destination, uint16_t identifier, const IpSendOptions& options);
  // The control messages IP_PKTINFO / IP_RECVTTL / IP_RECVTOS and their IPv6 counterparts
  // ask for (m_lock held).
  void write_control(ReceiveRequest& request, const UdpDatagram& datagram);
  // recvmsg(MSG_ERRQUEUE): the oldest queued error (Linux's ip_recv_error / ipv6_recv_error).
  Result<size_t> receive_error(ReceiveRequest& request);

  UdpProtocol& m_protocol;
  NetStack& m_stack;
  Binding m_binding;  // guarded by the protocol's lock
  bool m_v6only = false;
  bool m_ping = false;  // an ICMP echo socket (UdpProtocol::Kind::ping)

  Mutex m_lock;  // guards what follows
  ConditionVariable m_readable;
  PollQueue m_poll_queue;
  IntrusiveList<UdpDatagram, &UdpDatagram::node> m_queue;
  size_t m_queued_bytes = 0;
  uint64_t m_drops = 0;
  int m_error = 0;  // a pending errno (ICMP), reported once
  SocketErrorQueue m_error_queue;  // IP_RECVERR / IPV6_RECVERR: read by MSG_ERRQUEUE
  bool m_shut_read = false, m_shut_write = false;
  uint8_t m_tos = 0;
  int m_ttl = -1;  // -1: the default (64)
  bool m_receive_pktinfo = false, m_receive_ttl = false, m_receive_tos = false;
  bool m_receive_pktinfo6 = false, m_receive_hoplimit6 = false, m_receive_tclass6 = false;
  bool m_receive_errors6 = false;  // IPV6_RECVERR
  bool m_receive_original_destination6 = false;  // IPV6_RECVORIGDSTADDR
  uint8_t m_pmtu_discovery6 = 1;   // IPV6_MTU_DISCOVER: IPV6_PMTUDISC_WANT
  InetOptions m_inet;               // the generic IPPROTO_IP options
  // sk_stamp for SIOCGSTAMP: -1 before any datagram was read (ENOENT), 0 when the time is
  // taken at the first ioctl, else the arrival time of the last datagram read without
  // SO_TIMESTAMP(NS).
  int64_t m_stamp_ns = -1;
  bool m_closed = false;
};

}  // namespace nimbus::net
