// SocketErrorQueue: Linux's per-socket error queue (sk_error_queue). With IP_RECVERR or
// IPV6_RECVERR a datagram socket keeps each ICMP error about what it sent, with the part of
// the datagram the error quoted, and hands them out through recvmsg(MSG_ERRQUEUE) as a
// struct sock_extended_err control message (ip(7) "IP_RECVERR").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/result.h"
#include "kernel/net/ip_address.h"

namespace nimbus::net {

// include/uapi/linux/errqueue.h
constexpr uint8_t kErrorOriginLocal = 1;  // SO_EE_ORIGIN_LOCAL
constexpr uint8_t kErrorOriginIcmp = 2;   // SO_EE_ORIGIN_ICMP
constexpr uint8_t kErrorOriginIcmp6 = 3;  // SO_EE_ORIGIN_ICMP6

struct SocketError {
  Errno error{};
  uint8_t origin = kErrorOriginLocal;
  uint8_t type = 0, code = 0;
  uint32_t info = 0;           // e.g. the next-hop MTU of "fragmentation needed"
  Endpoint destination;        // where the offending datagram went (recvmsg's msg_name)
  IpAddress offender;          // who sent the error (SO_EE_OFFENDER); unused for local errors
};

class SocketErrorQueue {
 public:
  SocketErrorQueue() = default;
  SocketErrorQueue(const SocketErrorQueue&) = delete;
  SocketErrorQueue& operator=(const SocketErrorQueue&) = delete;
  ~SocketErrorQueue() { clear(); }

  // Queues `error` with a copy of `payload` (what the error quoted of the datagram's data).
  // False when the queue is full or memory short: the error is dropped, as Linux drops it
  // past the receive buffer.
  bool push(const SocketError& error, std::span<const std::byte> payload);
  bool empty() const { return m_entries.empty(); }
  // The oldest error and its payload (the queue must not be empty).
  const SocketError& front() const;
  std::span<const std::byte> front_payload() const;
  void pop();
  // The errno of the oldest error left (0: none): sk_err after a dequeue.
  int next_errno() const;
  void clear();

  static constexpr size_t kMaxEntries = 32;

 private:
  struct Entry {
    SocketError error;
    std::byte* payload = nullptr;
    size_t length = 0;
    ListNode node;
  };
  IntrusiveList<Entry, &Entry::node> m_entries;
};

// Builds the IP_RECVERR / IPV6_RECVERR control message's data for `error`: struct
// sock_extended_err followed by the offender as a sockaddr_in (AF_INET sockets) or a
// sockaddr_in6 (AF_INET6, IPv4 offenders mapped), zeroed for a local error. Returns the
// length written (`out` must hold 16 + 28 bytes).
size_t format_extended_error(const SocketError& error, bool ipv6_socket, std::span<std::byte> out);

}  // namespace nimbus::net
