// TcpSocket: the SOCK_STREAM socket of AF_INET and AF_INET6 (IPv4 as mapped addresses) over
// a TcpConnection: bind/connect/listen/accept, blocking and non-blocking transfers, shutdown
// and close, readiness, ioctls and the TCP, IP and IPv6 options.
#pragma once

#include <cstdint>
#include <span>

#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/net/socket.h"
#include "kernel/net/tcp/tcp_connection.h"
#include "kernel/net/tcp/tcp_engine.h"

namespace nimbus::net::tcp {

// TCP-level option numbers (include/uapi/linux/tcp.h).
constexpr int kTcpNodelay = 1;
constexpr int kTcpMaxseg = 2;
constexpr int kTcpCork = 3;
constexpr int kTcpKeepidle = 4;
constexpr int kTcpKeepintvl = 5;
constexpr int kTcpKeepcnt = 6;
constexpr int kTcpSyncnt = 7;
constexpr int kTcpLinger2 = 8;
constexpr int kTcpDeferAccept = 9;
constexpr int kTcpWindowClamp = 10;
constexpr int kTcpInfo = 11;
constexpr int kTcpQuickack = 12;
constexpr int kTcpCongestion = 13;
constexpr int kTcpUserTimeout = 18;
constexpr int kTcpInq = 36;  // also TCP_CM_INQ, the control message's type at SOL_TCP

class TcpSocket final : public Socket {
 public:
  TcpSocket(TcpEngine& engine, int family, RefPtr<TcpConnection> connection);
  ~TcpSocket() override;

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

  void release(fs::File& file) override;
  Result<int64_t> ioctl(fs::File& file, uint32_t request, uintptr_t argument) override;
  uint32_t poll(fs::File& file) override;
  PollQueue* poll_queue(fs::File&) override { return &m_connection->poll_queue; }

  // Close without a File (a socket that never got one, and the tests).
  void close();
  // ioctl without a File.
  Result<int64_t> ioctl_request(uint32_t request, uintptr_t argument);
  // Readiness without a File.
  uint32_t poll_events();
  TcpConnection& connection() { return *m_connection; }

 private:
  // Copies the SOL_SOCKET options the base class keeps into the connection (lock held).
  void sync_options();
  Result<Endpoint> parse_address(const SocketAddress& address, bool for_bind);
  SocketAddress format_address(const Endpoint& endpoint) const;
  // Waits on the connection (lock held); erestartsys when interrupted, etimedout (for the
  // caller to translate) when the deadline passes.
  Result<> wait(uint64_t deadline_ns);
  // Linux's tcp_disconnect for a socket whose connection ended (or is dropped while still
  // connecting): the socket may connect() again, from a fresh ephemeral port unless bind()
  // named one.
  void disconnect();

  // The socket's own view of connect(), apart from the connection's TCP state (Linux's
  // sock->state): a connect() that found the connection already ended reports how, once.
  enum class ConnectState : uint8_t { unconnected, connecting, connected };

  TcpEngine& m_engine;
  RefPtr<TcpConnection> m_connection;
  bool m_closed = false;
  ConnectState m_connect_state = ConnectState::unconnected;
};

}  // namespace nimbus::net::tcp
