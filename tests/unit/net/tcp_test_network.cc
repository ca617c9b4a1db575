// The segment-level simulated network for the TCP tests.
#include "tests/unit/net/tcp_test_network.h"

#include <cstring>

namespace nimbus::net::tcp::test {

FakeHost::FakeHost(TcpTestNetwork& network, int side)
    : m_network(network), m_side(side), m_random(0x9e3779b97f4a7c15ull * (side + 1) ^ network.m_conditions.seed) {
  v4 = IpAddress::from_ipv4(Ipv4Address::from_octets(10, 0, 0, uint8_t(side + 1)));
  v6.bytes = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, uint8_t(side + 1)};
}

uint64_t FakeHost::now_ns() { return m_network.m_now; }

uint64_t FakeHost::random64() {
  m_random ^= m_random >> 12;
  m_random ^= m_random << 25;
  m_random ^= m_random >> 27;
  return m_random * 0x2545f4914f6cdd1dull;
}

Result<> FakeHost::ip_output(Packet* packet, const IpAddress& source, const IpAddress& destination,
                             const IpSendOptions& options) {
  // What IP does for a device without checksum offload: finish the sum TCP left to it.
  if (options.checksum_offloaded && packet->offload.checksum_needed) {
    std::byte* field = packet->data() + packet->offload.checksum_start + packet->offload.checksum_offset;
    field[0] = field[1] = std::byte{0};
    uint16_t checksum = tcp_checksum(source, destination, packet->bytes().subspan(packet->offload.checksum_start));
    field[0] = std::byte(checksum >> 8);
    field[1] = std::byte(checksum);
    packet->offload.checksum_needed = false;
  }
  m_network.transmit(m_side, packet, source, destination);
  return {};
}

Result<IpAddress> FakeHost::source_address_for(const IpAddress& destination) {
  return destination.is_ipv4() ? v4 : v6;
}

bool FakeHost::is_local_address(const IpAddress& address) { return address == v4 || address == v6; }

uint32_t FakeHost::path_mtu(const IpAddress& destination) {
  return m_network.m_conditions.mtu - (destination.is_ipv4() ? 20 : 40);
}

void FakeHost::arm_timer(NetTimer& timer, uint64_t deadline_ns) {
  std::lock_guard guard(m_network.m_mutex);
  if (timer.armed()) timers.remove(&timer);
  timer.deadline_ns = deadline_ns;
  timers.push_back(&timer);
}

void FakeHost::disarm_timer(NetTimer& timer) {
  std::lock_guard guard(m_network.m_mutex);
  if (timer.armed()) timers.remove(&timer);
}

TcpTestNetwork::TcpTestNetwork(WireConditions conditions) : m_conditions(conditions), m_random(conditions.seed) {
  for (int side = 0; side < 2; side++) {
    m_hosts[side] = std::make_unique<FakeHost>(*this, side);
    m_engines[side] = std::make_unique<TcpEngine>(*m_hosts[side]);
  }
}

TcpTestNetwork::~TcpTestNetwork() {
  // Timers that finished connections fired "now" to drop their references run first, as
  // the stack's next poll() would.
  for (bool fired = true; fired;) {
    fired = false;
    for (int side = 0; side < 2 && !fired; side++) {
      auto& list = m_hosts[side]->timers;
      for (NetTimer* t = list.front(); t; t = list.next(t)) {
        if (t->deadline_ns <= m_now) {
          list.remove(t);
          t->callback(*t);
          fired = true;
          break;
        }
      }
    }
  }
  m_engines[0].reset();
  m_engines[1].reset();
}

void TcpTestNetwork::set_conditions(const WireConditions& conditions) {
  m_conditions = conditions;
  m_random.seed(conditions.seed);
}

RefPtr<TcpSocket> TcpTestNetwork::socket(int side, int family) {
  TcpEngine& e = engine(side);
  e.lock();
  RefPtr<TcpConnection> connection = e.create_connection(family);
  e.unlock();
  return adopt_ref(new TcpSocket(e, family, connection));
}

SocketAddress TcpTestNetwork::sockaddr(const IpAddress& address, uint16_t port, int family) {
  SocketAddress out;
  uint16_t f = uint16_t(family);
  memcpy(out.bytes.data(), &f, 2);
  out.bytes[2] = std::byte(port >> 8);
  out.bytes[3] = std::byte(port);
  if (family == 2) {
    memcpy(out.bytes.data() + 4, address.bytes.data() + 12, 4);
    out.length = 16;
  } else {
    memcpy(out.bytes.data() + 8, address.bytes.data(), 16);
    out.length = 28;
  }
  return out;
}

