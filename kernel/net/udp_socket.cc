// UdpSocket: the datagram socket API over UdpProtocol (bind, connect, send and receive with
// Linux's flags and errors, options, readiness).
#include "kernel/net/udp_socket.h"

#include <algorithm>
#include <cstring>

#include "kernel/fs/linux_abi.h"
#include "kernel/net/checksum.h"
#include "kernel/net/inet_options.h"
#include "kernel/net/io_vector.h"
#include "kernel/net/socket_abi.h"
#include "kernel/net/ipv4.h"
#include "kernel/net/ipv6.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/udp.h"

namespace nimbus::net {

namespace {
constexpr size_t kUdpHeaderSize = 8;
// The largest payload one IPv4 datagram carries: 65535 - 20 (IP) - 8 (UDP).
constexpr size_t kMaxPayload = 65507;
constexpr size_t kMaxPayload6 = 65527;
// What a queued datagram costs beyond its bytes (Linux charges the buffer's truesize).
constexpr size_t kDatagramOverhead = 256;
constexpr uint8_t kDefaultTtl = 64;

using namespace abi;

Result<int> read_int(std::span<const std::byte> value) {
  if (value.size() < sizeof(int)) return error(Errno::einval);
  int v;
  std::memcpy(&v, value.data(), sizeof(v));
  return v;
}

size_t write_int(std::span<std::byte> out, int v) {
  size_t n = std::min(out.size(), sizeof(v));
  std::memcpy(out.data(), &v, n);
  return n;
}

}  // namespace

UdpSocket::UdpSocket(UdpProtocol& protocol, NetStack& stack, int family)
    : Socket(family, sock_dgram,
             protocol.is_ping() ? (family == af_inet ? ipproto_icmp : ipproto_icmpv6) : ipproto_udp),
      m_protocol(protocol),
      m_stack(stack),
      m_ping(protocol.is_ping()) {
  if (family == af_inet) m_binding.local_address = IpAddress::from_ipv4({});
  // An ICMPv6 ping socket speaks IPv6 only (Linux's ping_v6 refuses IPv4-mapped peers).
  if (m_ping && family == af_inet6) m_v6only = true;
}

UdpSocket::~UdpSocket() {
  while (UdpDatagram* datagram = m_queue.pop_front()) {
    Packet::free(datagram->packet);
    delete datagram;
  }
}

bool UdpSocket::accepts_ipv4() const { return family() == af_inet || !m_v6only; }

// --- addresses ---

// struct sockaddr_in / sockaddr_in6 into an address (IPv4 as IPv4-mapped) and port.
Result<Endpoint> UdpSocket::parse_address(const SocketAddress& address, bool for_bind) const {
  const std::byte* b = address.bytes.data();
  uint16_t sa_family = address.family();
  Endpoint endpoint;
  if (family() == af_inet) {
    if (address.length < sockaddr_in_size) return error(Errno::einval);
    // Linux's inet_bind accepts AF_UNSPEC with INADDR_ANY for old programs.
    if (sa_family != af_inet) {
      if (!(for_bind && sa_family == af_unspec && load_be32(b + 4) == 0)) return error(Errno::eafnosupport);
    }
    endpoint.port = load_be16(b + 2);
    endpoint.address = IpAddress::from_ipv4({load_be32(b + 4)});
    return endpoint;
  }
  if (!for_bind && sa_family == af_inet && address.length >= sockaddr_in_size) {
    // Linux's ip6_datagram_connect and udpv6_sendmsg take a sockaddr_in as IPv4.
    if (m_v6only) return error(Errno::eafnosupport);
    endpoint.port = load_be16(b + 2);
    endpoint.address = IpAddress::from_ipv4({load_be32(b + 4)});
    return endpoint;
  }
  if (address.length < sockaddr_in6_min_size) return error(Errno::einval);
  if (sa_family != af_inet6) return error(Errno::eafnosupport);
  endpoint.port = load_be16(b + 2);
  std::memcpy(endpoint.address.bytes.data(), b + 8, 16);
  if (endpoint.address.is_ipv4() && m_v6only) return error(for_bind ? Errno::einval : Errno::enetunreach);
  // A link-local address means nothing without its interface (Linux's inet6_bind).
  if (for_bind && endpoint.address.is_link_local()) {
    uint32_t scope_id = 0;
    if (address.length >= sockaddr_in6_size) std::memcpy(&scope_id, b + 24, 4);
    if (scope_id == 0 || !m_stack.device(scope_id)) return error(Errno::einval);
  }
  return endpoint;
}

SocketAddress UdpSocket::format_address(const Endpoint& endpoint, uint32_t scope_id) const {
  SocketAddress out;
  std::byte* b = out.bytes.data();
  if (family() == af_inet) {
    out.length = sockaddr_in_size;
    b[0] = std::byte{af_inet};
    store_be16(b + 2, endpoint.port);
    store_be32(b + 4, endpoint.address.ipv4().value);
    return out;
  }
  out.length = sockaddr_in6_size;
  b[0] = std::byte{af_inet6};
  store_be16(b + 2, endpoint.port);
  // An AF_INET6 socket's wildcard reads back as ::, an IPv4 one as ::ffff:a.b.c.d.
  if (!(endpoint.address.is_ipv4() && endpoint.address.ipv4().is_any()))
    std::memcpy(b + 8, endpoint.address.bytes.data(), 16);
  // sin6_flowinfo stays 0 (no flow labels); sin6_scope_id names a link-local's interface.
  if (endpoint.address.is_link_local()) std::memcpy(b + 24, &scope_id, 4);
  return out;
}

Errno UdpSocket::family_mismatch(const IpAddress& destination) {
  IpAddress local;
  {
    MutexGuard guard(m_protocol.table_lock());
    local = m_binding.local_address;
  }
  if (family() != af_inet6 || local.is_any() || local.is_ipv4() == destination.is_ipv4()) return Errno{};
  return local.is_ipv4() ? Errno::eafnosupport : Errno::enetunreach;
}

Result<> UdpSocket::bind(const SocketAddress& address) {
  Endpoint endpoint = TRY(parse_address(address, true));
  if (m_ping) {
    // Linux's ping_check_bind_addr: a ping socket is bound to a unicast address only, so
    // broadcasts (the limited one and loopback's 127.255.255.255; other subnets' directed
    // broadcasts are not recognised here) are EADDRNOTAVAIL and IPv6 multicast is EINVAL.
    if (endpoint.address.is_ipv4()) {
      Ipv4Address v4 = endpoint.address.ipv4();
      if (v4.is_broadcast() || v4.value == 0x7fffffff) return error(Errno::eaddrnotavail);
    } else if (endpoint.address.is_ipv6_multicast()) {
      return error(Errno::einval);
    }
  }
  if (!endpoint.address.is_any() && !m_stack.is_local_address(endpoint.address)) {
    // Broadcast addresses may be bound (Linux allows it for receiving broadcasts).
    if (!(endpoint.address.is_ipv4() && endpoint.address.ipv4().is_broadcast())) return error(Errno::eaddrnotavail);
  }
  {
    MutexGuard guard(m_lock);
    if (m_closed) return error(Errno::ebadf);
  }
  return m_protocol.bind_socket(*this, endpoint.address, endpoint.port, !endpoint.address.is_any(),
                                endpoint.port != 0);
}

Result<> UdpSocket::connect(const SocketAddress& address, bool) {
  if (address.length >= 2 && address.family() == af_unspec) {
    m_protocol.disconnect_socket(*this);
    return {};
  }
  Endpoint remote = TRY(parse_address(address, false));
  // Linux: connecting to INADDR_ANY or :: means this host (ip6_datagram_connect: ::1, or
  // 127.0.0.1 for a socket bound to an IPv4-mapped address).
  if (remote.address.is_any()) {
    IpAddress local;
    {
      MutexGuard guard(m_protocol.table_lock());
      local = m_binding.local_address;
    }
    bool v4 = remote.address.is_ipv4() || local.is_ipv4();
    remote.address = v4 ? IpAddress::from_ipv4(Ipv4Address::from_octets(127, 0, 0, 1)) : IpAddress::ipv6_loopback();
  }
  if (Errno mismatch = family_mismatch(remote.address); mismatch != Errno{}) return error(mismatch);
  if (remote.address.is_ipv4() && remote.address.ipv4().is_broadcast() && !options().broadcast)
    return error(Errno::eacces);
  if (m_ping) remote.port = 0;  // echo replies are matched by identifier, not by port
  auto source = m_stack.source_address_for(remote.address);
  if (!source) return error(source.error());
  return m_protocol.connect_socket(*this, *source, remote.address, remote.port);
}

Result<SocketAddress> UdpSocket::local_address() {
  Endpoint local;
  {
    MutexGuard guard(m_protocol.table_lock());
    local = {m_binding.local_address, m_binding.local_port};
  }
  return format_address(local);
}

Result<SocketAddress> UdpSocket::peer_address() {
  Endpoint remote;
  {
    MutexGuard guard(m_protocol.table_lock());
    // inet_getname: a socket connected to port 0 has no peer.
    if (!m_binding.connected || m_binding.remote_port == 0) return error(Errno::enotconn);
    remote = {m_binding.remote_address, m_binding.remote_port};
  }
  return format_address(remote);
}

// --- sending ---

Result<size_t> UdpSocket::send(SendRequest& request) {
  if (request.flags & msg_oob) return error(Errno::enotsup);
  uint8_t tos;
  int ttl;
  {
    MutexGuard guard(m_lock);
    if (m_shut_write) return error(Errno::epipe);
    // sock_alloc_send_pskb: a pending error (an ICMP report) fails the next send, once.
    if (m_error) {
      Errno pending = static_cast<Errno>(m_error);
      m_error = 0;
      return error(pending);
    }
    tos = m_tos;
    ttl = m_ttl;
  }
  Endpoint destination;
  bool have_destination = request.destination && request.destination->length > 0;
  if (have_destination && request.destination->family() == af_unspec && family() == af_inet) {
    // Linux's udp_sendmsg treats an AF_UNSPEC name as none.
    have_destination = false;
  }
  if (have_destination) {
    destination = TRY(parse_address(*request.destination, false));
    if (destination.port == 0 && !m_ping) return error(Errno::einval);
    if (m_ping) destination.port = 0;
  }
  IpAddress local;
  uint16_t local_port;
  bool bound;
  {
    MutexGuard guard(m_protocol.table_lock());
    if (!have_destination) {
      if (!m_binding.connected) return error(Errno::edestaddrreq);
      destination = {m_binding.remote_address, m_binding.remote_port};
    }
    bound = m_binding.bound;
    local = m_binding.local_address;
  }
  // As connect(): the unspecified address means this host (Linux's ip_route_output).
  if (destination.address.is_any()) {
    bool to_v4 = destination.address.is_ipv4() || local.is_ipv4() || family() == af_inet;
    destination.address =
        to_v4 ? IpAddress::from_ipv4(Ipv4Address::from_octets(127, 0, 0, 1)) : IpAddress::ipv6_loopback();
  }
  size_t length = total_length(request.data);
  bool v4 = destination.address.is_ipv4();
  // IPv6's payload length covers the UDP header only (no IP header to count).
  if (length > (v4 ? kMaxPayload : kMaxPayload6)) {
    // ip6_append_data: with IPV6_RECVERR an IPv6 send too large for any packet also leaves a
    // local error (ipv6_local_error) saying the path MTU; IPv4 queues none.
    if (!v4 && receives_errors(false)) {
      SocketError local_error;
      local_error.error = Errno::emsgsize;
      local_error.origin = kErrorOriginLocal;
      local_error.info = m_stack.path_mtu(destination.address) + 40;  // the IPv6 header back
      local_error.destination = destination;
      queue_error(local_error, {}, false);
    }
    return error(Errno::emsgsize);
  }
  if (Errno mismatch = family_mismatch(destination.address); mismatch != Errno{}) return error(mismatch);
  if (v4 && destination.address.ipv4().is_broadcast() && !options().broadcast) return error(Errno::eacces);
  if (!bound) {
    IpAddress any = family() == af_inet ? IpAddress::from_ipv4({}) : IpAddress{};
    TRY(m_protocol.bind_socket(*this, any, 0, false, false));
  }
  {
    MutexGuard guard(m_protocol.table_lock());
    local = m_binding.local_address;
    local_port = m_binding.local_port;
  }
  IpAddress source = local;
  // Ancillary data (Linux's ip_cmsg_send): IP_PKTINFO picks the source address, IP_TTL and
  // IP_TOS override the socket's for this datagram.
  for (size_t offset = 0; request.control.size() - offset >= sizeof(abi::CmsgHdr);) {
    abi::CmsgHdr header;
    std::memcpy(&header, request.control.data() + offset, sizeof(header));
    if (header.length < sizeof(header) || header.length > request.control.size() - offset) return error(Errno::einval);
    const std::byte* data = request.control.data() + offset + sizeof(header);
    size_t length = header.length - sizeof(header);
    if (header.level == ipproto_ip) {
      int value = 0;
      switch (header.type) {
        case ip_pktinfo: {
          if (length < 12) return error(Errno::einval);
          Ipv4Address chosen{load_be32(data + 4)};
          if (!chosen.is_any()) {
            if (!m_stack.is_local_address(IpAddress::from_ipv4(chosen))) return error(Errno::einval);
            source = IpAddress::from_ipv4(chosen);
          }
          break;
        }
        case ip_ttl:
          if (length != sizeof(int)) return error(Errno::einval);
          std::memcpy(&value, data, sizeof(value));
          if (value < 1 || value > 255) return error(Errno::einval);
          ttl = value;
          break;
        case ip_tos:
          if (length == 1) {
            tos = uint8_t(data[0]);
          } else if (length == sizeof(int)) {
            std::memcpy(&value, data, sizeof(value));
            if (value < 0 || value > 255) return error(Errno::einval);
            tos = static_cast<uint8_t>(value);
          } else {
            return error(Errno::einval);
          }
          break;
        default:
          return error(Errno::einval);
      }
    } else if (header.level == ipproto_ipv6 && family() == af_inet6) {
      // Linux's ip6_datagram_send_ctl: IPV6_PKTINFO picks the source, IPV6_HOPLIMIT and
      // IPV6_TCLASS (ints, -1: the socket's) override for this datagram.
      int value = 0;
      switch (header.type) {
        case ipv6_pktinfo: {
          if (length < 20) return error(Errno::einval);
          IpAddress chosen = ipv6_address_from_bytes(data);
          if (!chosen.is_any()) {
            if (!m_stack.is_local_address(chosen)) return error(Errno::einval);
            source = chosen;
          }
          break;
        }
        case ipv6_hoplimit:
        case ipv6_tclass:
          if (length != sizeof(int)) return error(Errno::einval);
          std::memcpy(&value, data, sizeof(value));
          if (value < -1 || value > 255) return error(Errno::einval);
          if (header.type == ipv6_hoplimit && value >= 0) ttl = value;
          if (header.type == ipv6_tclass && value >= 0) tos = static_cast<uint8_t>(value);
          break;
        default:
          return error(Errno::einval);
      }
    }
    offset += std::min(abi::cmsg_align(header.length), request.control.size() - offset);
  }
  // Linux's ip_route_output_key: a loopback source never leaves the host.
  if (source.is_loopback() && !m_stack.is_local_address(destination.address))
    return error(Errno::einval);
  if (source.is_any()) {
    auto chosen = m_stack.source_address_for(destination.address);
    if (!chosen) return error(chosen.error());
    source = *chosen;
  }

  IpSendOptions send_options;
  send_options.tos = tos;
  send_options.ttl = ttl < 0 ? kDefaultTtl : static_cast<uint8_t>(ttl);
  send_options.dont_fragment = false;
  if (m_ping) {
    TRY(send_echo_request(request, length, source, destination.address, local_port, send_options));
    m_protocol.count_sent();
    return length;
  }

  Packet* packet = TRY(Packet::try_allocate(Packet::kDefaultHeadroom + kUdpHeaderSize + length));
  std::byte* header = packet->put(kUdpHeaderSize + length);
  std::byte* payload = header + kUdpHeaderSize;
  copy_from_vectors(request.data, {payload, length});
  uint16_t udp_length = static_cast<uint16_t>(kUdpHeaderSize + length);
  store_be16(header, local_port);
  store_be16(header + 2, destination.port);
  store_be16(header + 4, udp_length);
  store_be16(header + 6, 0);
  uint32_t sum = pseudo_header_sum(source, destination.address, kIpProtocolUdp, udp_length);
  uint16_t checksum = checksum_finish(checksum_add(sum, packet->bytes()));
  store_be16(header + 6, checksum == 0 ? 0xffff : checksum);  // RFC 768: 0 would mean "none"
  TRY(m_stack.ip_output(packet, source, destination.address, kIpProtocolUdp, send_options));
  m_protocol.count_sent();
  return length;
}

// Linux's ping_common_sendmsg: the application writes the whole echo request (type, code,
// checksum, identifier, sequence, data); the kernel puts the socket's identifier in and
// computes the checksum. Only echo requests with code 0 may be sent.
Result<> UdpSocket::send_echo_request(SendRequest& request, size_t length, const IpAddress& source,
                                      const IpAddress& destination, uint16_t identifier,
                                      const IpSendOptions& options) {
  constexpr size_t kIcmpHeader = 8;
  constexpr uint8_t kEchoRequestV4 = 8, kEchoRequestV6 = 128;
  if (length < kIcmpHeader) return error(Errno::einval);
  bool v4 = destination.is_ipv4();
  Packet* packet = TRY(Packet::try_allocate(Packet::kDefaultHeadroom + length));
  std::byte* message = packet->put(length);
  copy_from_vectors(request.data, {message, length});
  if (uint8_t(message[0]) != (v4 ? kEchoRequestV4 : kEchoRequestV6) || message[1] != std::byte{0}) {
    Packet::free(packet);
    return error(Errno::einval);
  }
  store_be16(message + 4, identifier);
  store_be16(message + 2, 0);
  uint32_t sum = v4 ? 0 : pseudo_header_sum(source, destination, kIpv6Icmp, static_cast<uint32_t>(length));
  store_be16(message + 2, checksum_finish(checksum_add(sum, packet->bytes())));
  return m_stack.ip_output(packet, source, destination, v4 ? kIpProtocolIcmp : kIpv6Icmp, options);
}

// --- receiving ---

int UdpSocket::match_score(const IpReceiveInfo& info, uint16_t local_port, uint16_t remote_port) const {
  if (!m_binding.bound || m_binding.local_port != local_port) return -1;
  // IPv4 reaches AF_INET and dual-stack sockets; IPv6 only AF_INET6 sockets not bound to an
  // IPv4-mapped address.
  if (info.destination.is_ipv4() ? !accepts_ipv4() : (family() != af_inet6 || m_binding.local_address.is_ipv4()))
    return -1;
  int score = family() == af_inet ? 1 : 0;
  if (!m_binding.local_address.is_any()) {
    if (!(m_binding.local_address == info.destination)) return -1;
    score += 4;
  }
  if (m_binding.connected) {
    if (!(m_binding.remote_address == info.source) || m_binding.remote_port != remote_port) return -1;
    score += 8;
  }
  return score;
}

bool UdpSocket::enqueue(Packet* payload, const IpReceiveInfo& info, uint16_t source_port) {
  MutexGuard guard(m_lock);
  // Linux's __udp_enqueue_schedule_skb: refused once what is queued exceeds SO_RCVBUF, so
  // one datagram always fits.
  if (m_closed || m_shut_read || m_queued_bytes > options().receive_buffer) {
    m_drops++;
    Packet::free(payload);
    return false;
  }
  UdpDatagram* datagram = new (kNoThrow) UdpDatagram();
  if (!datagram) {
    m_drops++;
    Packet::free(payload);
    return false;
  }
  datagram->packet = payload;
  datagram->source = {info.source, source_port};
  datagram->destination = info.destination;
  datagram->destination_port = m_binding.local_port;
  datagram->received_wall_ns = m_stack.environment().wall_ns();
  datagram->interface_index = info.interface_index;
  datagram->tos = info.tos;
  datagram->ttl = info.ttl;
  datagram->charge = payload->length() + kDatagramOverhead;
  m_queue.push_back(datagram);
  m_queued_bytes += datagram->charge;
  m_readable.notify_all();
  m_poll_queue.notify(fs::linux_abi::pollin | fs::linux_abi::pollrdnorm);
  return true;
}

void UdpSocket::report_error(Errno error) {
  MutexGuard guard(m_lock);
  m_error = static_cast<int>(error);
  m_readable.notify_all();
  m_poll_queue.notify(fs::linux_abi::pollerr);
}

void UdpSocket::queue_error(const SocketError& error, std::span<const std::byte> payload, bool set_pending) {
  MutexGuard guard(m_lock);
  m_error_queue.push(error, payload);
  if (set_pending) m_error = static_cast<int>(error.error);  // sk_err too, as __udp4_lib_err sets it
  m_readable.notify_all();
  m_poll_queue.notify(fs::linux_abi::pollerr);
}

bool UdpSocket::receives_errors(bool ipv4_origin) {
  MutexGuard guard(m_lock);
  // IPv4 errors follow IP_RECVERR (on an AF_INET6 socket too), IPv6 ones IPV6_RECVERR.
  return ipv4_origin ? m_inet.receive_errors : m_receive_errors6;
}

Result<size_t> UdpSocket::receive_error(ReceiveRequest& request) {
  MutexGuard guard(m_lock);
  if (m_error_queue.empty()) return error(Errno::eagain);
  const SocketError& queued = m_error_queue.front();
  std::span<const std::byte> payload = m_error_queue.front_payload();
  size_t copied = copy_to_vectors(request.data, payload);
  if (copied < payload.size()) request.result_flags |= msg_trunc;
  if (request.source) *request.source = format_address(queued.destination);
  bool ipv6 = family() == af_inet6;
  std::byte extended[48];
  size_t length = format_extended_error(queued, ipv6, extended);
  put_control_message(request, ipv6 ? ipproto_ipv6 : ipproto_ip, ipv6 ? ipv6_recverr : ip_recverr, extended, length);
  request.result_flags |= msg_errqueue;
  m_error_queue.pop();
  // sock_dequeue_err_skb: SO_ERROR now says the next queued error, or nothing.
  m_error = m_error_queue.next_errno();
  return copied;
}

int UdpSocket::take_error() {
  MutexGuard guard(m_lock);
  int pending = m_error;
  m_error = 0;
  return pending;
}

Result<size_t> UdpSocket::receive(ReceiveRequest& request) {
  if (request.flags & msg_oob) return error(Errno::enotsup);
  if (request.flags & msg_errqueue) return receive_error(request);
  bool nonblocking = request.nonblocking || (request.flags & msg_dontwait);
  uint64_t deadline = receive_deadline(m_stack.now_ns());
  MutexGuard guard(m_lock);
  for (;;) {
    if (!m_queue.empty()) break;
    if (m_error) {
      Errno pending = static_cast<Errno>(m_error);
      m_error = 0;
      return error(pending);
    }
    // __skb_recv_udp: a non-blocking read of an empty queue is EAGAIN even after
    // SHUT_RD; only a blocking one returns end of file.
    if (nonblocking) return error(Errno::eagain);
    if (m_shut_read || m_closed) return 0;
    if (deadline != kNoDeadline && m_stack.now_ns() >= deadline) return error(Errno::eagain);
    WaitResult waited = m_readable.wait_until_interruptible(m_lock, deadline);
    if (waited == WaitResult::interrupted) return error(Errno::erestartsys);
    if (waited == WaitResult::timed_out && m_queue.empty()) return error(Errno::eagain);
  }
  UdpDatagram* datagram = m_queue.front();
  Packet* packet = datagram->packet;
  size_t length = packet->length();
  size_t copied = copy_to_vectors(request.data, {packet->data(), length});
  if (copied < length) request.result_flags |= msg_trunc;
  if (request.source) *request.source = format_address(datagram->source, datagram->interface_index);
  // sock_recv_timestamp: a timestamp control message when asked for, else the time is kept
  // for SIOCGSTAMP.
  bool stamp_message = options().timestamp || options().timestamp_ns;
  if (stamp_message) {
    uint64_t ns = datagram->received_wall_ns;
    int64_t stamp[2] = {static_cast<int64_t>(ns / 1'000'000'000), static_cast<int64_t>(ns % 1'000'000'000)};
    if (options().timestamp) stamp[1] /= 1000;  // struct timeval: microseconds
    put_control_message(request, sol_socket, options().timestamp ? so_timestamp : so_timestampns, stamp, sizeof(stamp));
  }
  write_control(request, *datagram);
  if (!(request.flags & msg_peek)) {
    if (!stamp_message) m_stamp_ns = static_cast<int64_t>(datagram->received_wall_ns);
    m_queue.remove(datagram);
    m_queued_bytes -= datagram->charge;
    Packet::free(packet);
    delete datagram;
  }
  // MSG_TRUNC asks for the datagram's real length (Linux's udp_recvmsg).
  return (request.flags & msg_trunc) ? length : copied;
}

// Linux's ip_cmsg_recv_offset, in its order: IP_PKTINFO, IP_TTL, IP_TOS, each written as
// put_cmsg does (cut short with MSG_CTRUNC when the buffer ends).
void UdpSocket::write_control(ReceiveRequest& request, const UdpDatagram& datagram) {
  auto put = [&](int level, int type, const void* data, size_t length) {
    size_t room = request.control.size() - request.control_length;
    if (room < sizeof(abi::CmsgHdr)) {
      request.result_flags |= msg_ctrunc;
      return;
    }
    size_t full = abi::cmsg_len(length);
    size_t written = full;
    if (room < full) {
      request.result_flags |= msg_ctrunc;
      written = room;
    }
    abi::CmsgHdr header{written, level, type};
    std::byte* out = request.control.data() + request.control_length;
    std::memcpy(out, &header, sizeof(header));
    std::memcpy(out + sizeof(header), data, written - sizeof(header));
    request.control_length += std::min(abi::cmsg_space(length), room);
  };
  if (family() == af_inet6) {
    // Linux's ip6_datagram_recv_common_ctl: IPV6_PKTINFO (in6_pktinfo), IPV6_HOPLIMIT and
    // IPV6_TCLASS as ints; an IPv4 datagram's addresses read as IPv4-mapped.
    if (m_receive_pktinfo6) {
      struct {
        uint8_t address[16];
        int32_t interface_index;
      } info{};
      std::memcpy(info.address, datagram.destination.bytes.data(), 16);
      info.interface_index = static_cast<int32_t>(datagram.interface_index);
      put(ipproto_ipv6, ipv6_pktinfo, &info, sizeof(info));
    }
    // The rest is IPv6's own (ip6_datagram_recv_specific_ctl): an IPv4 datagram gets
    // IPPROTO_IP's control messages instead.
    if (!datagram.source.address.is_ipv4() && m_receive_hoplimit6) {
      int hop_limit = datagram.ttl;
      put(ipproto_ipv6, ipv6_hoplimit, &hop_limit, sizeof(hop_limit));
    }
    if (!datagram.source.address.is_ipv4() && m_receive_tclass6) {
      int traffic_class = datagram.tos;
      put(ipproto_ipv6, ipv6_tclass, &traffic_class, sizeof(traffic_class));
    }
    if (!datagram.source.address.is_ipv4() && m_receive_original_destination6) {
      // IPV6_ORIGDSTADDR: a sockaddr_in6 of the address and port the datagram was sent to.
      std::byte address[sockaddr_in6_size] = {};
      uint16_t family6 = af_inet6;
      std::memcpy(address, &family6, 2);
      store_be16(address + 2, datagram.destination_port);
      std::memcpy(address + 8, datagram.destination.bytes.data(), 16);
      put(ipproto_ipv6, ipv6_recvorigdstaddr, address, sizeof(address));
    }
  }
  if (!datagram.source.address.is_ipv4()) return;
  if (m_receive_pktinfo) {
    // struct in_pktinfo: the interface, the local address that answers (the destination,
    // or the interface's address for a broadcast), and the header's destination.
    struct {
      int32_t interface_index;
      uint32_t specific_destination;
      uint32_t header_destination;
    } info{};
    info.interface_index = static_cast<int32_t>(datagram.interface_index);
    Ipv4Address local = datagram.destination.ipv4();
    if (!m_stack.is_local_address(datagram.destination)) {
      if (auto address = m_stack.ipv4_address(datagram.interface_index)) local = address->address;
    }
    // Linux fills ipi_spec_dst in ipv4_pktinfo_prepare, which ping's receive path never
    // calls: a ping socket reports 0 there.
    if (m_ping) local = {};
    store_be32(reinterpret_cast<std::byte*>(&info.specific_destination), local.value);
    store_be32(reinterpret_cast<std::byte*>(&info.header_destination), datagram.destination.ipv4().value);
    put(ipproto_ip, ip_pktinfo, &info, sizeof(info));
  }
  if (m_receive_ttl) {
    int ttl = datagram.ttl;
    put(ipproto_ip, ip_ttl, &ttl, sizeof(ttl));
  }
  if (m_receive_tos) {
    uint8_t tos = datagram.tos;
    put(ipproto_ip, ip_tos, &tos, sizeof(tos));
  }
  if (m_inet.receive_original_destination) {
    // IP_ORIGDSTADDR: a sockaddr_in of the address and port the datagram was sent to.
    std::byte address[sockaddr_in_size] = {};
    address[0] = std::byte{af_inet};
    store_be16(address + 2, datagram.destination_port);
    store_be32(address + 4, datagram.destination.ipv4().value);
    put(ipproto_ip, ip_recvorigdstaddr, address, sizeof(address));
  }
}

Result<> UdpSocket::shutdown(int how) {
  if (how < shut_rd || how > shut_rdwr) return error(Errno::einval);
  bool connected;
  {
    MutexGuard guard(m_protocol.table_lock());
    connected = m_binding.connected;
  }
  {
    MutexGuard guard(m_lock);
    if (how == shut_rd || how == shut_rdwr) m_shut_read = true;
    if (how == shut_wr || how == shut_rdwr) m_shut_write = true;
    m_readable.notify_all();
    m_poll_queue.notify(0);
  }
  // Linux's inet_shutdown records the shutdown but reports ENOTCONN on an unconnected socket.
  if (!connected) return error(Errno::enotconn);
  return {};
}

// --- options ---

Result<> UdpSocket::set_option(int level, int name, std::span<const std::byte> value) {
  if (level == ipproto_ip) {
    // Linux's do_ip_setsockopt: an int option may come as one byte (or none: 0).
    int v = inet_int_value(value);
    MutexGuard guard(m_lock);
    switch (name) {
      case ip_tos:
        m_tos = static_cast<uint8_t>(v);
        return {};
      case ip_ttl:
        if (value.empty()) return error(Errno::einval);
        if (v != -1 && (v < 1 || v > 255)) return error(Errno::einval);
        m_ttl = v;
        return {};
      case ip_pktinfo:
        m_receive_pktinfo = v != 0;
        return {};
      case ip_recvttl:
        m_receive_ttl = v != 0;
        return {};
      case ip_recvtos:
        m_receive_tos = v != 0;
        return {};
      default:
        return set_inet_option(m_inet, false, name, value);
    }
  }
  // ip_setsockopt: an AF_INET socket knows no IPv6 level.
  if (level == ipproto_ipv6 && family() == af_inet) return error(Errno::enoprotoopt);
  if (level == ipproto_ipv6 && family() == af_inet6) {
    int v = TRY(read_int(value));
    switch (name) {
      case ipv6_v6only: {
        MutexGuard guard(m_protocol.table_lock());
        if (m_binding.bound) return error(Errno::einval);  // Linux: not once bound
        m_v6only = v != 0;
        return {};
      }
      case ipv6_unicast_hops: {
        if (v < -1 || v > 255) return error(Errno::einval);
        MutexGuard guard(m_lock);
        m_ttl = v == 0 ? -1 : v;
        return {};
      }
      case ipv6_tclass: {
        if (v < -1 || v > 255) return error(Errno::einval);
        MutexGuard guard(m_lock);
        m_tos = static_cast<uint8_t>(v < 0 ? 0 : v);
        return {};
      }
      case ipv6_recvpktinfo: {
        MutexGuard guard(m_lock);
        m_receive_pktinfo6 = v != 0;
        return {};
      }
      case ipv6_recvhoplimit: {
        MutexGuard guard(m_lock);
        m_receive_hoplimit6 = v != 0;
        return {};
      }
      case ipv6_recvtclass: {
        MutexGuard guard(m_lock);
        m_receive_tclass6 = v != 0;
        return {};
      }
      case ipv6_recverr: {
        MutexGuard guard(m_lock);
        m_receive_errors6 = v != 0;
        return {};
      }
      case ipv6_recvorigdstaddr: {
        MutexGuard guard(m_lock);
        m_receive_original_destination6 = v != 0;
        return {};
      }
      case ipv6_mtu_discover: {
        if (v < 0 || v > ip_pmtudisc_omit) return error(Errno::einval);
        MutexGuard guard(m_lock);
        m_pmtu_discovery6 = static_cast<uint8_t>(v);
        return {};
      }
      default:
        return error(Errno::enoprotoopt);
    }
  }
  return error(Errno::enoprotoopt);
}

Result<size_t> UdpSocket::get_option(int level, int name, std::span<std::byte> value) {
  if (level == ipproto_ip) {
    MutexGuard guard(m_lock);
    switch (name) {
      case ip_tos: return put_inet_int(value, m_tos);
      case ip_ttl: return put_inet_int(value, m_ttl < 0 ? kDefaultTtl : m_ttl);
      case ip_pktinfo: return put_inet_int(value, m_receive_pktinfo);
      case ip_recvttl: return put_inet_int(value, m_receive_ttl);
      case ip_recvtos: return put_inet_int(value, m_receive_tos);
      default: return get_inet_option(m_inet, name, value);
    }
  }
  // ip_getsockopt: any level but SOL_IP is EOPNOTSUPP on an AF_INET socket.
  if (level == ipproto_ipv6 && family() == af_inet) return error(Errno::eopnotsupp);
  if (level == ipproto_ipv6 && family() == af_inet6) {
    switch (name) {
      case ipv6_v6only: return write_int(value, m_v6only ? 1 : 0);
      case ipv6_unicast_hops: {
        MutexGuard guard(m_lock);
        return write_int(value, m_ttl < 0 ? kDefaultTtl : m_ttl);
      }
      case ipv6_tclass: {
        MutexGuard guard(m_lock);
        return write_int(value, m_tos);
      }
      case ipv6_recvpktinfo: {
        MutexGuard guard(m_lock);
        return write_int(value, m_receive_pktinfo6);
      }
      case ipv6_recvhoplimit: {
        MutexGuard guard(m_lock);
        return write_int(value, m_receive_hoplimit6);
      }
      case ipv6_recvtclass: {
        MutexGuard guard(m_lock);
        return write_int(value, m_receive_tclass6);
      }
      case ipv6_recverr: {
        MutexGuard guard(m_lock);
        return write_int(value, m_receive_errors6);
      }
      case ipv6_recvorigdstaddr: {
        MutexGuard guard(m_lock);
        return write_int(value, m_receive_original_destination6);
      }
      case ipv6_mtu_discover: {
        MutexGuard guard(m_lock);
        return write_int(value, m_pmtu_discovery6);
      }
      default: return error(Errno::enoprotoopt);
    }
  }
  return error(Errno::enoprotoopt);
}

// --- the descriptor ---

void UdpSocket::close() {
  {
    MutexGuard guard(m_lock);
    if (m_closed) return;
    m_closed = true;
    m_readable.notify_all();
  }
  m_protocol.unbind_socket(*this);
}

void UdpSocket::release(fs::File&) { close(); }

size_t UdpSocket::next_datagram_size() {
  MutexGuard guard(m_lock);
  UdpDatagram* next = m_queue.front();
  return next ? next->packet->length() : 0;
}

Result<int64_t> UdpSocket::ioctl(fs::File&, uint32_t request, uintptr_t argument) {
  return handle_ioctl(request, argument);
}

Result<int64_t> UdpSocket::handle_ioctl(uint32_t request, uintptr_t argument) {
  int value;
  if (request == fs::linux_abi::fionread) {
    // Linux's udp_ioctl SIOCINQ: the next datagram's payload, not the whole queue.
    value = static_cast<int>(next_datagram_size());
  } else if (request == abi::siocoutq) {
    value = 0;  // sent datagrams leave at once
  } else if (request == abi::siocgstamp || request == abi::siocgstampns) {
    // sock_gettstamp: ENOENT before anything was read; "now" when the read kept no time.
    int64_t ns;
    {
      MutexGuard guard(m_lock);
      if (m_stamp_ns < 0) return error(Errno::enoent);
      if (m_stamp_ns == 0) m_stamp_ns = static_cast<int64_t>(m_stack.environment().wall_ns());
      ns = m_stamp_ns;
    }
    int64_t stamp[2] = {ns / 1'000'000'000, ns % 1'000'000'000};
    if (request == abi::siocgstamp) stamp[1] /= 1000;
    std::memcpy(reinterpret_cast<void*>(argument), stamp, sizeof(stamp));
    return 0;
  } else {
    return error(Errno::enotty);
  }
  std::memcpy(reinterpret_cast<void*>(argument), &value, sizeof(value));
  return 0;
}

uint32_t UdpSocket::readiness() {
  using namespace fs::linux_abi;
  MutexGuard guard(m_lock);
  uint32_t events = 0;
  if (m_error || !m_error_queue.empty()) events |= pollerr;
  if (!m_queue.empty()) events |= pollin | pollrdnorm;
  if (m_shut_read) events |= pollin | pollrdnorm | 0x2000;  // POLLRDHUP
  if (m_shut_read && m_shut_write) events |= pollhup;
  if (!m_shut_write) events |= pollout | pollwrnorm;
  return events;
}

uint32_t UdpSocket::poll(fs::File&) { return readiness(); }

size_t UdpSocket::queued_bytes() {
  MutexGuard guard(m_lock);
  return m_queued_bytes;
}

uint64_t UdpSocket::drops() {
  MutexGuard guard(m_lock);
  return m_drops;
}

}  // namespace nimbus::net
