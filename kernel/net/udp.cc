// UDP (RFC 768): the binding table (ports, SO_REUSEADDR/SO_REUSEPORT as Linux allows them,
// ephemeral ports), datagram input with checksum checks, delivery to sockets, and ICMP
// errors for connected sockets.
#include "kernel/net/udp.h"

#include <new>

#include "kernel/net/checksum.h"
#include "kernel/net/icmp.h"
#include "kernel/net/socket_abi.h"
#include "kernel/net/ipv4.h"
#include "kernel/net/udp_socket.h"
#include "kernel/sync/mutex.h"

namespace nimbus::net {

namespace {
// Linux's net.ipv4.ip_local_port_range default.
constexpr uint16_t kEphemeralFirst = 32768;
constexpr uint16_t kEphemeralLast = 60999;
constexpr size_t kUdpHeaderSize = 8;
}  // namespace

struct UdpProtocol::State {
  Mutex lock;
  IntrusiveList<UdpSocket, &UdpSocket::binding_node> bound;  // each holds a reference
  Statistics statistics;
};

UdpProtocol::UdpProtocol(NetStack& stack, Kind kind) : m_stack(stack), m_kind(kind), m_state(new (kNoThrow) State()) {}

UdpProtocol::~UdpProtocol() {
  while (UdpSocket* socket = m_state->bound.pop_front()) {
    socket->m_binding.bound = false;
    socket->unref();
  }
  delete m_state;
}

Result<RefPtr<Socket>> UdpProtocol::create_socket(int family) {
  if (family != abi::af_inet && family != abi::af_inet6) return error(Errno::eafnosupport);
  UdpSocket* socket = new (kNoThrow) UdpSocket(*this, m_stack, family);
  if (!socket) return error(Errno::enomem);
  return RefPtr<Socket>(adopt_ref(socket));
}

namespace {

struct BindRequest {
  IpAddress address;
  uint16_t port;
  bool v4, v6;  // the address families the binding covers
  bool reuse_address, reuse_port;
};

bool covers_ipv4(const UdpSocket& socket, const IpAddress& address) {
  if (address.is_ipv4()) return true;
  return socket.family() == abi::af_inet6 && !socket.v6only() && address.is_any();
}
bool covers_ipv6(const UdpSocket& socket, const IpAddress& address) {
  return socket.family() == abi::af_inet6 && !address.is_ipv4();
}

// Linux's inet_bind_conflict for UDP (udp_lib_lport_inuse): the same port, overlapping
// families and addresses (either a wildcard, or equal), unless both sockets set
// SO_REUSEADDR or both set SO_REUSEPORT.
bool conflicts(UdpSocket& other, const BindRequest& request) {
  const UdpSocket::Binding& binding = other.binding();
  if (!binding.bound || binding.local_port != request.port) return false;
  bool v4 = covers_ipv4(other, binding.local_address) && request.v4;
  bool v6 = covers_ipv6(other, binding.local_address) && request.v6;
  if (!v4 && !v6) return false;
  if (!binding.local_address.is_any() && !request.address.is_any() && !(binding.local_address == request.address))
    return false;
  CommonSocketOptions& options = other.options();
  if (options.reuse_address && request.reuse_address) return false;
  if (options.reuse_port && request.reuse_port) return false;
  return true;
}

}  // namespace

Result<> UdpProtocol::bind_socket(UdpSocket& socket, const IpAddress& address, uint16_t port, bool lock_address,
                                  bool lock_port) {
  BindRequest request{address, port, covers_ipv4(socket, address), covers_ipv6(socket, address),
                      socket.options().reuse_address, socket.options().reuse_port};
  MutexGuard guard(m_state->lock);
  if (socket.m_binding.bound) return error(Errno::einval);
  auto in_use = [&](uint16_t candidate) {
    request.port = candidate;
    for (UdpSocket* other = m_state->bound.front(); other; other = m_state->bound.next(other))
      if (other != &socket && conflicts(*other, request)) return true;
    return false;
  };
  if (port == 0) {
    // Ephemeral: start at a random point of the range, take the first free port.
    constexpr uint32_t range = kEphemeralLast - kEphemeralFirst + 1;
    uint32_t start = static_cast<uint32_t>(m_stack.environment().random64() % range);
    bool found = false;
    for (uint32_t i = 0; i < range; i++) {
      uint16_t candidate = static_cast<uint16_t>(kEphemeralFirst + (start + i) % range);
      // An ephemeral port is never shared, whatever the reuse options say (Linux).
      bool taken = false;
      for (UdpSocket* other = m_state->bound.front(); other; other = m_state->bound.next(other))
        if (other->m_binding.bound && other->m_binding.local_port == candidate) taken = true;
      if (!taken) {
        port = candidate;
        found = true;
        break;
      }
    }
    if (!found) return error(Errno::eaddrinuse);
  } else if (in_use(port)) {
    return error(Errno::eaddrinuse);
  }
  socket.m_binding.local_address = address;
  socket.m_binding.local_port = port;
  socket.m_binding.bound = true;
  socket.m_binding.address_locked = lock_address;
  socket.m_binding.port_locked = lock_port;
  socket.ref();
  m_state->bound.push_back(&socket);
  return {};
}

Result<> UdpProtocol::connect_socket(UdpSocket& socket, const IpAddress& local, const IpAddress& remote,
                                     uint16_t remote_port) {
  bool bound;
  {
    MutexGuard guard(m_state->lock);
    bound = socket.m_binding.bound;
  }
  if (!bound) {
    IpAddress any = socket.family() == abi::af_inet ? IpAddress::from_ipv4({}) : IpAddress{};
    TRY(bind_socket(socket, any, 0, false, false));
  }
  MutexGuard guard(m_state->lock);
  if (socket.m_binding.local_address.is_any()) socket.m_binding.local_address = local;
  socket.m_binding.remote_address = remote;
  socket.m_binding.remote_port = remote_port;
  socket.m_binding.connected = true;
  return {};
}

void UdpProtocol::disconnect_socket(UdpSocket& socket) {
  bool drop = false;
  {
    MutexGuard guard(m_state->lock);
    UdpSocket::Binding& binding = socket.m_binding;
    binding.connected = false;
    binding.remote_address = {};
    binding.remote_port = 0;
    // Linux's __udp_disconnect: what connect() chose goes back; what bind() chose stays.
    if (!binding.address_locked)
      binding.local_address = socket.family() == abi::af_inet ? IpAddress::from_ipv4({}) : IpAddress{};
    if (!binding.port_locked && binding.bound) {
      m_state->bound.remove(&socket);
      binding.bound = false;
      binding.local_port = 0;
      drop = true;
    }
  }
  if (drop) socket.unref();
}

void UdpProtocol::unbind_socket(UdpSocket& socket) {
  {
    MutexGuard guard(m_state->lock);
    if (!socket.m_binding.bound) return;
    m_state->bound.remove(&socket);
    socket.m_binding.bound = false;
  }
  socket.unref();
}

Mutex& UdpProtocol::table_lock() { return m_state->lock; }

void UdpProtocol::count_sent() {
  MutexGuard guard(m_state->lock);
  m_state->statistics.out_datagrams++;
}

// Linux's ping_rcv / ping_lookup: the socket bound to the identifier (and to the address,
// when it chose one) gets the whole message; no match is no error (echo replies to ping
// programs using raw sockets, or to nobody).
bool UdpProtocol::receive_echo_reply(const IpReceiveInfo& info, Packet* packet) {
  if (packet->length() < 8) return false;
  uint16_t identifier = load_be16(packet->data() + 4);
  RefPtr<UdpSocket> target;
  {
    MutexGuard guard(m_state->lock);
    int best = -1;
    for (UdpSocket* s = m_state->bound.front(); s; s = m_state->bound.next(s)) {
      int score = s->match_score(info, identifier, 0);
      if (score > best) {
        best = score;
        target = RefPtr<UdpSocket>(s);
      }
    }
    if (!target) return false;
    m_state->statistics.in_datagrams++;
  }
  if (!target->enqueue(packet, info, 0)) {
    MutexGuard guard(m_state->lock);
    m_state->statistics.receive_buffer_errors++;
  }
  return true;
}

// RFC 768 "Fields": source port, destination port, length (header included), checksum
// over the pseudo-header, header and data (0: none sent, IPv4 only).
bool UdpProtocol::receive(const IpReceiveInfo& info, Packet* packet) {
  auto malformed = [&](bool checksum) {
    MutexGuard guard(m_state->lock);
    m_state->statistics.in_errors++;
    if (checksum) m_state->statistics.in_checksum_errors++;
    Packet::free(packet);
    return true;  // handled: no ICMP error for a datagram we could not even read
  };
  if (packet->length() < kUdpHeaderSize) return malformed(false);
  const std::byte* p = packet->data();
  uint16_t source_port = load_be16(p);
  uint16_t destination_port = load_be16(p + 2);
  uint16_t length = load_be16(p + 4);
  uint16_t checksum = load_be16(p + 6);
  if (length < kUdpHeaderSize || length > packet->length()) return malformed(false);
  packet->trim(length);
  bool ipv4 = info.source.is_ipv4();
  if (!info.checksum_verified && !(ipv4 && checksum == 0)) {
    uint32_t sum = pseudo_header_sum(info.source, info.destination, kIpProtocolUdp, length);
    if (checksum_finish(checksum_add(sum, packet->bytes())) != 0) return malformed(true);
  }
  packet->pull(kUdpHeaderSize);

  bool unicast = m_stack.is_local_address(info.destination);
  if (!unicast) {
    // Broadcast (or multicast): a copy for every socket that matches.
    RefPtr<UdpSocket> targets[16];
    size_t found = 0;
    {
      MutexGuard guard(m_state->lock);
      for (UdpSocket* s = m_state->bound.front(); s && found < 16; s = m_state->bound.next(s))
        if (s->match_score(info, destination_port, source_port) >= 0) targets[found++] = RefPtr<UdpSocket>(s);
      m_state->statistics.in_datagrams += found ? 1 : 0;
      if (!found) m_state->statistics.no_ports++;
    }
    if (!found) {
      Packet::free(packet);
      return false;
    }
    for (size_t i = 0; i + 1 < found; i++) {
      auto copy = Packet::try_allocate(Packet::kDefaultHeadroom + packet->length());
      if (!copy) break;
      std::byte* out = (*copy)->put(packet->length());
      for (size_t j = 0; j < packet->length(); j++) out[j] = packet->data()[j];
      if (!targets[i]->enqueue(*copy, info, source_port)) {
        MutexGuard guard(m_state->lock);
        m_state->statistics.receive_buffer_errors++;
      }
    }
    if (!targets[found - 1]->enqueue(packet, info, source_port)) {
      MutexGuard guard(m_state->lock);
      m_state->statistics.receive_buffer_errors++;
    }
    return true;
  }

  RefPtr<UdpSocket> target;
  {
    MutexGuard guard(m_state->lock);
    // The most specific match wins (connected over bound address over wildcard); among
    // equals that all set SO_REUSEPORT, a hash of the source spreads the load; otherwise
    // the latest bound.
    int best = -1;
    size_t ties = 0;
    UdpSocket* chosen = nullptr;
    uint32_t hash = (uint32_t(source_port) * 0x9e3779b1u) ^ info.source.ipv4().value * 0x85ebca6bu;
    for (UdpSocket* s = m_state->bound.front(); s; s = m_state->bound.next(s)) {
      int score = s->match_score(info, destination_port, source_port);
      if (score < 0) continue;
      if (score > best) {
        best = score;
        chosen = s;
        ties = 1;
      } else if (score == best) {
        if (s->options().reuse_port && chosen->options().reuse_port) {
          ties++;
          if (hash % ties == 0) chosen = s;
        } else {
          // SO_REUSEADDR twins: the one bound last wins, as in Linux's hash chains.
          chosen = s;
        }
      }
    }
    if (chosen) {
      target = RefPtr<UdpSocket>(chosen);
      m_state->statistics.in_datagrams++;
    } else {
      m_state->statistics.no_ports++;
    }
  }
  if (!target) {
    Packet::free(packet);
    return false;
  }
  if (!target->enqueue(packet, info, source_port)) {
    MutexGuard guard(m_state->lock);
    m_state->statistics.receive_buffer_errors++;
  }
  return true;
}

namespace {

// What an ICMP error means to a UDP socket: Linux's icmp_err_convert (IPv4) and
// icmpv6_err_convert (IPv6, whose type and code the error queue reports in ICMPv6's terms).
struct ConvertedError {
  bool known = false;
  Errno error{};
  bool hard = false;  // reported to a connected socket even without IP_RECVERR
  uint8_t type = 0, code = 0;  // as the error queue reports them
};

ConvertedError convert_icmp_error(uint8_t type, uint8_t code, bool ipv6) {
  ConvertedError c;
  c.known = true;
  c.type = type;
  c.code = code;
  if (type == kIcmpDestinationUnreachable) {
    if (ipv6) {
      // Translated back: ICMPv6 destination unreachable (1) or packet too big (2).
      switch (code) {
        case kIcmpPortUnreachable: c = {true, Errno::econnrefused, true, 1, 4}; break;
        case 10: c = {true, Errno::eacces, true, 1, 1}; break;
        case kIcmpFragmentationNeeded: c = {true, Errno::emsgsize, false, 2, 0}; break;
        default: c = {true, Errno::ehostunreach, false, 1, 3}; break;
      }
      return c;
    }
    static constexpr struct {
      Errno error;
      bool hard;
    } kUnreachable[] = {
        {Errno::enetunreach, false}, {Errno::ehostunreach, false}, {Errno::enoprotoopt, true},
        {Errno::econnrefused, true}, {Errno::emsgsize, false},     {Errno::eopnotsupp, false},
        {Errno::enetunreach, true},  {Errno::ehostdown, true},     {Errno::enonet, true},
        {Errno::eacces, true},       {Errno::eacces, true},        {Errno::enetunreach, false},
        {Errno::ehostunreach, false}, {Errno::ehostunreach, true}, {Errno::ehostunreach, true},
        {Errno::ehostunreach, true},
    };
    if (code >= sizeof(kUnreachable) / sizeof(kUnreachable[0])) return {};
    c.error = kUnreachable[code].error;
    c.hard = kUnreachable[code].hard;
    return c;
  }
  if (type == kIcmpTimeExceeded) {
    c.error = Errno::ehostunreach;
    if (ipv6) c.type = 3;
    return c;
  }
  if (type == kIcmpParameterProblem) {
    c.error = Errno::eproto;
    c.hard = true;
    if (ipv6) c.type = 4, c.code = 0;
    return c;
  }
  return {};
}

}  // namespace

void UdpProtocol::icmp_error(const IpReceiveInfo& info, uint8_t type, uint8_t code, const IpAddress& original_source,
                             const IpAddress& original_destination, std::span<const std::byte> quoted_udp_header,
                             uint32_t next_hop_mtu) {
  if (quoted_udp_header.size() < 4) return;
  uint16_t source_port = load_be16(quoted_udp_header.data());
  uint16_t destination_port = load_be16(quoted_udp_header.data() + 2);
  bool ipv4 = original_destination.is_ipv4();
  ConvertedError converted = convert_icmp_error(type, code, !ipv4);
  if (!converted.known) return;
  // The socket a reply from the destination would reach: a connected one to it first, else
  // one bound to the port (only IP_RECVERR lets an unconnected socket hear of errors).
  RefPtr<UdpSocket> target;
  bool connected = false;
  {
    MutexGuard guard(m_state->lock);
    for (UdpSocket* s = m_state->bound.front(); s; s = m_state->bound.next(s)) {
      const UdpSocket::Binding& b = s->m_binding;
      if (b.local_port != source_port) continue;
      if (!b.local_address.is_any() && !(b.local_address == original_source)) continue;
      if (b.connected) {
        if (b.remote_port != destination_port || !(b.remote_address == original_destination)) continue;
        target = RefPtr<UdpSocket>(s);
        connected = true;
        break;
      }
      if (!target) target = RefPtr<UdpSocket>(s);
    }
  }
  if (!target) return;
  if (!target->receives_errors(ipv4)) {
    if (converted.hard && connected) target->report_error(converted.error);
    return;
  }
  SocketError queued;
  queued.error = converted.error;
  queued.origin = ipv4 ? kErrorOriginIcmp : kErrorOriginIcmp6;
  queued.type = converted.type;
  queued.code = converted.code;
  queued.info = converted.error == Errno::emsgsize ? next_hop_mtu : 0;
  queued.destination = {original_destination, destination_port};
  queued.offender = info.source;
  std::span<const std::byte> payload =
      quoted_udp_header.size() > 8 ? quoted_udp_header.subspan(8) : std::span<const std::byte>{};
  target->queue_error(queued, payload);
}

size_t UdpProtocol::snapshot(std::span<SocketSnapshot> out) {
  // Collect references under the table lock, read each socket's queue under its own.
  size_t total = 0;
  MutexGuard guard(m_state->lock);
  for (UdpSocket* s = m_state->bound.front(); s; s = m_state->bound.next(s), total++) {
    if (total >= out.size()) continue;
    SocketSnapshot& entry = out[total];
    entry.family = s->family();
    entry.local = {s->m_binding.local_address, s->m_binding.local_port};
    if (s->m_binding.connected) entry.remote = {s->m_binding.remote_address, s->m_binding.remote_port};
    entry.references = s->ref_count();
    entry.receive_queue_bytes = s->queued_bytes();
    entry.drops = s->drops();
  }
  return total;
}

UdpProtocol::Statistics UdpProtocol::statistics() {
  MutexGuard guard(m_state->lock);
  return m_state->statistics;
}

}  // namespace nimbus::net
