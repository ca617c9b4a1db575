// The engine's table of connections: binding and ephemeral ports, demultiplexing of arriving
// segments, connection lifetime and timers, and the views (/proc/net/tcp, TCP_INFO).
#include "kernel/net/tcp/tcp_engine.h"

#include <cstring>
#include <new>

#include "kernel/net/tcp/tcp_seq.h"

namespace nimbus::net::tcp {
namespace {
constexpr int kAfInet6 = 10;
constexpr uint16_t kEphemeralLow = 32768;  // Linux's ip_local_port_range
constexpr uint16_t kEphemeralHigh = 60999;

// 0.0.0.0 covers IPv4 only, :: both families (IPV6_V6ONLY is the callers' to check).
bool addresses_overlap(const IpAddress& a, const IpAddress& b) {
  if (a == b) return true;
  if (a.is_any() && (!a.is_ipv4() || b.is_ipv4())) return true;
  return b.is_any() && (!b.is_ipv4() || a.is_ipv4());
}

// Whether a segment could be for both `a` (at `a_local`) and `b`: their addresses overlap, and
// neither is an IPv4 address facing an IPv6-only wildcard (memcached's and nginx's dual-stack
// pair: 0.0.0.0 and [::] with IPV6_V6ONLY on one port).
bool local_addresses_meet(const TcpConnection& a, const IpAddress& a_local, const TcpConnection& b) {
  if (!addresses_overlap(a_local, b.local.address)) return false;
  return !((b.settings.v6only && a_local.is_ipv4()) || (a.settings.v6only && b.local.address.is_ipv4()));
}
}  // namespace

const char* state_name(TcpState state) {
  switch (state) {
    case TcpState::established: return "ESTABLISHED";
    case TcpState::syn_sent: return "SYN-SENT";
    case TcpState::syn_received: return "SYN-RECEIVED";
    case TcpState::fin_wait_1: return "FIN-WAIT-1";
    case TcpState::fin_wait_2: return "FIN-WAIT-2";
    case TcpState::time_wait: return "TIME-WAIT";
    case TcpState::closed: return "CLOSED";
    case TcpState::close_wait: return "CLOSE-WAIT";
    case TcpState::last_ack: return "LAST-ACK";
    case TcpState::listen: return "LISTEN";
    case TcpState::closing: return "CLOSING";
  }
  return "?";
}

TcpConnection::TcpConnection(TcpEngine& engine) : m_engine(engine) {
  for (NetTimer* timer : {&retransmit_timer, &delack_timer, &keepalive_timer, &cork_timer}) {
    timer->callback = &TcpEngine::timer_fired;
    timer->context = this;
  }
}

TcpConnection::~TcpConnection() = default;

void TcpConnection::wake(uint32_t events) {
  changed.notify_all();
  poll_queue.notify(events);
}

uint32_t TcpConnection::unsent_bytes() const {
  uint32_t end = send_end();
  return seq_gt(end, snd_nxt) ? end - snd_nxt : 0;
}

uint32_t TcpConnection::receive_window() const {
  size_t free_space = receive_buffer.free_space();
  uint32_t limit = uint32_t(65535) << rcv_wscale;
  return free_space > limit ? limit : uint32_t(free_space);
}

bool TcpConnection::synchronized() const {
  return state != TcpState::closed && state != TcpState::listen && state != TcpState::syn_sent;
}

bool TcpConnection::can_receive_data() const {
  return state == TcpState::established || state == TcpState::fin_wait_1 || state == TcpState::fin_wait_2 ||
         state == TcpState::syn_received;
}

bool TcpConnection::seq_in_fin_window() const { return seq_le(snd_una, fin_seq); }

void TcpConnection::set_error(Errno e) {
  pending_error = e;
  has_error = true;
}

void TcpConnection::use_congestion_control(CongestionControl* algorithm) {
  congestion = algorithm;
  uint32_t cwnd = window.cwnd, ssthresh = window.ssthresh;
  congestion->reset(window, m_engine.host().now_ns());
  if (cwnd) {  // switching mid-connection keeps the window it had
    window.cwnd = cwnd;
    window.ssthresh = ssthresh;
  }
}

TcpEngine::TcpEngine(TcpHost& host) : m_host(host) {
  m_cookie_key[0] = host.random64();
  m_cookie_key[1] = host.random64();
  m_next_port = uint16_t(kEphemeralLow + host.random64() % (kEphemeralHigh - kEphemeralLow + 1));
}

TcpEngine::~TcpEngine() {
  // Every connection still here ends: timers, queue and parent references go with it.
  while (TcpConnection* connection = m_table.front()) {
    connection->orphan = true;
    finish(*connection);
    remove(*connection);
    // No poll() will run these again: their references go now.
    for (NetTimer* timer : {&connection->retransmit_timer, &connection->delack_timer, &connection->keepalive_timer,
                              &connection->cork_timer}) {
      m_host.disarm_timer(*timer);
      uint8_t bit = connection->timer_bit(*timer);
      if (connection->timer_references & bit) {
        connection->timer_references &= uint8_t(~bit);
        release_later(connection);
      }
    }
  }
  for (size_t i = 0; i < m_release_count; i++) m_releases[i]->unref();
  delete[] m_releases;
}

void TcpEngine::unlock() {
  // Take the pending releases while locked, drop them after: a destructor never runs
  // with the lock held.
  TcpConnection* local[16];
  size_t n = 0;
  while (m_release_count && n < 16) local[n++] = m_releases[--m_release_count];
  bool more = m_release_count != 0;
  m_lock.unlock();
  for (size_t i = 0; i < n; i++) local[i]->unref();
  if (more) {
    m_lock.lock();
    unlock();
  }
}

void TcpEngine::release_later(TcpConnection* connection) {
  if (m_release_count == m_release_capacity) {
    size_t capacity = m_release_capacity ? m_release_capacity * 2 : 16;
    auto** grown = new (kNoThrow) TcpConnection*[capacity];
    if (!grown) {
      // Without memory, leaking one reference is safer than destroying under the lock.
      return;
    }
    if (m_release_count) memcpy(grown, m_releases, m_release_count * sizeof(TcpConnection*));
    delete[] m_releases;
    m_releases = grown;
    m_release_capacity = capacity;
  }
  m_releases[m_release_count++] = connection;
}

RefPtr<TcpConnection> TcpEngine::create_connection(int family) {
  auto* connection = new (kNoThrow) TcpConnection(*this);
  if (!connection) return nullptr;
  connection->family = family;
  if (family != kAfInet6) {
    connection->local.address = IpAddress::from_ipv4({});
    connection->remote.address = IpAddress::from_ipv4({});
  }
  return adopt_ref(connection);
}

void TcpEngine::insert(TcpConnection& connection) {
  if (connection.in_table) return;
  connection.ref();
  connection.in_table = true;
  m_table.push_back(&connection);
}

void TcpEngine::remove(TcpConnection& connection) {
  if (!connection.in_table) return;
  m_table.remove(&connection);
  connection.in_table = false;
  connection.bound = false;
  release_later(&connection);
}

// The bind() conflict rules of Linux's inet_csk_bind_conflict: two sockets may share a port
// when their addresses differ (neither wildcard), when both set SO_REUSEPORT, or when both
// set SO_REUSEADDR and the existing one is not listening (a TIME-WAIT connection keeps the
// SO_REUSEADDR of the socket it was, as accepted ones inherit their listener's).
bool TcpEngine::port_conflicts(const TcpConnection& connection, const Endpoint& local) {
  for (TcpConnection* other = m_table.front(); other; other = m_table.next(other)) {
    if (other == &connection || !other->bound || other->local.port != local.port) continue;
    if (!local_addresses_meet(connection, local.address, *other)) continue;
    if (connection.settings.reuse_port && other->settings.reuse_port) continue;
    if (connection.settings.reuse_address && other->settings.reuse_address && other->state != TcpState::listen)
      continue;
    return true;
  }
  return false;
}

Result<uint16_t> TcpEngine::ephemeral_port(const IpAddress& local) {
  constexpr uint32_t range = kEphemeralHigh - kEphemeralLow + 1;
  for (uint32_t i = 0; i < range; i++) {
    uint16_t port = m_next_port;
    m_next_port = m_next_port == kEphemeralHigh ? kEphemeralLow : uint16_t(m_next_port + 1);
    bool used = false;
    for (TcpConnection* other = m_table.front(); other && !used; other = m_table.next(other))
      used = other->bound && other->local.port == port && addresses_overlap(other->local.address, local);
    if (!used) return port;
  }
  return error(Errno::eaddrinuse);
}

Result<> TcpEngine::bind(TcpConnection& connection, const Endpoint& local) {
  if (connection.bound) return error(Errno::einval);
  if (!local.address.is_any() && !m_host.is_local_address(local.address)) return error(Errno::eaddrnotavail);
  Endpoint endpoint = local;
  if (endpoint.port == 0) {
    endpoint.port = TRY(ephemeral_port(local.address));
  } else if (port_conflicts(connection, endpoint)) {
    return error(Errno::eaddrinuse);
  }
  connection.local = endpoint;
  connection.bound = true;
  connection.port_locked = local.port != 0;
  insert(connection);
  return {};
}

uint16_t TcpEngine::advertised_mss(const IpAddress& remote) {
  uint32_t mtu = m_host.path_mtu(remote);  // TCP header included
  uint32_t mss = mtu > kMinHeaderLength ? mtu - kMinHeaderLength : kDefaultMss;
  // An IPv4 datagram's total length (header included) and an IPv6 payload length are 16 bits.
  uint32_t limit = remote.is_ipv4() ? 65535 - 20 - kMinHeaderLength : 65535 - kMinHeaderLength;
  return uint16_t(mss > limit ? limit : mss);
}

uint32_t TcpEngine::ts_now(TcpConnection& connection) {
  // RFC 7323 5.4: a millisecond clock with a random per-connection offset.
  return uint32_t(m_host.now_ns() / 1000000) + connection.ts_offset;
}

Result<> TcpEngine::connect(TcpConnection& connection, const Endpoint& requested) {
  Endpoint remote = requested;
  // Linux: connecting to INADDR_ANY or :: means this host (tcp_v6_connect: ::1, or
  // 127.0.0.1 for a socket bound to an IPv4-mapped address).
  if (remote.address.is_any()) {
    bool v4 = remote.address.is_ipv4() || connection.local.address.is_ipv4();
    remote.address = v4 ? IpAddress::from_ipv4(Ipv4Address::from_octets(127, 0, 0, 1)) : IpAddress::ipv6_loopback();
  }
  // A socket bound to one family's address cannot reach the other (Linux: an IPv4-mapped
  // local address refuses IPv6 with EAFNOSUPPORT, an IPv6 one finds no route to IPv4), port
  // 0 or not: tcp_v6_connect looks at the addresses before anything is sent.
  if (connection.bound && !connection.local.address.is_any() &&
      connection.local.address.is_ipv4() != remote.address.is_ipv4())
    return error(connection.local.address.is_ipv4() ? Errno::eafnosupport : Errno::enetunreach);
  if (remote.port == 0) return error(Errno::econnrefused);
  IpAddress source = TRY(m_host.source_address_for(remote.address));
  if (!connection.bound) {
    Endpoint local{source, 0};
    local.port = TRY(ephemeral_port(source));
    connection.local = local;
    connection.bound = true;
    insert(connection);
  } else if (connection.local.address.is_any()) {
    connection.local.address = source;
  }
  if (lookup(connection.local, remote) && lookup(connection.local, remote) != &connection)
    return error(Errno::eaddrnotavail);
  connection.remote = remote;
  connection.iss = initial_sequence(connection.local, remote);
  connection.ts_offset = timestamp_offset(connection.local, remote);
  connection.snd_una = connection.iss;
  connection.snd_nxt = connection.iss;
  connection.snd_max = connection.iss;
  connection.send_base = connection.iss + 1;
  connection.send_buffer.set_capacity(connection.settings.send_buffer);
  connection.receive_buffer.set_capacity(connection.settings.receive_buffer);
  // RFC 7323 2.3: the smallest shift that lets the whole buffer be advertised.
  connection.rcv_wscale = 0;
  if (m_settings.window_scaling)
    while (connection.rcv_wscale < kMaxWindowScale && (uint32_t(65535) << connection.rcv_wscale) < connection.settings.receive_buffer)
      connection.rcv_wscale++;
  connection.connect_started = true;
  set_state(connection, TcpState::syn_sent);
  send_syn(connection);
  arm_retransmit(connection);
  return {};
}

Result<> TcpEngine::listen(TcpConnection& connection, uint32_t backlog) {
  if (connection.state != TcpState::closed && connection.state != TcpState::listen) return error(Errno::einval);
  if (!connection.bound) {
    Endpoint any{connection.family == kAfInet6 ? IpAddress{} : IpAddress::from_ipv4({}), 0};
    TRY(bind(connection, any));
  } else if (connection.state != TcpState::listen) {
    // Another socket on the port may not share it with a listener unless SO_REUSEPORT.
    for (TcpConnection* other = m_table.front(); other; other = m_table.next(other)) {
      if (other == &connection || !other->bound || other->local.port != connection.local.port) continue;
      if (!local_addresses_meet(connection, connection.local.address, *other)) continue;
      if (other->state == TcpState::listen &&
          !(other->settings.reuse_port && connection.settings.reuse_port))
        return error(Errno::eaddrinuse);
    }
  }
  connection.backlog = backlog == 0 ? 1 : backlog;
  set_state(connection, TcpState::listen);
  return {};
}

RefPtr<TcpConnection> TcpEngine::take_accepted(TcpConnection& listener) {
  TcpConnection* child = listener.accept_queue.pop_front();
  if (!child) return nullptr;
  child->in_accept_queue = false;
  child->parent = nullptr;
  release_later(&listener);  // the child's reference on its listener
  // The queue's reference becomes the caller's.
  return adopt_ref(child);
}

// The connection with exactly this 4-tuple (not a listener).
TcpConnection* TcpEngine::lookup(const Endpoint& local, const Endpoint& remote) {
  for (TcpConnection* c = m_table.front(); c; c = m_table.next(c)) {
    // Ports first: many clients of one host differ in the remote port alone, and comparing
    // two 16-byte addresses per connection was the cost of every received segment.
    if (c->remote.port != remote.port || c->local.port != local.port) continue;
    if (c->state == TcpState::listen || c->state == TcpState::closed) continue;
    if (c->local == local && c->remote == remote) return c;
  }
  return nullptr;
}

// A listener for `local`: one bound to the address before one bound to the wildcard; among
// SO_REUSEPORT listeners, one chosen by a hash of the remote endpoint.
TcpConnection* TcpEngine::lookup_listener(const Endpoint& local, const Endpoint& remote) {
  TcpConnection* candidates[16];
  size_t count = 0;
  for (int pass = 0; pass < 2 && count == 0; pass++) {
    for (TcpConnection* c = m_table.front(); c; c = m_table.next(c)) {
      if (c->state != TcpState::listen || c->local.port != local.port) continue;
      bool exact = c->local.address == local.address;
      bool wildcard = c->local.address.is_any();
      if (pass == 0 ? !exact : !wildcard) continue;
      if (wildcard) {
        // 0.0.0.0 takes IPv4 only; :: takes both unless IPV6_V6ONLY.
        bool listener_v4 = c->local.address.is_ipv4();
        if (listener_v4 && !local.address.is_ipv4()) continue;
        if (!listener_v4 && c->settings.v6only && local.address.is_ipv4()) continue;
      }
      if (count < 16) candidates[count++] = c;
    }
  }
  if (count == 0) return nullptr;
  if (count == 1) return candidates[0];
  uint32_t hash = remote.port * 2654435761u;
  for (uint8_t b : remote.address.bytes) hash = (hash ^ b) * 16777619u;
  return candidates[hash % count];
}

void TcpEngine::receive(const IpReceiveInfo& info, Packet* packet) {
  std::span<const std::byte> segment = packet->bytes();
  if (!info.checksum_verified && tcp_checksum(info.source, info.destination, segment) != 0) {
    Packet::free(packet);
    return;
  }
  auto parsed = parse_tcp_header(segment);
  if (!parsed) {
    Packet::free(packet);
    return;
  }
  TcpHeader header = *parsed;
  std::span<const std::byte> data = segment.subspan(header.header_length);
  Endpoint local{info.destination, header.destination_port};
  Endpoint remote{info.source, header.source_port};
  lock();
  TcpConnection* connection = lookup(local, remote);
  if (connection) {
    // Held until unlock(): processing may take it out of the table.
    connection->ref();
    connection->segments_in++;
    segment_arrives(*connection, header, data, info);
    release_later(connection);
  } else if (TcpConnection* listener = lookup_listener(local, remote)) {
    listener->ref();
    listen_input(*listener, header, data, info);
    release_later(listener);
  } else if (!(header.flags & kRst)) {
    // RFC 9293 3.10.7.1: a segment for a closed port is answered with RST.
    send_reset_for(header, data.size(), info.destination, info.source);
  }
  unlock();
  Packet::free(packet);
}

void TcpEngine::icmp_error(uint8_t type, uint8_t code, uint32_t next_hop_mtu, const IpAddress& source,
                           const IpAddress& destination, std::span<const std::byte> quoted) {
  if (quoted.size() < 8) return;
  uint16_t source_port = uint16_t((uint16_t(quoted[0]) << 8) | uint16_t(quoted[1]));
  uint16_t destination_port = uint16_t((uint16_t(quoted[2]) << 8) | uint16_t(quoted[3]));
  uint32_t seq = (uint32_t(quoted[4]) << 24) | (uint32_t(quoted[5]) << 16) | (uint32_t(quoted[6]) << 8) |
                 uint32_t(quoted[7]);
  lock();
  TcpConnection* c = lookup({source, source_port}, {destination, destination_port});
  // RFC 5927 4.1: believe only errors quoting a sequence number in flight.
  if (c && seq_in(seq, c->snd_una, c->snd_max + 1)) {
    bool fragmentation_needed = (type == 3 && code == 4) || type == 2;  // ICMPv6 Packet Too Big
    if (fragmentation_needed && next_hop_mtu > 68) {
      uint32_t mss = next_hop_mtu - 20 - (destination.is_ipv4() ? 20 : 40) - (c->ts_ok ? 12 : 0);
      if (mss < c->mss) {
        c->mss = uint16_t(mss);
        c->window.mss = mss;
        c->snd_nxt = c->snd_una;  // resend in the smaller size
        output(*c);
      }
    } else if (c->state == TcpState::syn_sent && (type == 3 || type == 1)) {
      // RFC 1122 4.2.3.9 allows a hard error to abort a connection being opened.
      c->set_error(Errno::ehostunreach);
      c->reset = true;
      finish(*c);
    } else if (type == 3 || type == 1) {
      c->set_error(Errno::ehostunreach);  // soft: reported through SO_ERROR only
      c->wake();
    }
  }
  unlock();
}

void TcpEngine::arm(TcpConnection& connection, NetTimer& timer, uint64_t deadline_ns) {
  uint8_t bit = connection.timer_bit(timer);
  if (!(connection.timer_references & bit)) {
    connection.ref();  // dropped by the firing (timer_fired)
    connection.timer_references |= bit;
  }
  m_host.arm_timer(timer, deadline_ns);
}

// The reference stays with the timer: the next arm() reuses it, or finish() fires it away.
void TcpEngine::disarm(TcpConnection&, NetTimer& timer) { m_host.disarm_timer(timer); }

void TcpEngine::set_state(TcpConnection& connection, TcpState state) {
  connection.state = state;
  connection.wake();
}

void TcpEngine::finish(TcpConnection& connection) {
  TcpConnection* parent = connection.parent;
  // A connection that never reached accept() has no socket to keep it.
  if (parent) connection.orphan = true;
  if (parent) {
    if (connection.in_syn_queue) {
      parent->syn_queue.remove(&connection);
      connection.in_syn_queue = false;
      release_later(&connection);
    }
    if (connection.in_accept_queue) {
      parent->accept_queue.remove(&connection);
      connection.in_accept_queue = false;
      release_later(&connection);
    }
    connection.parent = nullptr;
    release_later(parent);
  }
  connection.state = TcpState::closed;
  // Timers holding a reference fire now (doing nothing on a closed connection) and drop it.
  uint64_t now = m_host.now_ns();
  for (NetTimer* timer : {&connection.retransmit_timer, &connection.delack_timer, &connection.keepalive_timer,
                           &connection.cork_timer}) {
    if (connection.timer_references & connection.timer_bit(*timer))
      m_host.arm_timer(*timer, now);
    else
      m_host.disarm_timer(*timer);
  }
  // An orphan leaves the table. A socket still open keeps its port until it closes, except
  // that an actively opened one gives back a port bind() did not name (Linux's
  // tcp_set_state(TCP_CLOSE)), so a refused connect() leaves no port behind.
  if (connection.orphan || (connection.connect_started && !connection.port_locked)) remove(connection);
  connection.wake();
}

size_t TcpEngine::list(std::span<TcpConnectionInfo> rows) {
  size_t count = 0;
  for (TcpConnection* c = m_table.front(); c; c = m_table.next(c)) {
    if (count < rows.size()) {
      TcpConnectionInfo& row = rows[count];
      row.local = c->local;
      row.remote = c->remote;
      row.state = uint8_t(c->state);
      row.family = c->family;
      if (c->state == TcpState::listen) {
        row.send_queue = c->backlog;
        row.receive_queue = uint32_t(c->accept_queue.size());
      } else {
        row.send_queue = uint32_t(c->send_buffer.size());
        row.receive_queue = uint32_t(c->receive_buffer.size());
      }
      row.retransmits = c->backoff;
      row.timer_deadline_ns = c->retransmit_timer.armed()  ? c->retransmit_timer.deadline_ns
                              : c->keepalive_timer.armed() ? c->keepalive_timer.deadline_ns
                                                           : kNoTimer;
    }
    count++;
  }
  return count;
}

TcpSocketCounts TcpEngine::count_sockets() {
  constexpr size_t kPage = 4096;
  constexpr int kAfInet6 = 10;
  TcpSocketCounts counts;
  size_t queued = 0;
  for (TcpConnection* c = m_table.front(); c; c = m_table.next(c)) {
    if (c->state == TcpState::time_wait) {
      counts.time_wait++;
      continue;
    }
    if (c->in_syn_queue || c->state == TcpState::closed) continue;
    (c->family == kAfInet6 ? counts.in_use_ipv6 : counts.in_use_ipv4)++;
    if (c->orphan) counts.orphans++;
    if (c->state != TcpState::listen) queued += c->send_buffer.size() + c->receive_buffer.size();
  }
  counts.buffer_pages = (queued + kPage - 1) / kPage;
  return counts;
}

void TcpEngine::fill_info(TcpConnection& c, LinuxTcpInfo& info) {
  memset(&info, 0, sizeof(info));
  uint64_t now = m_host.now_ns();
  auto ms_since = [&](uint64_t t) { return t ? uint32_t((now - t) / 1000000) : 0u; };
  info.state = uint8_t(c.state);
  info.ca_state = c.in_recovery ? 3 : (c.backoff ? 4 : 0);  // TCP_CA_Recovery / TCP_CA_Loss / Open
  info.retransmits = uint8_t(c.backoff);
  info.probes = uint8_t(c.probes_out);
  info.backoff = uint8_t(c.backoff);
  info.options = uint8_t((c.ts_ok ? 1 : 0) | (c.sack_ok ? 2 : 0) | (c.wscale_ok ? 4 : 0));
  info.wscale = uint8_t((c.snd_wscale & 0xf) | (c.rcv_wscale << 4));
  info.rto = uint32_t(c.rto_ns / 1000);
  info.ato = uint32_t(kDelayedAckNs / 1000);
  info.snd_mss = c.mss;
  info.rcv_mss = c.peer_mss;
  info.unacked = c.mss ? (c.bytes_in_flight() + c.mss - 1) / c.mss : 0;
  info.sacked = c.mss ? c.scoreboard.bytes_above(c.snd_una) / c.mss : 0;
  info.last_data_sent = ms_since(c.last_data_sent_ns);
  info.last_data_recv = ms_since(c.last_data_received_ns);
  info.last_ack_recv = ms_since(c.last_ack_received_ns);
  info.pmtu = m_host.path_mtu(c.remote.address) + (c.remote.address.is_ipv4() ? 20 : 40);
  info.rcv_ssthresh = c.receive_window();
  info.rtt = uint32_t(c.srtt_ns / 1000);
  info.rttvar = uint32_t(c.rttvar_ns / 1000);
  info.snd_ssthresh = c.mss ? c.window.ssthresh / c.mss : 0;
  info.snd_cwnd = c.mss ? c.window.cwnd / c.mss : 0;
  info.advmss = advertised_mss(c.remote.address);
  info.reordering = 3;
  info.rcv_space = uint32_t(c.receive_buffer.capacity());
  info.total_retrans = uint32_t(c.total_retransmits);
  info.bytes_acked = c.bytes_acked_total;
  info.bytes_received = c.bytes_received_total;
  info.segs_out = uint32_t(c.segments_out);
  info.segs_in = uint32_t(c.segments_in);
  info.notsent_bytes = c.unsent_bytes();
  info.min_rtt = uint32_t(c.min_rtt_ns / 1000);
  info.snd_wnd = c.snd_wnd;
}

Result<> TcpEngine::set_congestion_control(TcpConnection& connection, const char* name) {
  if (strcmp(name, "cubic") == 0)
    connection.use_congestion_control(&connection.cubic);
  else if (strcmp(name, "reno") == 0)
    connection.use_congestion_control(&connection.reno);
  else
    return error(Errno::enoent);  // Linux: no such module
  return {};
}

}  // namespace nimbus::net::tcp
