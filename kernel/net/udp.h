// UdpProtocol: UDP (RFC 768) for one NetStack: port bindings, the datagrams IP delivers, and
// the datagram sockets applications open.
#pragma once

#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/socket.h"

namespace nimbus::net {

class UdpProtocol {
 public:
  explicit UdpProtocol(NetStack& stack);
  ~UdpProtocol();
  UdpProtocol(const UdpProtocol&) = delete;
  UdpProtocol& operator=(const UdpProtocol&) = delete;

  // A datagram for this host: packet->data() is the UDP header. Takes ownership. Returns
  // false when no socket wants it (IP then answers ICMP port unreachable).
  bool receive(const IpReceiveInfo& info, Packet* packet);
  // A SOCK_DGRAM socket of `family` (AF_INET or AF_INET6).
  Result<RefPtr<Socket>> create_socket(int family);

 private:
  NetStack& m_stack;
  struct State;
  State* m_state = nullptr;
};

}  // namespace nimbus::net
