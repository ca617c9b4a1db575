// Shared steps of the TCP tests: a connected pair through a listener, and a transfer.
#pragma once

#include <vector>

#include "tests/unit/net/tcp_test_network.h"

namespace nimbus::net::tcp::test {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSecond = 1'000'000'000;

struct Pair {
  RefPtr<TcpSocket> listener, client, server;
};

// `prepare` may set options on the listener and the client before they connect.
Pair connect_pair(TcpTestNetwork& net, uint16_t port = 80,
                  const std::function<void(TcpSocket& listener, TcpSocket& client)>& prepare = {});
// Moves `data` from `from` to `to` with non-blocking calls while the network runs.
std::vector<std::byte> transfer(TcpTestNetwork& net, TcpSocket& from, TcpSocket& to, const std::vector<std::byte>& data,
                                uint64_t limit_ns = 600 * kSecond);
void dump_log(const TcpTestNetwork& net, size_t from);
// A segment built by hand, checksummed for the addresses, delivered to `to_side`.
void inject_segment(TcpTestNetwork& net, int to_side, const TcpHeader& header, std::span<const std::byte> payload = {});

}  // namespace nimbus::net::tcp::test