void TcpTestNetwork::transmit(int from, Packet* packet, const IpAddress& source, const IpAddress& destination) {
  std::vector<std::byte> bytes(packet->bytes().begin(), packet->bytes().end());
  Packet::free(packet);
  std::lock_guard guard(m_mutex);
  if (record) {
    auto header = parse_tcp_header(bytes);
    if (header) log.push_back({from, m_now, *header, bytes.size() - header->header_length, bytes});
  }
  if (filter) {
    if (!filter(from, bytes)) {
      dropped++;
      return;
    }
    if (bytes.size() >= 20) {
      bytes[16] = bytes[17] = std::byte{0};
      uint16_t checksum = tcp_checksum(source, destination, bytes);
      bytes[16] = std::byte(checksum >> 8);
      bytes[17] = std::byte(checksum);
    }
  }
  std::uniform_real_distribution<double> uniform(0, 1);
  if (m_conditions.loss > 0 && uniform(m_random) < m_conditions.loss) {
    dropped++;
    return;
  }
  int copies = (m_conditions.duplicate > 0 && uniform(m_random) < m_conditions.duplicate) ? 2 : 1;
  for (int i = 0; i < copies; i++) {
    uint64_t due = m_now + m_conditions.latency_ns;
    if (m_conditions.reorder > 0 && uniform(m_random) < m_conditions.reorder) due += m_conditions.reorder_delay_ns;
    m_queue.push_back({due, m_order++, 1 - from, source, destination, bytes});
  }
}

void TcpTestNetwork::deliver(InFlight& item) {
  inject(item.to, item.bytes, item.source, item.destination, false);
}

void TcpTestNetwork::inject(int to_side, std::span<const std::byte> segment, const IpAddress& source,
                            const IpAddress& destination, bool checksum_verified) {
  Packet* packet = *Packet::try_allocate(Packet::kDefaultHeadroom + segment.size() + 1);
  if (!segment.empty()) memcpy(packet->put(segment.size()), segment.data(), segment.size());
  IpReceiveInfo info;
  info.source = source;
  info.destination = destination;
  info.protocol = 6;
  info.checksum_verified = checksum_verified;
  engine(to_side).receive(info, packet);
}

bool TcpTestNetwork::step(uint64_t deadline_ns) {
  std::unique_lock guard(m_mutex);
  uint64_t best = ~0ull;
  int kind = -1;  // 0: packet, 1: timer
  size_t packet_index = 0;
  NetTimer* timer = nullptr;
  int timer_side = 0;
  for (size_t i = 0; i < m_queue.size(); i++) {
    if (m_queue[i].due_ns < best || (m_queue[i].due_ns == best && kind == 0 && m_queue[i].order < m_queue[packet_index].order)) {
      best = m_queue[i].due_ns;
      kind = 0;
      packet_index = i;
    }
  }
  for (int side = 0; side < 2; side++) {
    auto& list = m_hosts[side]->timers;
    for (NetTimer* t = list.front(); t; t = list.next(t)) {
      if (t->deadline_ns < best) {
        best = t->deadline_ns;
        kind = 1;
        timer = t;
        timer_side = side;
      }
    }
  }
  if (kind < 0 || best > deadline_ns) return false;
  if (best > m_now) m_now = best;
  if (kind == 0) {
    InFlight item = std::move(m_queue[packet_index]);
    m_queue.erase(m_queue.begin() + long(packet_index));
    guard.unlock();
    deliver(item);
  } else {
    m_hosts[timer_side]->timers.remove(timer);
    guard.unlock();
    timer->callback(*timer);
  }
  return true;
}

bool TcpTestNetwork::run_until(const std::function<bool()>& done, uint64_t deadline_ns) {
  for (;;) {
    if (done()) return true;
    if (!step(deadline_ns)) {
      if (m_now < deadline_ns) m_now = deadline_ns;
      return done();
    }
  }
}

void TcpTestNetwork::run_for(uint64_t ns) {
  run_until([] { return false; }, m_now + ns);
}

Result<size_t> send_bytes(TcpSocket& socket, std::span<const std::byte> data, uint32_t flags, bool nonblocking) {
  fs::IoVec vector{const_cast<std::byte*>(data.data()), data.size()};
  SendRequest request;
  request.data = {&vector, 1};
  request.flags = flags;
  request.nonblocking = nonblocking;
  return socket.send(request);
}

Result<size_t> receive_bytes(TcpSocket& socket, std::vector<std::byte>& out, size_t max, uint32_t flags,
                             bool nonblocking) {
  std::vector<std::byte> buffer(max);
  fs::IoVec vector{buffer.data(), buffer.size()};
  ReceiveRequest request;
  request.data = {&vector, 1};
  request.flags = flags;
  request.nonblocking = nonblocking;
  auto result = socket.receive(request);
  if (result && !(flags & 0x20)) out.insert(out.end(), buffer.begin(), buffer.begin() + long(*result));
  return result;
}

std::vector<std::byte> pattern(size_t length, uint32_t seed) {
  std::vector<std::byte> out(length);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = std::byte(x);
  }
  return out;
}

}  // namespace nimbus::net::tcp::test
