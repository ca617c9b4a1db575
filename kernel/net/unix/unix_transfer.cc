// UnixSocket's data transfer: stream, seqpacket and datagram sends and receives, with
// SO_SNDBUF charging, the datagram queue limit, MSG_PEEK/MSG_WAITALL/MSG_TRUNC and control
// messages (net/unix/af_unix.c: unix_stream_sendmsg, unix_dgram_sendmsg,
// unix_stream_read_generic, unix_dgram_recvmsg).
#include <algorithm>
#include <cstring>

#include "kernel/net/io_vector.h"
#include "kernel/net/socket_abi.h"
#include "kernel/net/unix/unix_socket.h"

namespace nimbus::net {

using namespace abi;
using fs::linux_abi::pollin;
using fs::linux_abi::pollrdnorm;

namespace {

// The largest stream segment one message holds (Linux splits sends into skbs too).
constexpr size_t kMaxSegment = 64 * 1024;

bool same_credentials(const UnixCredentials& a, const UnixCredentials& b) {
  return a.pid == b.pid && a.uid == b.uid && a.gid == b.gid;
}

}  // namespace

Result<UnixMessage*> UnixSocket::make_message(std::span<const fs::IoVec> data, size_t offset, size_t length) {
  UnixMessage* message = UnixMessage::create(length);
  if (!message) return error(Errno::enobufs);
  copy_from_vectors(data, {message->data, length}, offset);
  return message;
}

void UnixSocket::free_messages(IntrusiveList<UnixMessage, &UnixMessage::node>& messages) {
  while (UnixMessage* m = messages.pop_front()) {
    if (m->sender) m->sender->uncharge(*m);
    m->sender = nullptr;
    UnixMessage::destroy(m);  // closes the files of descriptors never received
  }
}

// unix_maybe_add_creds: a message carries the sender's credentials when SCM_CREDENTIALS gave
// them or when either end has SO_PASSCRED as it is sent.
UnixCredentials UnixSocket::credentials_for(const UnixControl& control, const UnixSocket& receiver) const {
  if (control.explicit_credentials || options().pass_credentials || receiver.options().pass_credentials)
    return control.credentials;
  return kNoCredentials;
}

Result<size_t> UnixSocket::send(SendRequest& request) {
  if (request.flags & msg_oob) return error(Errno::enotsup);
  size_t length = total_length(request.data);
  UnixControl control;
  control.credentials = unix_current_credentials();
  TRY(parse_unix_control(request.control, control));
  if (is_connection_oriented()) return send_stream(request, control, length);
  return send_datagram(request, control, length);
}

Result<> UnixSocket::wait_for_send_room(bool nonblocking, uint64_t deadline, bool stream) {
  MutexGuard guard(m_lock);
  for (;;) {
    // sock_alloc_send_pskb: a pending error first, then the end of sending, then room.
    if (m_error && !stream) {
      Errno e = static_cast<Errno>(m_error);
      m_error = 0;
      return error(e);
    }
    if (m_shutdown & kSendShutdown) return error(Errno::epipe);
    if (m_sent_bytes.load(std::memory_order_relaxed) < options().send_buffer) return {};
    if (nonblocking) return error(Errno::eagain);
    WaitResult waited = m_changed.wait_until_interruptible(m_lock, deadline);
    if (waited != WaitResult::woken) return error(wait_error(waited, deadline));
  }
}

Result<> UnixSocket::deliver(UnixMessage* message, bool check_queue_limit, UnixSocket* sender, bool nonblocking,
                             uint64_t deadline) {
  MutexGuard guard(m_lock);
  for (;;) {
    if (m_closed) return error(is_connection_oriented() ? Errno::epipe : Errno::econnrefused);
    if (m_shutdown & kReceiveShutdown) return error(Errno::epipe);
    if (is_connection_oriented() || !check_queue_limit || m_peer.get() == sender) break;
    // unix_may_send: a datagram socket connected elsewhere takes nothing from us.
    if (m_peer) return error(Errno::eperm);
    if (m_queue.size() <= kMaxDatagramQueue) break;
    if (nonblocking) return error(Errno::eagain);
    WaitResult waited = m_changed.wait_until_interruptible(m_lock, deadline);
    if (waited != WaitResult::woken) return error(wait_error(waited, deadline));
  }
  sender->m_sent_bytes.fetch_add(message->charge(), std::memory_order_relaxed);
  sender->m_unread_sent.fetch_add(message->length, std::memory_order_relaxed);
  message->sender = RefPtr<UnixSocket>(sender);
  m_queue.push_back(message);
  m_queued_bytes += message->length;
  wake(pollin | pollrdnorm);
  return {};
}

Result<size_t> UnixSocket::send_stream(SendRequest& request, UnixControl& control, size_t length) {
  bool seqpacket = type() == sock_seqpacket;
  RefPtr<UnixSocket> peer;
  SocketAddress source;
  {
    MutexGuard guard(m_lock);
    // A stream send names no address (seqpacket ignores one).
    if (!seqpacket && request.destination && request.destination->length)
      return error(m_state == State::connected ? Errno::eisconn : Errno::enotsup);
    if (m_state != State::connected || !m_peer) return error(Errno::enotconn);
    if (m_shutdown & kSendShutdown) return error(Errno::epipe);
    peer = m_peer;
    if (m_binding.address.kind != UnixAddress::Kind::none) source = m_binding.address.to_socket_address();
  }
  uint32_t send_buffer = options().send_buffer;
  if (seqpacket && length > send_buffer - 32) return error(Errno::emsgsize);
  uint64_t deadline = send_deadline(unix_now_ns());
  size_t sent = 0;
  do {
    if (!seqpacket && length == 0) break;  // an empty stream send queues nothing
    auto room = wait_for_send_room(request.nonblocking, deadline, true);
    if (!room) {
      if (sent) return sent;
      return error(room.error());
    }
    size_t chunk = length - sent;
    if (!seqpacket) chunk = std::min({chunk, kMaxSegment, std::max<size_t>(send_buffer / 2 - 64, 1)});
    auto made = make_message(request.data, sent, chunk);
    if (!made) {
      if (sent) return sent;
      return error(made.error());
    }
    UnixMessage* message = *made;
    message->credentials = credentials_for(control, *peer);
    message->source = source;
    if (sent == 0) control.rights.move_to(message->rights);
    auto delivered = peer->deliver(message, false, this, request.nonblocking, deadline);
    if (!delivered) {
      UnixMessage::destroy(message);
      if (sent) return sent;
      return error(delivered.error());
    }
    sent += chunk;
  } while (sent < length);
  return sent;
}

Result<size_t> UnixSocket::send_datagram(SendRequest& request, UnixControl& control, size_t length) {
  RefPtr<UnixSocket> other;
  UnixAddress name;
  bool to_peer = false;
  if (request.destination && request.destination->length) {
    name = TRY(parse_unix_address(*request.destination));
    if (name.kind == UnixAddress::Kind::none) return error(Errno::einval);
  } else {
    MutexGuard guard(m_lock);
    if (!m_peer) return error(Errno::enotconn);
    other = m_peer;
    to_peer = true;
  }
  TRY(autobind_for_credentials());
  if (length > options().send_buffer - 32) return error(Errno::emsgsize);
  uint64_t deadline = send_deadline(unix_now_ns());
  TRY(wait_for_send_room(request.nonblocking, deadline, false));
  UnixMessage* message = TRY(make_message(request.data, 0, length));
  if (!other) {
    auto found = unix_find_name(name);
    if (found && (*found)->type() != type()) found = error(Errno::eprototype);
    if (!found) {
      UnixMessage::destroy(message);
      return error(found.error());
    }
    other = std::move(*found);
  }
  message->credentials = credentials_for(control, *other);
  control.rights.move_to(message->rights);
  {
    MutexGuard guard(m_lock);
    if (m_binding.address.kind != UnixAddress::Kind::none) message->source = m_binding.address.to_socket_address();
  }
  auto delivered = other->deliver(message, other.get() != this, this, request.nonblocking, deadline);
  if (!delivered) {
    UnixMessage::destroy(message);
    if (delivered.error() == Errno::econnrefused && to_peer) {
      // A peer that closed is forgotten: ECONNREFUSED now, ENOTCONN from then on.
      MutexGuard guard(m_lock);
      if (m_peer == other) {
        m_peer = nullptr;
        m_state = State::unconnected;
      }
    }
    return error(delivered.error());
  }
  return length;
}

Result<size_t> UnixSocket::receive(ReceiveRequest& request) {
  if (request.flags & msg_oob) return error(Errno::enotsup);
  if (type() == sock_stream) return receive_stream(request);
  return receive_datagram(request);
}

void UnixSocket::write_control(ReceiveRequest& request, UnixMessage& message, bool with_rights) {
  UnixControlWriter writer(request.control, &request.result_flags);
  if (options().pass_credentials) {
    Ucred credentials{message.credentials.pid, message.credentials.uid, message.credentials.gid};
    writer.put(sol_socket, scm_credentials, &credentials, sizeof(credentials));
  }
  if (with_rights) writer.put_rights(message.rights, request.flags & msg_cmsg_cloexec);
  request.control_length = writer.used();
}

Result<size_t> UnixSocket::receive_stream(ReceiveRequest& request) {
  size_t want = total_length(request.data);
  bool peek = request.flags & msg_peek;
  IntrusiveList<UnixMessage, &UnixMessage::node> consumed;
  // What the control data describes: the first message's credentials, and the descriptors
  // of a message read from (after which the read stops).
  UnixMessage* control_holder = UnixMessage::create(0);
  if (!control_holder) return error(Errno::enobufs);
  bool have_control = false;
  bool with_rights = false;
  size_t copied = 0;
  Result<size_t> outcome = 0;
  {
    MutexGuard guard(m_lock);
    if (m_state != State::connected) {
      UnixMessage::destroy(control_holder);
      return error(Errno::einval);
    }
    uint64_t deadline = receive_deadline(unix_now_ns());
    size_t target = (request.flags & msg_waitall) ? want : std::min<size_t>(options().receive_low_water, want);
    if (target == 0) target = 1;
    do {
      // The message holding byte `copied` of what is queued (peeking skips what it copied).
      UnixMessage* m = m_queue.front();
      size_t position = m ? m->offset : 0;
      if (peek) {
        size_t skip = copied;
        while (m && skip >= m->length - m->offset) {
          skip -= m->length - m->offset;
          m = m_queue.next(m);
        }
        if (m) position = m->offset + skip;
      }
      if (!m) {
        if (copied >= target || (peek && copied)) break;
        if (m_error) {
          if (copied) break;
          outcome = error(static_cast<Errno>(m_error));
          m_error = 0;
          break;
        }
        if (m_shutdown & kReceiveShutdown) break;
        if (request.nonblocking) {
          if (!copied) outcome = error(Errno::eagain);
          break;
        }
        WaitResult waited = m_changed.wait_until_interruptible(m_lock, deadline);
        if (waited != WaitResult::woken) {
          if (!copied) outcome = error(wait_error(waited, deadline));
          break;
        }
        continue;
      }
      // With SO_PASSCRED, data sent with different credentials is never glued into one read.
      if (options().pass_credentials && have_control && copied &&
          !same_credentials(m->credentials, control_holder->credentials))
        break;
      if (!have_control) {
        control_holder->credentials = m->credentials;
        if (request.source) *request.source = m->source;
        have_control = true;
      }
      size_t n = std::min(m->length - position, want - copied);
      copy_to_vectors(request.data, {m->data + position, n}, copied);
      copied += n;
      bool had_rights = m->rights.count() > 0;
      if (had_rights) {
        if (peek) {
          // Peeking duplicates the descriptors (as Linux does).
          if (control_holder->rights.reserve_more(m->rights.count()))
            for (size_t i = 0; i < m->rights.count(); i++) control_holder->rights.append(m->rights[i]);
        } else {
          m->rights.move_to(control_holder->rights);
        }
        with_rights = true;
      }
      if (!peek) {
        m->offset += n;
        m_queued_bytes -= n;
        if (m->offset == m->length) {
          m_queue.remove(m);
          consumed.push_back(m);
        }
      }
      if (had_rights) break;
    } while (copied < want);
    if (outcome && have_control) write_control(request, *control_holder, with_rights);
    if (!consumed.empty()) wake(0);
  }
  free_messages(consumed);
  UnixMessage::destroy(control_holder);
  if (!outcome) return outcome;
  return copied;
}

Result<size_t> UnixSocket::receive_datagram(ReceiveRequest& request) {
  size_t want = total_length(request.data);
  bool peek = request.flags & msg_peek;
  IntrusiveList<UnixMessage, &UnixMessage::node> consumed;
  size_t length;
  {
    MutexGuard guard(m_lock);
    if (type() == sock_seqpacket && m_state != State::connected) return error(Errno::enotconn);
    uint64_t deadline = receive_deadline(unix_now_ns());
    UnixMessage* m;
    while (!(m = m_queue.front())) {
      if (m_error) {
        Errno e = static_cast<Errno>(m_error);
        m_error = 0;
        return error(e);
      }
      if (m_shutdown & kReceiveShutdown) return 0;
      if (request.nonblocking) return error(Errno::eagain);
      WaitResult waited = m_changed.wait_until_interruptible(m_lock, deadline);
      if (waited != WaitResult::woken) return error(wait_error(waited, deadline));
    }
    length = m->length;
    copy_to_vectors(request.data, {m->data, std::min(length, want)});
    if (length > want) request.result_flags |= msg_trunc;
    if (request.source) *request.source = m->source;
    if (peek) {
      // Peeking duplicates the descriptors (as Linux does): a copy of the list for the writer.
      UnixMessage* copy = UnixMessage::create(0);
      if (copy) {
        copy->credentials = m->credentials;
        if (m->rights.count() && copy->rights.reserve_more(m->rights.count()))
          for (size_t i = 0; i < m->rights.count(); i++) copy->rights.append(m->rights[i]);
        write_control(request, *copy, true);
        UnixMessage::destroy(copy);
      }
    } else {
      write_control(request, *m, true);
      m_queue.remove(m);
      m_queued_bytes -= length;
      consumed.push_back(m);
      wake(0);
    }
  }
  free_messages(consumed);
  // MSG_TRUNC asks for the datagram's real length.
  if (request.flags & msg_trunc) return length;
  return std::min(length, want);
}

}  // namespace nimbus::net
