// TcpProtocol: the contract's face of TCP for a NetStack, an engine over an adapter that
// turns TcpHost's calls into NetStack's.
#include "kernel/net/tcp/tcp_protocol.h"

#include <new>

#include "kernel/net/socket_abi.h"
#include "kernel/net/tcp/tcp_engine.h"
#include "kernel/net/tcp/tcp_socket.h"

namespace nimbus::net {

namespace {

class StackHost final : public tcp::TcpHost {
 public:
  explicit StackHost(NetStack& stack) : m_stack(stack) {}
  uint64_t now_ns() override { return m_stack.now_ns(); }
  uint64_t wall_ns() override { return m_stack.environment().wall_ns(); }
  uint64_t random64() override { return m_stack.environment().random64(); }
  Result<> ip_output(Packet* packet, const IpAddress& source, const IpAddress& destination,
                     const IpSendOptions& options) override {
    return m_stack.ip_output(packet, source, destination, abi::ipproto_tcp, options);
  }
  Result<IpAddress> source_address_for(const IpAddress& destination) override {
    return m_stack.source_address_for(destination);
  }
  bool is_local_address(const IpAddress& address) override { return m_stack.is_local_address(address); }
  uint32_t path_mtu(const IpAddress& destination) override { return m_stack.path_mtu(destination); }
  uint32_t segmentation_limit(const IpAddress& destination) override {
    return m_stack.tcp_segmentation_limit(destination);
  }
  void arm_timer(NetTimer& timer, uint64_t deadline_ns) override { m_stack.arm_timer(timer, deadline_ns); }
  void disarm_timer(NetTimer& timer) override { m_stack.disarm_timer(timer); }

 private:
  NetStack& m_stack;
};

}  // namespace

struct TcpProtocol::State {
  explicit State(NetStack& stack) : host(stack), engine(host) {}
  StackHost host;
  tcp::TcpEngine engine;
};

TcpProtocol::TcpProtocol(NetStack& stack) : m_stack(stack), m_state(new (kNoThrow) State(stack)) {}

TcpProtocol::~TcpProtocol() { delete m_state; }

void TcpProtocol::receive(const IpReceiveInfo& info, Packet* packet) {
  if (!m_state) {
    Packet::free(packet);
    return;
  }
  m_state->engine.receive(info, packet);
}

void TcpProtocol::icmp_error(const IpReceiveInfo& info, uint8_t type, uint8_t code, uint32_t next_hop_mtu,
                             const IpAddress& original_destination, std::span<const std::byte> quoted_tcp_header) {
  if (!m_state) return;
  // The quoted segment went from us (info.destination) to original_destination.
  m_state->engine.icmp_error(type, code, next_hop_mtu, info.destination, original_destination, quoted_tcp_header);
}

Result<RefPtr<Socket>> TcpProtocol::create_socket(int family) {
  if (!m_state) return error(Errno::enomem);
  if (family != abi::af_inet && family != abi::af_inet6) return error(Errno::eafnosupport);
  m_state->engine.lock();
  RefPtr<tcp::TcpConnection> connection = m_state->engine.create_connection(family);
  m_state->engine.unlock();
  if (!connection) return error(Errno::enomem);
  auto* socket = new (kNoThrow) tcp::TcpSocket(m_state->engine, family, connection);
  if (!socket) return error(Errno::enomem);
  return adopt_ref<Socket>(socket);
}

TcpSocketCounts TcpProtocol::count_sockets() {
  if (!m_state) return {};
  m_state->engine.lock();
  TcpSocketCounts counts = m_state->engine.count_sockets();
  m_state->engine.unlock();
  return counts;
}

size_t TcpProtocol::list_connections(std::span<TcpConnectionRow> rows) {
  if (!m_state) return 0;
  m_state->engine.lock();
  size_t count = m_state->engine.list(rows);
  m_state->engine.unlock();
  return count;
}

}  // namespace nimbus::net
