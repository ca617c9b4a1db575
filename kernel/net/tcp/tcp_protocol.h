// TcpProtocol: TCP (RFC 9293) for one NetStack: the connection table, listeners, the
// segments IP delivers, and the stream sockets applications open.
#pragma once

#include <cstdint>
#include <span>

#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/socket.h"

namespace nimbus::net {

// One connection as /proc/net/tcp lists it.
struct TcpConnectionRow {
  Endpoint local;
  Endpoint remote;
  uint8_t state = 0;           // Linux's TCP_* numbering (1 ESTABLISHED ... 10 LISTEN, 11 CLOSING)
  uint32_t send_queue = 0;     // tx_queue: bytes not yet acknowledged (listeners: the backlog)
  uint32_t receive_queue = 0;  // rx_queue: unread bytes (listeners: connections awaiting accept)
  uint32_t retransmits = 0;    // consecutive timeouts
  uint64_t timer_deadline_ns = kNoTimer;  // the retransmit or keepalive deadline
  int family = 0;              // AF_INET or AF_INET6 of the socket
};

// What /proc/net/sockstat reports about TCP, counted over the connection table.
struct TcpSocketCounts {
  size_t in_use_ipv4 = 0;  // sockets in the table (listeners, connections), not TIME_WAIT
  size_t in_use_ipv6 = 0;  // nor connections still in a listener's SYN queue (as Linux)
  size_t orphans = 0;      // closed by the application, still finishing their FIN exchange
  size_t time_wait = 0;
  size_t buffer_pages = 0;  // bytes queued to send or to read, in pages
};

class TcpProtocol {
 public:
  explicit TcpProtocol(NetStack& stack);
  ~TcpProtocol();
  TcpProtocol(const TcpProtocol&) = delete;
  TcpProtocol& operator=(const TcpProtocol&) = delete;

  // A segment for this host: packet->data() is the TCP header, the checksum not yet checked
  // unless info.checksum_verified. Takes ownership.
  void receive(const IpReceiveInfo& info, Packet* packet);
  // An ICMP error about a segment we sent (`quoted`: its IP and the first TCP bytes):
  // destination unreachable ends a connecting socket, "fragmentation needed" lowers the MSS.
  void icmp_error(const IpReceiveInfo& info, uint8_t type, uint8_t code, uint32_t next_hop_mtu,
                  const IpAddress& original_destination, std::span<const std::byte> quoted_tcp_header);
  // A SOCK_STREAM socket of `family` (AF_INET or AF_INET6).
  Result<RefPtr<Socket>> create_socket(int family);
  // Fills at most rows.size() rows; returns how many connections there are.
  size_t list_connections(std::span<TcpConnectionRow> rows);
  TcpSocketCounts count_sockets();

 private:
  NetStack& m_stack;
  struct State;
  State* m_state = nullptr;
};

}  // namespace nimbus::net
