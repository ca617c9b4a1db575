// TcpTestNetwork: two TCP engines joined by a simulated wire on a virtual clock, at the
// segment level (no IP below): seeded loss, duplication and reordering, a filter for
// targeted drops or rewrites, a record of every segment, and the timers of both engines.
#pragma once

#include <cstdint>
#include <functional>
#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "kernel/lib/intrusive_list.h"
#include "kernel/net/socket.h"
#include "kernel/net/tcp/tcp_engine.h"
#include "kernel/net/tcp/tcp_header.h"
#include "kernel/net/tcp/tcp_socket.h"

namespace nimbus::net::tcp::test {

struct WireConditions {
  double loss = 0;
  double duplicate = 0;
  double reorder = 0;
  uint64_t latency_ns = 1'000'000;  // one way
  uint64_t reorder_delay_ns = 3'000'000;
  uint32_t mtu = 1500;
  uint64_t seed = 1;
};

// One segment as it crossed the wire.
struct Segment {
  int from;  // 0 or 1
  uint64_t time_ns;
  TcpHeader header;
  size_t payload;
  std::vector<std::byte> bytes;
};

class TcpTestNetwork;

class FakeHost final : public TcpHost {
 public:
  FakeHost(TcpTestNetwork& network, int side);
  uint64_t now_ns() override;
  uint64_t random64() override;
  Result<> ip_output(Packet* packet, const IpAddress& source, const IpAddress& destination,
                     const IpSendOptions& options) override;
  Result<IpAddress> source_address_for(const IpAddress& destination) override;
  bool is_local_address(const IpAddress& address) override;
  uint32_t path_mtu(const IpAddress& destination) override;
  void arm_timer(NetTimer& timer, uint64_t deadline_ns) override;
  void disarm_timer(NetTimer& timer) override;

  IpAddress v4;
  IpAddress v6;
  IntrusiveList<NetTimer, &NetTimer::node> timers;

 private:
  TcpTestNetwork& m_network;
  int m_side;
  uint64_t m_random;
};

class TcpTestNetwork {
 public:
  explicit TcpTestNetwork(WireConditions conditions = {});
  ~TcpTestNetwork();

  TcpEngine& engine(int side) { return *m_engines[side]; }
  FakeHost& host(int side) { return *m_hosts[side]; }
  IpAddress address(int side) const { return m_hosts[side]->v4; }
  uint64_t now() const { return m_now; }
  void set_conditions(const WireConditions& conditions);

  // A new socket on `side`.
  RefPtr<TcpSocket> socket(int side, int family = 2);
  static SocketAddress sockaddr(const IpAddress& address, uint16_t port, int family = 2);

  // Runs events (deliveries, timers) in time order until `done()` or the clock reaches
  // `deadline_ns`; true if `done()` held.
  bool run_until(const std::function<bool()>& done, uint64_t deadline_ns);
  void run_for(uint64_t ns);
  // Delivers a hand-made segment to `to_side` now (from the other side's address).
  void inject(int to_side, std::span<const std::byte> segment, const IpAddress& source, const IpAddress& destination,
              bool checksum_verified = false);

  void transmit(int from, Packet* packet, const IpAddress& source, const IpAddress& destination);

  // Return false to drop; may modify the segment (checksum is recomputed after).
  std::function<bool(int from, std::vector<std::byte>& segment)> filter;
  std::vector<Segment> log;
  bool record = true;
  uint64_t dropped = 0;

 private:
  struct InFlight {
    uint64_t due_ns;
    uint64_t order;
    int to;
    IpAddress source, destination;
    std::vector<std::byte> bytes;
  };
  bool step(uint64_t deadline_ns);
  void deliver(InFlight& item);

  std::atomic<uint64_t> m_now{1'000'000'000};
  WireConditions m_conditions;
  std::mt19937_64 m_random;
  std::unique_ptr<FakeHost> m_hosts[2];
  std::unique_ptr<TcpEngine> m_engines[2];
  std::vector<InFlight> m_queue;
  uint64_t m_order = 0;
  // Socket calls may come from other threads (blocking tests): the queue, the log and the
  // timer lists are guarded; deliveries and timer callbacks run outside it.
  std::recursive_mutex m_mutex;
  friend class FakeHost;
};

// Socket helpers for tests: non-blocking transfers of a byte vector.
Result<size_t> send_bytes(TcpSocket& socket, std::span<const std::byte> data, uint32_t flags = 0,
                          bool nonblocking = true);
Result<size_t> receive_bytes(TcpSocket& socket, std::vector<std::byte>& out, size_t max, uint32_t flags = 0,
                             bool nonblocking = true);
std::vector<std::byte> pattern(size_t length, uint32_t seed);

}  // namespace nimbus::net::tcp::test
