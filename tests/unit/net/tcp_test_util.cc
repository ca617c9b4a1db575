// Shared steps of the TCP tests.
#include "tests/unit/net/tcp_test_util.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace nimbus::net::tcp::test {



Pair connect_pair(TcpTestNetwork& net, uint16_t port,
                  const std::function<void(TcpSocket& listener, TcpSocket& client)>& prepare) {
  Pair p;
  p.listener = net.socket(1);
  p.client = net.socket(0);
  if (prepare) prepare(*p.listener, *p.client);
  EXPECT_TRUE(p.listener->bind(TcpTestNetwork::sockaddr(net.address(1), port)));
  EXPECT_TRUE(p.listener->listen(16));
  auto started = p.client->connect(TcpTestNetwork::sockaddr(net.address(1), port), true);
  EXPECT_EQ(started.error(), Errno::einprogress);
  net.run_until([&] { return p.client->connection().state == TcpState::established; }, net.now() + 5 * kSecond);
  net.run_for(5 * kMs);
  auto accepted = p.listener->accept(true, nullptr);
  EXPECT_TRUE(accepted);
  if (accepted) p.server = RefPtr<TcpSocket>(static_cast<TcpSocket*>(accepted->get()));
  return p;
}

// Moves `data` from `from` to `to` with non-blocking calls while the network runs.
std::vector<std::byte> transfer(TcpTestNetwork& net, TcpSocket& from, TcpSocket& to, const std::vector<std::byte>& data,
                                uint64_t limit_ns) {
  std::vector<std::byte> received;
  size_t sent = 0;
  uint64_t deadline = net.now() + limit_ns;
  while (received.size() < data.size() && net.now() < deadline) {
    if (sent < data.size()) {
      auto n = send_bytes(from, std::span(data).subspan(sent));
      if (n) sent += *n;
    }
    for (;;) {
      auto n = receive_bytes(to, received, 256 * 1024);
      if (!n || *n == 0) break;
    }
    net.run_until([&] { return to.connection().receive_buffer.size() > 0 || (sent < data.size() && from.connection().send_buffer.free_space() > 0); },
                  net.now() + kSecond);
  }
  return received;
}

void dump_log(const TcpTestNetwork& net, size_t from) {
  for (size_t i = from; i < net.log.size(); i++) {
    const Segment& s = net.log[i];
    printf("%8.3f %d->%d flags=%02x seq=%u ack=%u win=%u len=%zu\n", double(s.time_ns) / 1e6, s.from, 1 - s.from,
           s.header.flags, s.header.seq, s.header.ack, s.header.window, s.payload);
  }
}

void inject_segment(TcpTestNetwork& net, int to_side, const TcpHeader& header, std::span<const std::byte> payload) {
  std::vector<std::byte> segment(kMinHeaderLength + tcp_options_length(header.options) + payload.size());
  size_t length = build_tcp_header(segment, header);
  std::copy(payload.begin(), payload.end(), segment.begin() + long(length));
  IpAddress from = net.address(1 - to_side), to = net.address(to_side);
  uint16_t sum = tcp_checksum(from, to, segment);
  segment[16] = std::byte(sum >> 8), segment[17] = std::byte(sum);
  net.inject(to_side, segment, from, to);
}

}  // namespace nimbus::net::tcp::test
