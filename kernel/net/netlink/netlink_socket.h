// NetlinkSocket: AF_NETLINK / NETLINK_ROUTE sockets answering the rtnetlink requests that
// programs make to learn the machine's interfaces, addresses and routes (RTM_GETLINK,
// RTM_GETADDR, RTM_GETROUTE). Changing the configuration through netlink is not supported
// (EOPNOTSUPP), nor are multicast notifications (membership is recorded, nothing is sent).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "kernel/lib/intrusive_list.h"
#include "kernel/net/net_statistics.h"
#include "kernel/net/socket.h"
#include "kernel/sync/mutex.h"
#include "kernel/sync/poll_queue.h"

namespace nimbus::net::netlink {

constexpr int kNetlinkRoute = 0;  // NETLINK_ROUTE

// Where the answers come from: the kernel's stack, or a fake in unit tests.
class RouteSource {
 public:
  // Fills `out` with up to out.size() interfaces, in index order; returns how many exist.
  virtual size_t interfaces(std::span<InterfaceSnapshot> out) = 0;
  virtual std::optional<Ipv4Address> ipv4_gateway() = 0;
  virtual uint64_t now_ns() = 0;
  // Port ids for autobind, unique per source (Linux starts with the process id).
  virtual uint32_t next_port_id() = 0;

 protected:
  ~RouteSource() = default;
};

class NetlinkSocket final : public Socket {
 public:
  // `type`: SOCK_RAW or SOCK_DGRAM; `protocol`: only NETLINK_ROUTE (EPROTONOSUPPORT).
  static Result<RefPtr<Socket>> try_create(RouteSource& source, int type, int protocol);
  ~NetlinkSocket() override;

  Result<> bind(const SocketAddress& address) override;
  Result<> connect(const SocketAddress& address, bool nonblocking) override;
  Result<size_t> send(SendRequest& request) override;
  Result<size_t> receive(ReceiveRequest& request) override;
  Result<SocketAddress> local_address() override;
  Result<SocketAddress> peer_address() override;
  Result<> set_option(int level, int name, std::span<const std::byte> value) override;
  Result<size_t> get_option(int level, int name, std::span<std::byte> value) override;
  Result<> shutdown(int how) override;
  int take_error() override;
  uint32_t poll(fs::File&) override;
  PollQueue* poll_queue(fs::File&) override { return &m_poll_queue; }
  Result<int64_t> ioctl(fs::File&, uint32_t request, uintptr_t argument) override;

 private:
  class DumpWriter;
  struct Datagram {
    ListNode node;
    size_t length = 0;
    std::byte* bytes() { return reinterpret_cast<std::byte*>(this + 1); }
  };

  NetlinkSocket(RouteSource& source, int type, int protocol) : Socket(16, type, protocol), m_source(source) {}
  void autobind_locked();
  // Answers one request message; replies are queued.
  void handle_request_locked(std::span<const std::byte> message);
  // Queues `length` bytes of complete messages as one datagram (dropped with ENOBUFS when the
  // receive buffer is full).
  void queue_locked(std::span<const std::byte> bytes);
  void queue_error_locked(int error, std::span<const std::byte> request);
  void dump_links_locked(uint32_t sequence);
  void dump_addresses_locked(uint32_t sequence, uint8_t family);
  void dump_routes_locked(uint32_t sequence, uint8_t family);
  void get_link_locked(std::span<const std::byte> request, uint32_t sequence);
  size_t snapshot_locked(std::span<InterfaceSnapshot> out);

  RouteSource& m_source;
  Mutex m_lock;  // guards everything below
  ConditionVariable m_readable;
  PollQueue m_poll_queue;
  IntrusiveList<Datagram, &Datagram::node> m_queue;
  size_t m_queued_bytes = 0;
  uint32_t m_port_id = 0;
  uint32_t m_groups = 0;
  uint32_t m_peer_port_id = 0;
  int m_pending_error = 0;
  bool m_read_shut = false;
  uint32_t m_options[16] = {};  // SOL_NETLINK integer options by number
};

}  // namespace nimbus::net::netlink
