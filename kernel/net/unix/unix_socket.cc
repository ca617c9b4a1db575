// UnixSocket: creation, names, connections (socketpair, listen/connect/accept), shutdown,
// close, readiness and options (net/unix/af_unix.c). Data transfer is in unix_transfer.cc.
#include "kernel/net/unix/unix_socket.h"

#include <cstdint>
#include <cstring>

#include "kernel/fs/fs_internal.h"
#include "kernel/net/socket_abi.h"

namespace nimbus::net {

using namespace abi;
using fs::linux_abi::pollerr;
using fs::linux_abi::pollhup;
using fs::linux_abi::pollin;
using fs::linux_abi::pollout;
using fs::linux_abi::pollrdnorm;
using fs::linux_abi::pollwrnorm;

namespace {
// net.core.somaxconn: listen's backlog is capped at it.
constexpr int kSomaxconn = 4096;
}  // namespace

UnixSocket::UnixSocket(int type, int protocol) : Socket(af_unix, type, protocol) { m_binding.socket = this; }

UnixSocket::~UnixSocket() {
  // Normally gone at close; a socket that never had a file must not stay listed either.
  if (m_bound) unix_unbind_name(m_binding);
  IntrusiveList<UnixMessage, &UnixMessage::node> messages;
  while (UnixMessage* m = m_queue.pop_front()) messages.push_back(m);
  free_messages(messages);
  while (Pending* p = m_pending.pop_front()) {
    p->socket->close_embryo();
    delete p;
  }
}

Result<RefPtr<UnixSocket>> UnixSocket::create(int type, int protocol) {
  // unix_create: any protocol but 0 (or PF_UNIX) is refused; SOCK_RAW is a datagram socket.
  if (protocol != 0 && protocol != af_unix) return error(Errno::eprotonosupport);
  if (type == sock_raw) type = sock_dgram;
  if (type != sock_stream && type != sock_dgram && type != sock_seqpacket) return error(Errno::esocktnosupport);
  UnixSocket* socket = new (kNoThrow) UnixSocket(type, protocol);
  if (!socket) return error(Errno::enomem);
  return adopt_ref(socket);
}

Result<> UnixSocket::create_pair(int type, int protocol, RefPtr<UnixSocket>* first, RefPtr<UnixSocket>* second) {
  RefPtr<UnixSocket> a = TRY(create(type, protocol));
  RefPtr<UnixSocket> b = TRY(create(type, protocol));
  UnixCredentials credentials = unix_current_credentials();
  a->m_peer = b;
  b->m_peer = a;
  a->m_state = b->m_state = State::connected;
  a->m_peer_credentials = b->m_peer_credentials = credentials;
  a->m_has_peer_credentials = b->m_has_peer_credentials = true;
  *first = std::move(a);
  *second = std::move(b);
  return {};
}

bool UnixSocket::is_connection_oriented() const { return type() == sock_stream || type() == sock_seqpacket; }

void UnixSocket::wake(uint32_t events) {
  m_changed.notify_all();
  m_poll_queue.notify(events);
}

Result<> UnixSocket::bind_locked(const UnixAddress& address) {
  if (m_binding.address.kind != UnixAddress::Kind::none) {
    // Linux makes the node before it looks at the socket: an existing path is EADDRINUSE.
    if (address.kind == UnixAddress::Kind::path &&
        fs::detail::lookup_at(unix_file_context(), fs::linux_abi::at_fdcwd, address.path(), fs::PathWalk::Follow::no,
                              false))
      return error(Errno::eaddrinuse);
    return error(Errno::einval);
  }
  TRY(unix_bind_name(m_binding, address));
  m_bound = true;
  return {};
}

Result<> UnixSocket::autobind_locked() {
  if (m_binding.address.kind != UnixAddress::Kind::none) return {};
  return bind_locked(UnixAddress{});
}

Result<> UnixSocket::autobind_for_credentials() {
  if (!options().pass_credentials) return {};
  MutexGuard guard(m_lock);
  return autobind_locked();
}

Result<> UnixSocket::bind(const SocketAddress& address) {
  UnixAddress name = TRY(parse_unix_address(address));
  MutexGuard guard(m_lock);
  if (name.kind == UnixAddress::Kind::none) return autobind_locked();  // bound already: nothing to do
  return bind_locked(name);
}

Result<> UnixSocket::listen(int backlog) {
  if (!is_connection_oriented()) return error(Errno::enotsup);
  if (static_cast<unsigned>(backlog) > kSomaxconn) backlog = kSomaxconn;
  MutexGuard guard(m_lock);
  if (m_binding.address.kind == UnixAddress::Kind::none) return error(Errno::einval);
  if (m_state == State::connected) return error(Errno::einval);
  m_backlog = backlog;
  m_state = State::listening;
  // A listener's SO_PEERCRED is its own (what its clients will see), as Linux sets it.
  m_peer_credentials = unix_current_credentials();
  m_has_peer_credentials = true;
  wake(0);  // a larger backlog may let waiting connects in
  return {};
}

Result<> UnixSocket::connect(const SocketAddress& address, bool nonblocking) {
  if (is_connection_oriented()) return connect_stream(address, nonblocking);
  return connect_datagram(address);
}

// unix_stream_connect: a new socket (the "embryo") is made connected to this one and queued
// at the listener for accept(); connect returns at once unless the backlog is full.
Result<> UnixSocket::connect_stream(const SocketAddress& address, bool nonblocking) {
  UnixAddress name = TRY(parse_unix_address(address));
  if (name.kind == UnixAddress::Kind::none) return error(Errno::einval);
  TRY(autobind_for_credentials());
  RefPtr<UnixSocket> listener = TRY(unix_find_name(name));
  if (listener->type() != type()) return error(Errno::eprototype);
  RefPtr<UnixSocket> embryo = TRY(create(type(), protocol()));
  auto* pending = new (kNoThrow) Pending;
  if (!pending) return error(Errno::enomem);
  UnixCredentials credentials = unix_current_credentials();
  UnixCredentials listener_credentials;
  uint64_t deadline = send_deadline(unix_now_ns());
  {
    MutexGuard self(m_lock);
    if (m_state == State::connected || m_state == State::listening) {
      delete pending;
      return error(m_state == State::connected ? Errno::eisconn : Errno::einval);
    }
  }
  {
    MutexGuard guard(listener->m_lock);
    for (;;) {
      if (listener->m_state != State::listening || listener->m_closed || (listener->m_shutdown & kReceiveShutdown)) {
        delete pending;
        return error(Errno::econnrefused);
      }
      if (listener->m_pending.size() <= static_cast<size_t>(listener->m_backlog)) break;
      if (nonblocking) {
        delete pending;
        return error(Errno::eagain);
      }
      WaitResult waited = listener->m_changed.wait_until_interruptible(listener->m_lock, deadline);
      if (waited != WaitResult::woken) {
        delete pending;
        return error(wait_error(waited, deadline));
      }
    }
    // The listener's SO_PEERCRED is its owner's, recorded at listen() (another process's
    // after a fork): what this client sees as its peer.
    listener_credentials = listener->m_peer_credentials;
    embryo->m_state = State::connected;
    embryo->m_peer = RefPtr<UnixSocket>(this);
    embryo->m_binding.address = listener->m_binding.address;  // reported, not registered
    embryo->m_peer_credentials = credentials;
    embryo->m_has_peer_credentials = true;
    pending->socket = embryo;
    listener->m_pending.push_back(pending);
    listener->wake(pollin | pollrdnorm);
  }
  MutexGuard guard(m_lock);
  m_peer = embryo;
  m_state = State::connected;
  m_peer_credentials = listener_credentials;  // copy_peercred: the listener's, from listen()
  m_has_peer_credentials = true;
  wake(pollout);
  return {};
}

// unix_dgram_connect: sets (AF_UNSPEC: clears) the default destination.
Result<> UnixSocket::connect_datagram(const SocketAddress& address) {
  if (address.length < sizeof(uint16_t)) return error(Errno::einval);
  if (address.family() == af_unspec) {
    MutexGuard guard(m_lock);
    m_peer = nullptr;
    m_state = State::unconnected;
    m_has_peer_credentials = false;
    return {};
  }
  UnixAddress name = TRY(parse_unix_address(address));
  if (name.kind == UnixAddress::Kind::none) return error(Errno::einval);
  TRY(autobind_for_credentials());
  RefPtr<UnixSocket> other = TRY(unix_find_name(name));
  if (other->type() != type()) return error(Errno::eprototype);
  MutexGuard guard(m_lock);
  m_peer = std::move(other);
  m_state = State::connected;
  m_peer_credentials = unix_current_credentials();
  m_has_peer_credentials = true;
  return {};
}

Result<RefPtr<Socket>> UnixSocket::accept(bool nonblocking, SocketAddress* peer) {
  if (!is_connection_oriented()) return error(Errno::enotsup);
  Pending* pending = nullptr;
  {
    MutexGuard guard(m_lock);
    if (m_state != State::listening) return error(Errno::einval);
    uint64_t deadline = receive_deadline(unix_now_ns());
    while (!(pending = m_pending.pop_front())) {
      if (nonblocking) return error(Errno::eagain);
      WaitResult waited = m_changed.wait_until_interruptible(m_lock, deadline);
      if (waited != WaitResult::woken) return error(wait_error(waited, deadline));
      if (m_state != State::listening) return error(Errno::einval);
    }
    wake(pollout);  // room in the backlog for a waiting connect
  }
  RefPtr<UnixSocket> socket = std::move(pending->socket);
  delete pending;
  // unix_sock_inherit_flags: the accepted socket takes the listener's SO_PASSCRED.
  socket->options().pass_credentials = options().pass_credentials;
  if (peer) {
    auto address = socket->peer_address();
    *peer = address ? *address : UnixAddress{}.to_socket_address();
  }
  return RefPtr<Socket>(std::move(socket));
}

Result<> UnixSocket::shutdown(int how) {
  if (how < shut_rd || how > shut_rdwr) return error(Errno::einval);
  uint8_t mode = static_cast<uint8_t>(how + 1);  // SHUT_RD -> RCV_SHUTDOWN, SHUT_WR -> SEND_SHUTDOWN
  RefPtr<UnixSocket> peer;
  {
    MutexGuard guard(m_lock);
    m_shutdown |= mode;
    if (is_connection_oriented()) peer = m_peer;
    wake(0);
  }
  if (peer) {
    // The peer sees the mirror image: our SHUT_WR is its end of input.
    uint8_t peer_mode = 0;
    if (mode & kReceiveShutdown) peer_mode |= kSendShutdown;
    if (mode & kSendShutdown) peer_mode |= kReceiveShutdown;
    MutexGuard guard(peer->m_lock);
    peer->m_shutdown |= peer_mode;
    peer->wake(0);
  }
  return {};
}

Result<SocketAddress> UnixSocket::local_address() {
  MutexGuard guard(m_lock);
  return m_binding.address.to_socket_address();
}

Result<SocketAddress> UnixSocket::peer_address() {
  RefPtr<UnixSocket> peer;
  {
    MutexGuard guard(m_lock);
    if (!m_peer) return error(Errno::enotconn);
    peer = m_peer;
  }
  MutexGuard guard(peer->m_lock);
  return peer->m_binding.address.to_socket_address();
}

Result<> UnixSocket::set_option(int level, int, std::span<const std::byte>) {
  // AF_UNIX has no options of its own: other levels are EOPNOTSUPP (no ops->setsockopt).
  return error(level == sol_socket ? Errno::enoprotoopt : Errno::enotsup);
}

Result<size_t> UnixSocket::get_option(int level, int name, std::span<std::byte> value) {
  if (level != sol_socket) return error(Errno::enotsup);
  if (name != so_peercred) return error(Errno::enoprotoopt);
  // Unconnected: no pid, uid and gid -1, as Linux reports a socket without peer credentials.
  Ucred credentials{0, UINT32_MAX, UINT32_MAX};
  {
    MutexGuard guard(m_lock);
    if (m_has_peer_credentials)
      credentials = {m_peer_credentials.pid, m_peer_credentials.uid, m_peer_credentials.gid};
  }
  size_t length = value.size() < sizeof(credentials) ? value.size() : sizeof(credentials);
  memcpy(value.data(), &credentials, length);
  return length;
}

int UnixSocket::take_error() {
  MutexGuard guard(m_lock);
  int error = m_error;
  m_error = 0;
  return error;
}

bool UnixSocket::is_listening() const { return m_state == State::listening; }

void UnixSocket::release(fs::File&) { close(false); }

// unix_release_sock: the name goes, the peer sees the end of the connection (and a reset if
// this socket had unread data or was never accepted), queued messages and pending
// connections are dropped.
void UnixSocket::close(bool embryo) {
  IntrusiveList<UnixMessage, &UnixMessage::node> messages;
  IntrusiveList<Pending, &Pending::node> pending;
  RefPtr<UnixSocket> peer;
  bool had_unread;
  {
    MutexGuard guard(m_lock);
    if (m_closed) return;
    m_closed = true;
    m_shutdown = kReceiveShutdown | kSendShutdown;
    peer = std::move(m_peer);
    had_unread = !m_queue.empty();
    while (UnixMessage* m = m_queue.pop_front()) messages.push_back(m);
    m_queued_bytes = 0;
    while (Pending* p = m_pending.pop_front()) pending.push_back(p);
    m_state = State::unconnected;
    wake(0);
  }
  if (m_bound) unix_unbind_name(m_binding);
  if (peer && is_connection_oriented()) {
    MutexGuard guard(peer->m_lock);
    peer->m_shutdown = kReceiveShutdown | kSendShutdown;
    if (had_unread || embryo) peer->m_error = static_cast<int>(Errno::econnreset);
    peer->wake(0);
  }
  peer = nullptr;
  free_messages(messages);
  while (Pending* p = pending.pop_front()) {
    p->socket->close_embryo();
    delete p;
  }
}

void UnixSocket::uncharge(const UnixMessage& message) {
  m_sent_bytes.fetch_sub(message.charge(), std::memory_order_relaxed);
  m_unread_sent.fetch_sub(message.length, std::memory_order_relaxed);
  MutexGuard guard(m_lock);
  wake(pollout | pollwrnorm);
}

// unix_poll (streams) and unix_dgram_poll (datagrams, seqpackets).
uint32_t UnixSocket::poll(fs::File&) {
  uint32_t mask = 0;
  RefPtr<UnixSocket> datagram_peer;
  {
    MutexGuard guard(m_lock);
    if (m_error) mask |= pollerr;
    if (m_shutdown == (kReceiveShutdown | kSendShutdown)) mask |= pollhup;
    if (m_shutdown & kReceiveShutdown) mask |= pollrdhup | pollin | pollrdnorm;
    if (!m_queue.empty() || !m_pending.empty()) mask |= pollin | pollrdnorm;
    if (is_connection_oriented() && m_state == State::unconnected) mask |= pollhup;
    bool writable = m_state != State::listening &&
                    m_sent_bytes.load(std::memory_order_relaxed) * 4 <= options().send_buffer;
    if (writable) mask |= pollout | pollwrnorm | pollwrband;
    if (writable && type() == sock_dgram && m_peer) datagram_peer = m_peer;
  }
  if (datagram_peer) {
    // A datagram peer that is not connected back to us takes only so many messages.
    MutexGuard guard(datagram_peer->m_lock);
    if (datagram_peer->m_peer.get() != this && datagram_peer->m_queue.size() > kMaxDatagramQueue)
      mask &= ~(pollout | pollwrnorm | pollwrband);
  }
  return mask;
}

Result<int64_t> UnixSocket::ioctl(fs::File&, uint32_t request, uintptr_t argument) {
  int value;
  if (request == siocinq) {
    MutexGuard guard(m_lock);
    if (m_state == State::listening) return error(Errno::einval);
    if (type() == sock_dgram) {
      value = m_queue.empty() ? 0 : static_cast<int>(m_queue.front()->length);
    } else {
      value = static_cast<int>(m_queued_bytes);
    }
  } else if (request == siocoutq) {
    value = static_cast<int>(m_unread_sent.load(std::memory_order_relaxed));
  } else {
    return error(Errno::enotty);
  }
  memcpy(reinterpret_cast<void*>(argument), &value, sizeof(value));
  return 0;
}

Errno UnixSocket::wait_error(WaitResult result, uint64_t deadline) {
  if (result == WaitResult::timed_out) return Errno::eagain;
  // Linux restarts a socket call only when it had no timeout (sock_intr_errno).
  return deadline == kNoDeadline ? Errno::erestartsys : Errno::eintr;
}

}  // namespace nimbus::net
