// The TCP socket: the Socket operations on top of the engine, with Linux's error rules.
#include "kernel/net/tcp/tcp_socket.h"

#include <cstring>

#include "kernel/fs/linux_abi.h"
#include "kernel/net/io_vector.h"
#include "kernel/net/socket_abi.h"
#include "kernel/net/tcp/tcp_seq.h"
#include "kernel/sync/wait_queue.h"

namespace nimbus::net::tcp {
namespace {

using namespace nimbus::fs::linux_abi;

constexpr uint32_t pollrdhup = 0x2000;
constexpr size_t kCopyChunk = 64 * 1024;  // bytes copied per lock hold
constexpr uint32_t kMaxBacklog = 4096;    // net.core.somaxconn

// The engine's lock for one scope; unlock() drops released references after.
class EngineLock {
 public:
  explicit EngineLock(TcpEngine& engine) : m_engine(engine) { m_engine.lock(); }
  ~EngineLock() { m_engine.unlock(); }

 private:
  TcpEngine& m_engine;
};

Result<int> int_value(std::span<const std::byte> value) {
  if (value.size() < sizeof(int)) return error(Errno::einval);
  int v;
  memcpy(&v, value.data(), sizeof(v));
  return v;
}

size_t put_int(std::span<std::byte> out, int v) {
  size_t n = out.size() < sizeof(v) ? out.size() : sizeof(v);
  if (n) memcpy(out.data(), &v, n);
  return n;
}

uint16_t load_be16(const std::byte* p) { return uint16_t((uint16_t(p[0]) << 8) | uint16_t(p[1])); }

// TIME-WAIT is not among them: Linux hands that state to a separate timewait socket and the
// application's socket is closed (shutdown and getpeername say ENOTCONN).
bool connected_state(TcpState s) {
  return s == TcpState::established || s == TcpState::close_wait || s == TcpState::fin_wait_1 ||
         s == TcpState::fin_wait_2 || s == TcpState::closing || s == TcpState::last_ack;
}

}  // namespace

TcpSocket::TcpSocket(TcpEngine& engine, int family, RefPtr<TcpConnection> connection)
    : Socket(family, abi::sock_stream, abi::ipproto_tcp), m_engine(engine), m_connection(std::move(connection)) {}

TcpSocket::~TcpSocket() { close(); }

void TcpSocket::sync_options() {
  TcpSettings& s = m_connection->settings;
  CommonSocketOptions& o = options();
  s.reuse_address = o.reuse_address;
  s.reuse_port = o.reuse_port;
  s.linger = o.linger;
  s.linger_s = o.linger_seconds > 0 ? uint32_t(o.linger_seconds) : 0;
  s.receive_low_water = o.receive_low_water ? o.receive_low_water : 1;
  // SO_SNDBUF/SO_RCVBUF report twice what was asked (Linux); half is for data.
  uint32_t send = o.send_buffer / 2 < 2048 ? 2048 : o.send_buffer / 2;
  uint32_t receive = o.receive_buffer / 2 < 2048 ? 2048 : o.receive_buffer / 2;
  if (send != s.send_buffer) {
    s.send_buffer = send;
    if (m_connection->state != TcpState::closed) m_connection->send_buffer.set_capacity(send);
  }
  // Once the connection runs, the receive buffer only grows: the window already offered
  // (and out-of-order bytes held past the readable end) must stay inside it.
  if (receive != s.receive_buffer && (m_connection->state == TcpState::closed || receive > s.receive_buffer)) {
    s.receive_buffer = receive;
    if (m_connection->state != TcpState::closed) m_connection->receive_buffer.set_capacity(receive);
  }
  if (o.keepalive != s.keepalive) {
    s.keepalive = o.keepalive;
    if (s.keepalive)
      m_engine.restart_keepalive(*m_connection);
    else
      m_engine.disarm(*m_connection, m_connection->keepalive_timer);
  }
}

Result<Endpoint> TcpSocket::parse_address(const SocketAddress& address, bool for_bind) {
  uint16_t family = address.family();
  const std::byte* p = address.bytes.data();
  Endpoint endpoint;
  if (this->family() == abi::af_inet) {
    if (address.length < abi::sockaddr_in_size) return error(Errno::einval);
    // Linux lets bind() take AF_UNSPEC with INADDR_ANY for AF_INET.
    if (family != abi::af_inet && !(for_bind && family == abi::af_unspec)) return error(Errno::eafnosupport);
    endpoint.port = load_be16(p + 2);
    Ipv4Address v4{(uint32_t(p[4]) << 24) | (uint32_t(p[5]) << 16) | (uint32_t(p[6]) << 8) | uint32_t(p[7])};
    if (family == abi::af_unspec && !v4.is_any()) return error(Errno::eafnosupport);
    endpoint.address = IpAddress::from_ipv4(v4);
    return endpoint;
  }
  if (address.length < abi::sockaddr_in6_min_size) return error(Errno::einval);
  if (family != abi::af_inet6) return error(Errno::eafnosupport);
  endpoint.port = load_be16(p + 2);
  memcpy(endpoint.address.bytes.data(), p + 8, 16);
  if (endpoint.address.is_ipv4() && m_connection->settings.v6only) return error(for_bind ? Errno::einval : Errno::enetunreach);
  return endpoint;
}

SocketAddress TcpSocket::format_address(const Endpoint& endpoint) const {
  SocketAddress out;
  std::byte* p = out.bytes.data();
  if (family() == abi::af_inet) {
    out.length = abi::sockaddr_in_size;
    uint16_t f = abi::af_inet;
    memcpy(p, &f, 2);
    p[2] = std::byte(endpoint.port >> 8);
    p[3] = std::byte(endpoint.port);
    memcpy(p + 4, endpoint.address.bytes.data() + 12, 4);
  } else {
    out.length = abi::sockaddr_in6_size;
    uint16_t f = abi::af_inet6;
    memcpy(p, &f, 2);
    p[2] = std::byte(endpoint.port >> 8);
    p[3] = std::byte(endpoint.port);
    memcpy(p + 8, endpoint.address.bytes.data(), 16);
  }
  return out;
}

Result<> TcpSocket::wait(uint64_t deadline_ns) {
  WaitResult result = m_connection->changed.wait_until_interruptible(m_engine.mutex(), deadline_ns);
  if (result == WaitResult::interrupted) return error(Errno::erestartsys);
  if (result == WaitResult::timed_out) return error(Errno::etimedout);
  return {};
}

Result<> TcpSocket::bind(const SocketAddress& address) {
  Endpoint endpoint = TRY(parse_address(address, true));
  EngineLock lock(m_engine);
  sync_options();
  if (m_connection->bound || m_connection->state != TcpState::closed) return error(Errno::einval);
  return m_engine.bind(*m_connection, endpoint);
}

// Linux's __inet_stream_connect: the socket's connect state decides first, then the
// connection's TCP state.
Result<> TcpSocket::connect(const SocketAddress& address, bool nonblocking) {
  Endpoint remote = TRY(parse_address(address, false));
  EngineLock lock(m_engine);
  sync_options();
  TcpConnection& c = *m_connection;
  switch (m_connect_state) {
    case ConnectState::connected:
      return error(Errno::eisconn);
    case ConnectState::connecting:
      // An attempt is under way or has ended: a non-blocking call says EALREADY while it
      // runs; once it ended, this call reports the outcome below.
      if ((c.state == TcpState::syn_sent || c.state == TcpState::syn_received) && nonblocking)
        return error(Errno::ealready);
      break;
    case ConnectState::unconnected:
      if (c.state == TcpState::listen) return error(Errno::einval);
      if (c.state != TcpState::closed) return error(Errno::eisconn);
      c.has_error = false;
      c.reset = false;
      TRY(m_engine.connect(c, remote));
      m_connect_state = ConnectState::connecting;
      if (nonblocking) return error(Errno::einprogress);
      break;
  }
  uint64_t deadline = send_deadline(m_engine.host().now_ns());
  while (c.state == TcpState::syn_sent || c.state == TcpState::syn_received) {
    auto waited = wait(deadline);
    if (!waited) return error(waited.error() == Errno::etimedout ? Errno::einprogress : waited.error());
  }
  if (c.state == TcpState::closed) {
    // Refused, timed out or reset: the error once (SO_ERROR may have taken it already:
    // then ECONNABORTED), and the socket may connect again.
    Errno e = c.has_error ? c.pending_error : Errno::econnaborted;
    c.has_error = false;
    disconnect();
    return error(e);
  }
  m_connect_state = ConnectState::connected;
  return {};
}

void TcpSocket::disconnect() {
  TcpConnection& c = *m_connection;
  if (c.state != TcpState::closed) m_engine.abort(c);
  if (!c.port_locked) m_engine.remove(c);
  c.connect_started = false;
  c.ever_connected = false;
  c.shut_read = false;
  c.shut_write = false;
  m_connect_state = ConnectState::unconnected;
}

Result<> TcpSocket::listen(int backlog) {
  EngineLock lock(m_engine);
  sync_options();
  uint32_t b = backlog < 0 ? 0 : uint32_t(backlog);
  if (b > kMaxBacklog) b = kMaxBacklog;
  if (m_connection->state == TcpState::listen) {
    m_connection->backlog = b ? b : 1;
    return {};
  }
  return m_engine.listen(*m_connection, b);
}

Result<RefPtr<Socket>> TcpSocket::accept(bool nonblocking, SocketAddress* peer) {
  RefPtr<TcpConnection> child;
  {
    EngineLock lock(m_engine);
    TcpConnection& c = *m_connection;
    if (c.state != TcpState::listen) return error(Errno::einval);
    uint64_t deadline = receive_deadline(m_engine.host().now_ns());
    while (!(child = m_engine.take_accepted(c))) {
      if (nonblocking) return error(Errno::eagain);
      auto waited = wait(deadline);
      if (!waited) return error(waited.error() == Errno::etimedout ? Errno::eagain : waited.error());
      if (c.state != TcpState::listen) return error(Errno::einval);
    }
    child->orphan = false;
  }
  auto* socket = new (kNoThrow) TcpSocket(m_engine, family(), child);
  if (!socket) {
    EngineLock lock(m_engine);
    m_engine.abort(*child);
    return error(Errno::enomem);
  }
  socket->m_connect_state = ConnectState::connected;
  socket->options() = options();  // accepted sockets inherit the listener's options
  RefPtr<Socket> result = adopt_ref<Socket>(socket);
  if (peer) *peer = socket->format_address(child->remote);
  return result;
}

Result<size_t> TcpSocket::send(SendRequest& request) {
  EngineLock lock(m_engine);
  sync_options();
  TcpConnection& c = *m_connection;
  uint64_t deadline = send_deadline(m_engine.host().now_ns());
  size_t total = 0;
  bool more = request.flags & abi::msg_more;
  for (const fs::IoVec& vector : request.data) {
    size_t done = 0;
    while (done < vector.length) {
      if (c.has_error && (c.reset || c.state == TcpState::closed)) {
        if (total) return total;
        Errno e = c.pending_error;
        c.has_error = false;
        return error(e);
      }
      if (c.reset || c.shut_write) return total ? Result<size_t>(total) : error(Errno::epipe);
      if (c.state == TcpState::syn_sent || c.state == TcpState::syn_received) {
        if (request.nonblocking) return total ? Result<size_t>(total) : error(Errno::eagain);
        auto waited = wait(deadline);
        if (!waited) return total ? Result<size_t>(total) : error(waited.error() == Errno::etimedout ? Errno::eagain : waited.error());
        continue;
      }
      if (c.state != TcpState::established && c.state != TcpState::close_wait) {
        return total ? Result<size_t>(total) : error(Errno::epipe);
      }
      size_t space = c.send_buffer.free_space();
      if (space == 0) {
        if (request.nonblocking) return total ? Result<size_t>(total) : error(Errno::eagain);
        auto waited = wait(deadline);
        if (!waited) return total ? Result<size_t>(total) : error(waited.error() == Errno::etimedout ? Errno::eagain : waited.error());
        continue;
      }
      size_t chunk = vector.length - done;
      if (chunk > space) chunk = space;
      if (chunk > kCopyChunk) chunk = kCopyChunk;
      auto appended = c.send_buffer.append({static_cast<const std::byte*>(vector.base) + done, chunk});
      if (!appended) return total ? Result<size_t>(total) : error(appended.error());
      done += *appended;
      total += *appended;
      c.more_pending = more || (done < vector.length);
      m_engine.output(c);
    }
  }
  c.more_pending = more;
  m_engine.output(c);
  return total;
}

Result<size_t> TcpSocket::receive(ReceiveRequest& request) {
  EngineLock lock(m_engine);
  sync_options();
  TcpConnection& c = *m_connection;
  if (c.state == TcpState::listen) return error(Errno::enotconn);
  // A socket that never connected has nothing to read; one whose connection (or attempt)
  // ended reads its error once, then the end of the stream, as Linux's tcp_done leaves it.
  if (c.state == TcpState::closed && !c.connect_started && !c.ever_connected && !c.has_error)
    return error(Errno::enotconn);
  if (request.flags & abi::msg_oob) return error(Errno::einval);  // no urgent data kept
  bool peek = request.flags & abi::msg_peek;
  bool discard = request.flags & abi::msg_trunc;
  size_t wanted = total_length(request.data);
  size_t target = (request.flags & abi::msg_waitall) && !peek ? wanted : c.settings.receive_low_water;
  if (target > wanted) target = wanted;
  if (target == 0) target = 1;
  uint64_t deadline = receive_deadline(m_engine.host().now_ns());
  size_t copied = 0;
  size_t vector_index = 0, vector_offset = 0;
  while (copied < wanted) {
    size_t available = c.receive_buffer.size() - (peek ? copied : 0);
    if (peek && c.receive_buffer.size() < copied) available = 0;
    if (available) {
      // Take what is there (as Linux's tcp_recvmsg); only reaching `target` ends the call.
      {
        while (available && copied < wanted && vector_index < request.data.size()) {
          const fs::IoVec& vector = request.data[vector_index];
          size_t n = vector.length - vector_offset;
          if (n > available) n = available;
          if (n > kCopyChunk) n = kCopyChunk;
          if (!discard)
            c.receive_buffer.peek(peek ? copied : 0, {static_cast<std::byte*>(vector.base) + vector_offset, n});
          if (!peek) c.receive_buffer.consume(n);
          copied += n;
          available -= n;
          vector_offset += n;
          if (vector_offset == vector.length) {
            vector_index++;
            vector_offset = 0;
          }
        }
        if (!peek) m_engine.after_read(c);
        if (copied >= target) break;
        continue;
      }
    }
    if (c.shut_read || c.fin_received) break;  // end of stream
    if (c.has_error) {
      if (copied) break;
      Errno e = c.pending_error;
      c.has_error = false;
      return error(e);
    }
    if (c.reset || c.state == TcpState::closed) break;
    if (request.nonblocking) {
      if (copied) break;
      return error(Errno::eagain);
    }
    auto waited = wait(deadline);
    if (!waited) {
      if (copied) break;
      return error(waited.error() == Errno::etimedout ? Errno::eagain : waited.error());
    }
  }
  // Like Linux's tcp_recvmsg, no source address: recvfrom reports an address length of 0.
  if (request.source) request.source->length = 0;
  if ((options().timestamp || options().timestamp_ns) && copied && !request.control.empty()) {
    // tcp_recv_timestamp: when the data last read arrived, on the wall clock.
    uint64_t now = m_engine.host().now_ns();
    uint64_t age = now > c.last_data_received_ns ? now - c.last_data_received_ns : 0;
    uint64_t wall = m_engine.host().wall_ns();
    uint64_t ns = wall > age ? wall - age : wall;
    int64_t stamp[2] = {int64_t(ns / 1'000'000'000), int64_t(ns % 1'000'000'000)};
    if (options().timestamp) stamp[1] /= 1000;  // struct timeval: microseconds
    put_control_message(request, abi::sol_socket, options().timestamp ? abi::so_timestamp : abi::so_timestampns,
                        stamp, sizeof(stamp));
  }
  if (c.settings.receive_inq && !request.control.empty()) {
    // TCP_CM_INQ: what is left to read; tcp_inq_hint says 1 at the end of the stream.
    int left = int(c.receive_buffer.size());
    if (left == 0 && (c.fin_received || c.shut_read)) left = 1;
    put_control_message(request, abi::ipproto_tcp, kTcpInq, &left, sizeof(left));
  }
  return copied;
}

Result<> TcpSocket::shutdown(int how) {
  if (how != abi::shut_rd && how != abi::shut_wr && how != abi::shut_rdwr) return error(Errno::einval);
  EngineLock lock(m_engine);
  TcpConnection& c = *m_connection;
  if (c.state == TcpState::listen) {
    // Linux (inet_shutdown): SHUT_RD on a listener stops it (accept() then fails with
    // EINVAL); SHUT_WR alone changes nothing and succeeds.
    if (how == abi::shut_wr) return {};
    m_engine.close(c);
    c.orphan = false;
    return {};
  }
  if (c.state == TcpState::syn_sent) {
    // inet_shutdown: a connecting socket is disconnected, whichever direction was asked:
    // the attempt ends with ECONNRESET (poll: POLLHUP | POLLERR) and connect() may start anew.
    disconnect();
    c.set_error(Errno::econnreset);
    c.wake();
    return {};
  }
  if (!connected_state(c.state) && c.state != TcpState::syn_received) return error(Errno::enotconn);
  if (how != abi::shut_wr) {
    c.shut_read = true;
    c.wake();
  }
  if (how != abi::shut_rd) m_engine.shutdown_write(c);
  return {};
}

Result<SocketAddress> TcpSocket::local_address() {
  EngineLock lock(m_engine);
  Endpoint local = m_connection->local;
  if (!m_connection->bound && m_connection->state == TcpState::closed) local.port = 0;
  return format_address(local);
}

Result<SocketAddress> TcpSocket::peer_address() {
  EngineLock lock(m_engine);
  TcpConnection& c = *m_connection;
  if (!connected_state(c.state) && c.state != TcpState::syn_received) return error(Errno::enotconn);
  return format_address(c.remote);
}

Result<> TcpSocket::set_option(int level, int name, std::span<const std::byte> value) {
  EngineLock lock(m_engine);
  TcpConnection& c = *m_connection;
  TcpSettings& s = c.settings;
  if (level == abi::sol_socket) {
    // The socket layer stored it in CommonSocketOptions and tells us to act on it.
    sync_options();
    return {};
  }
  if (level == abi::ipproto_tcp) {
    if (name == kTcpCongestion) {
      char algorithm[17] = {};
      size_t n = value.size() < 16 ? value.size() : 16;
      if (n) memcpy(algorithm, value.data(), n);
      return m_engine.set_congestion_control(c, algorithm);
    }
    int v = TRY(int_value(value));
    switch (name) {
      case kTcpNodelay:
        s.nodelay = v != 0;
        if (s.nodelay) m_engine.output(c);  // Linux pushes what Nagle held
        return {};
      case kTcpCork:
        s.cork = v != 0;
        if (!s.cork) m_engine.output(c);  // uncorking sends the partial segment
        return {};
      case kTcpMaxseg:
        if (v != 0 && (v < 88 || v > 32767)) return error(Errno::einval);
        s.user_mss = uint16_t(v);
        return {};
      case kTcpKeepidle:
        if (v < 1 || v > 32767) return error(Errno::einval);
        s.keep_idle_s = uint32_t(v);
        m_engine.restart_keepalive(c);
        return {};
      case kTcpKeepintvl:
        if (v < 1 || v > 32767) return error(Errno::einval);
        s.keep_interval_s = uint32_t(v);
        return {};
      case kTcpKeepcnt:
        if (v < 1 || v > 127) return error(Errno::einval);
        s.keep_count = uint32_t(v);
        return {};
      case kTcpSyncnt:
        if (v < 1 || v > 127) return error(Errno::einval);
        s.syn_retries = uint8_t(v);
        return {};
      case kTcpLinger2:
        // do_tcp_setsockopt: negative means "no FIN_WAIT2 linger", above the maximum is capped.
        s.linger2_s = v < 0 ? -1 : (v > kMaxLinger2S ? kMaxLinger2S : v);
        return {};
      case kTcpWindowClamp:
        // tcp_set_window_clamp: 0 only on a closed socket; at least half the minimum SO_RCVBUF.
        if (v == 0) {
          if (c.state != TcpState::closed) return error(Errno::einval);
          s.window_clamp = 0;
          return {};
        }
        s.window_clamp = uint32_t(v) < abi::sock_min_rcvbuf / 2 ? abi::sock_min_rcvbuf / 2 : uint32_t(v);
        return {};
      case kTcpInq:
        s.receive_inq = v != 0;
        return {};
      case kTcpDeferAccept:
        s.defer_accept_s = v < 0 ? 0 : uint32_t(v);
        return {};
      case kTcpQuickack:
        s.quickack = v != 0;
        s.pingpong = v == 0;
        if (s.quickack && c.synchronized()) {
          c.ack_now = c.delack_timer.armed();
          m_engine.output(c);
        }
        return {};
      case kTcpUserTimeout:
        if (v < 0) return error(Errno::einval);
        s.user_timeout_ms = uint32_t(v);
        return {};
      default:
        return error(Errno::enoprotoopt);
    }
  }
  if (level == abi::ipproto_ip) {
    // do_ip_setsockopt, shared by AF_INET6 sockets: an int may come as one byte.
    int v = inet_int_value(value);
    switch (name) {
      case abi::ip_tos:
        s.tos = uint8_t(v & 0xfc);  // the ECN bits are TCP's, not the application's
        return {};
      case abi::ip_ttl:
        if (value.empty() || (v != -1 && (v < 1 || v > 255))) return error(Errno::einval);
        s.hop_limit = uint8_t(v == -1 ? 64 : v);
        return {};
      case abi::ip_pktinfo: s.receive_pktinfo = v != 0; return {};
      case abi::ip_recvttl: s.receive_ttl = v != 0; return {};
      case abi::ip_recvtos: s.receive_tos = v != 0; return {};
      default: return set_inet_option(s.inet, true, name, value);
    }
  }
  if (level == abi::ipproto_ipv6) {
    if (family() != abi::af_inet6) return error(Errno::enoprotoopt);
    int v = TRY(int_value(value));
    if (name == abi::ipv6_v6only) {
      if (c.bound) return error(Errno::einval);
      s.v6only = v != 0;
      return {};
    }
    if (name == abi::ipv6_tclass) {
      if (v < -1 || v > 255) return error(Errno::einval);
      s.tos = uint8_t(v < 0 ? 0 : v);
      return {};
    }
    if (name == abi::ipv6_unicast_hops) {
      if (v < -1 || v > 255) return error(Errno::einval);
      s.hop_limit = uint8_t(v <= 0 ? 64 : v);  // -1 (and 0): the default
      return {};
    }
    return error(Errno::enoprotoopt);
  }
  return error(Errno::enoprotoopt);
}

Result<size_t> TcpSocket::get_option(int level, int name, std::span<std::byte> value) {
  EngineLock lock(m_engine);
  sync_options();
  TcpConnection& c = *m_connection;
  TcpSettings& s = c.settings;
  if (level == abi::ipproto_tcp) {
    switch (name) {
      case kTcpNodelay: return put_int(value, s.nodelay);
      case kTcpCork: return put_int(value, s.cork);
      case kTcpMaxseg: return put_int(value, c.synchronized() ? c.mss : (s.user_mss ? s.user_mss : kDefaultMss));
      case kTcpKeepidle: return put_int(value, int(s.keep_idle_s));
      case kTcpKeepintvl: return put_int(value, int(s.keep_interval_s));
      case kTcpKeepcnt: return put_int(value, int(s.keep_count));
      case kTcpSyncnt: return put_int(value, int(s.syn_retries));
      case kTcpLinger2: return put_int(value, s.linger2_s < 0 ? -1 : (s.linger2_s ? s.linger2_s : int(kFinWait2Ns / 1'000'000'000)));
      case kTcpWindowClamp: return put_int(value, int(s.window_clamp));
      case kTcpInq: return put_int(value, s.receive_inq);
      case kTcpDeferAccept: return put_int(value, int(s.defer_accept_s));
      case kTcpQuickack: return put_int(value, !s.pingpong);
      case kTcpUserTimeout: return put_int(value, int(s.user_timeout_ms));
      case kTcpCongestion: {
        char algorithm[16] = {};
        const char* current = c.congestion->name();
        memcpy(algorithm, current, strlen(current));
        size_t n = value.size() < 16 ? value.size() : 16;
        if (n) memcpy(value.data(), algorithm, n);
        return n;
      }
      case kTcpInfo: {
        LinuxTcpInfo info;
        m_engine.fill_info(c, info);
        size_t n = value.size() < sizeof(info) ? value.size() : sizeof(info);
        if (n) memcpy(value.data(), &info, n);
        return n;
      }
      default:
        return error(Errno::enoprotoopt);
    }
  }
  if (level == abi::ipproto_ip) {
    switch (name) {
      case abi::ip_tos: return put_inet_int(value, s.tos);
      case abi::ip_ttl: return put_inet_int(value, s.hop_limit);
      case abi::ip_pktinfo: return put_inet_int(value, s.receive_pktinfo);
      case abi::ip_recvttl: return put_inet_int(value, s.receive_ttl);
      case abi::ip_recvtos: return put_inet_int(value, s.receive_tos);
      default: return get_inet_option(s.inet, name, value);
    }
  }
  // ip_getsockopt: an AF_INET socket answers any other level with EOPNOTSUPP.
  if (level == abi::ipproto_ipv6 && family() == abi::af_inet) return error(Errno::eopnotsupp);
  if (level == abi::ipproto_ipv6 && family() == abi::af_inet6) {
    if (name == abi::ipv6_v6only) return put_int(value, s.v6only);
    if (name == abi::ipv6_tclass) return put_int(value, s.tos);
    if (name == abi::ipv6_unicast_hops) return put_int(value, s.hop_limit);
  }
  return error(Errno::enoprotoopt);
}

int TcpSocket::take_error() {
  EngineLock lock(m_engine);
  TcpConnection& c = *m_connection;
  if (!c.has_error) return 0;
  c.has_error = false;
  return int(c.pending_error);
}

bool TcpSocket::is_listening() const { return m_connection->state == TcpState::listen; }

void TcpSocket::close() {
  EngineLock lock(m_engine);
  if (m_closed) return;
  m_closed = true;
  sync_options();
  TcpConnection& c = *m_connection;
  m_engine.close(c);
  // SO_LINGER with a timeout: wait for the data to be acknowledged (or give up).
  if (c.settings.linger && c.settings.linger_s > 0) {
    uint64_t deadline = m_engine.host().now_ns() + uint64_t(c.settings.linger_s) * 1'000'000'000;
    while (c.state == TcpState::fin_wait_1 || c.state == TcpState::closing || c.state == TcpState::last_ack) {
      if (!wait(deadline)) break;
    }
  }
}

void TcpSocket::release(fs::File&) { close(); }

Result<int64_t> TcpSocket::ioctl(fs::File&, uint32_t request, uintptr_t argument) {
  return ioctl_request(request, argument);
}

Result<int64_t> TcpSocket::ioctl_request(uint32_t request, uintptr_t argument) {
  EngineLock lock(m_engine);
  TcpConnection& c = *m_connection;
  int value;
  switch (request) {
    case abi::siocinq:
      if (c.state == TcpState::listen) return error(Errno::einval);
      value = int(c.receive_buffer.size());
      break;
    case abi::siocoutq:
      if (c.state == TcpState::listen) return error(Errno::einval);
      value = int(c.send_buffer.size());
      break;
    case abi::siocoutqnsd:
      if (c.state == TcpState::listen) return error(Errno::einval);
      value = int(c.unsent_bytes());
      break;
    default:
      return error(Errno::enotty);
  }
  memcpy(reinterpret_cast<void*>(argument), &value, sizeof(value));
  return 0;
}

uint32_t TcpSocket::poll(fs::File&) { return poll_events(); }

// Linux's tcp_poll().
uint32_t TcpSocket::poll_events() {
  EngineLock lock(m_engine);
  sync_options();
  TcpConnection& c = *m_connection;
  uint32_t events = 0;
  if (c.state == TcpState::listen) return c.accept_queue.empty() ? 0 : (pollin | pollrdnorm);
  bool read_shut = c.shut_read || c.fin_received || c.reset;
  bool write_shut = c.shut_write || c.reset;
  if ((read_shut && write_shut) || c.state == TcpState::closed) events |= pollhup;
  if (read_shut) events |= pollin | pollrdnorm | pollrdhup;
  if (c.state != TcpState::syn_sent && c.state != TcpState::syn_received) {
    if (c.receive_buffer.size() >= c.settings.receive_low_water || (c.receive_buffer.size() && read_shut))
      events |= pollin | pollrdnorm;
    if (!write_shut) {
      // Writable once a third of the buffer is free (sk_stream_is_writeable's spirit).
      size_t capacity = c.settings.send_buffer;
      size_t used = c.send_buffer.size();
      if (capacity - used >= used / 2 && used < capacity) events |= pollout | pollwrnorm;
    } else {
      events |= pollout | pollwrnorm;
    }
  }
  if (c.has_error) events |= pollerr;
  return events;
}

}  // namespace nimbus::net::tcp
