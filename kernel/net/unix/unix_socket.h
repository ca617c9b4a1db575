// UnixSocket: an AF_UNIX socket (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET) with Linux's
// semantics (net/unix/af_unix.c). Each socket has one lock guarding its state and its
// receive queue; a sender takes the receiver's lock to queue a message and is charged for
// it (SO_SNDBUF) until the receiver frees it. No code holds two sockets' locks at once.
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/net/socket.h"
#include "kernel/net/unix/unix_address.h"
#include "kernel/net/unix/unix_host.h"
#include "kernel/net/unix/unix_message.h"
#include "kernel/net/unix/unix_names.h"
#include "kernel/sync/mutex.h"
#include "kernel/sync/poll_queue.h"

namespace nimbus::net {

class UnixSocket final : public Socket {
 public:
  // EPROTONOSUPPORT for a protocol other than 0 (PF_UNIX), ESOCKTNOSUPPORT for other types.
  static Result<RefPtr<UnixSocket>> create(int type, int protocol);
  // socketpair(2): two sockets connected to each other.
  static Result<> create_pair(int type, int protocol, RefPtr<UnixSocket>* first, RefPtr<UnixSocket>* second);
  ~UnixSocket() override;

  Result<> bind(const SocketAddress& address) override;
  Result<> connect(const SocketAddress& address, bool nonblocking) override;
  Result<> listen(int backlog) override;
  Result<RefPtr<Socket>> accept(bool nonblocking, SocketAddress* peer) override;
  Result<size_t> send(SendRequest& request) override;
  Result<size_t> receive(ReceiveRequest& request) override;
  Result<> shutdown(int how) override;
  Result<SocketAddress> local_address() override;
  Result<SocketAddress> peer_address() override;
  Result<> set_option(int level, int name, std::span<const std::byte> value) override;
  Result<size_t> get_option(int level, int name, std::span<std::byte> value) override;
  int take_error() override;
  bool is_listening() const override;

  // The file's last reference went: the socket closes (close(2)).
  void release(fs::File&) override;
  uint32_t poll(fs::File&) override;
  PollQueue* poll_queue(fs::File&) override { return &m_poll_queue; }
  // SIOCINQ/FIONREAD and SIOCOUTQ.
  Result<int64_t> ioctl(fs::File&, uint32_t request, uintptr_t argument) override;

  // A message this socket sent that its receiver has now freed.
  void uncharge(const UnixMessage& message);
  // Closes a socket that never got a file: a connection its listener did not accept.
  void close_embryo() { close(true); }

 private:
  enum class State : uint8_t { unconnected, listening, connected };
  static constexpr uint8_t kReceiveShutdown = 1;  // RCV_SHUTDOWN
  static constexpr uint8_t kSendShutdown = 2;     // SEND_SHUTDOWN
  // A datagram socket holds at most this many messages from senders it is not connected to
  // (net.unix.max_dgram_qlen; full past it, as unix_recvq_full says).
  static constexpr size_t kMaxDatagramQueue = 10;

  UnixSocket(int type, int protocol);
  bool is_connection_oriented() const;

  void close(bool embryo);
  // Wakes every waiter on this socket and tells pollers `events` may have changed.
  void wake(uint32_t events);
  // Autobinds when SO_PASSCRED asks for it (unix_autobind on connect and send).
  Result<> autobind_for_credentials();
  // Binds to an autobind name if unbound (listen does not; connect/send with SO_PASSCRED do).
  Result<> autobind_locked();
  Result<> bind_locked(const UnixAddress& address);

  Result<> connect_stream(const SocketAddress& address, bool nonblocking);
  Result<> connect_datagram(const SocketAddress& address);

  UnixCredentials credentials_for(const UnixControl& control, const UnixSocket& receiver) const;
  Result<size_t> send_stream(SendRequest& request, UnixControl& control, size_t length);
  Result<size_t> send_datagram(SendRequest& request, UnixControl& control, size_t length);
  // Waits until this socket's unfreed sent bytes are under SO_SNDBUF: EAGAIN, EPIPE (shut
  // down for sending), or the wait's end (timeout: EAGAIN; signal: ERESTARTSYS or EINTR).
  Result<> wait_for_send_room(bool nonblocking, uint64_t deadline, bool stream);
  // A message of `length` bytes gathered from the application's vectors from `offset` on.
  Result<UnixMessage*> make_message(std::span<const fs::IoVec> data, size_t offset, size_t length);
  // Queues `message` at this (the receiving) socket. EPIPE if it cannot receive.
  Result<> deliver(UnixMessage* message, bool check_queue_limit, UnixSocket* sender, bool nonblocking,
                   uint64_t deadline);

  Result<size_t> receive_stream(ReceiveRequest& request);
  Result<size_t> receive_datagram(ReceiveRequest& request);
  // Frees messages taken off the queue, outside the lock, uncharging their senders.
  static void free_messages(IntrusiveList<UnixMessage, &UnixMessage::node>& messages);
  // The wait's end, as an error for a caller that has nothing to return.
  static Errno wait_error(WaitResult result, uint64_t deadline);
  void write_control(ReceiveRequest& request, UnixMessage& message, bool with_rights);

  Mutex m_lock;
  ConditionVariable m_changed;  // any change to state, queue, shutdown, or sent bytes freed
  PollQueue m_poll_queue;
  State m_state = State::unconnected;
  bool m_closed = false;
  uint8_t m_shutdown = 0;
  int m_error = 0;  // SO_ERROR (ECONNRESET when the peer closed with unread data)
  RefPtr<UnixSocket> m_peer;
  UnixBinding m_binding;
  bool m_bound = false;
  UnixCredentials m_peer_credentials;  // SO_PEERCRED
  bool m_has_peer_credentials = false;
  IntrusiveList<UnixMessage, &UnixMessage::node> m_queue;
  size_t m_queued_bytes = 0;  // unread bytes in m_queue
  // A listener's connections not yet accepted (each a socket already connected to its client).
  struct Pending {
    RefPtr<UnixSocket> socket;
    ListNode node;
  };
  IntrusiveList<Pending, &Pending::node> m_pending;
  int m_backlog = 0;
  std::atomic<size_t> m_sent_bytes{0};  // charged by messages this socket sent, not yet freed
  std::atomic<size_t> m_unread_sent{0};  // their data bytes (SIOCOUTQ)
};

}  // namespace nimbus::net
