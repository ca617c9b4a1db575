// Blocking socket calls from other threads while the main thread runs the simulated
// network: connect, accept, send waiting for buffer space and MSG_WAITALL receives.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "kernel/net/socket_abi.h"
#include "tests/unit/net/tcp_test_util.h"

namespace nimbus::net::tcp::test {
namespace {

TEST(TcpBlocking, ConnectAcceptSendAndWaitallAcrossThreads) {
  TcpTestNetwork net;
  auto listener = net.socket(1);
  ASSERT_TRUE(listener->bind(TcpTestNetwork::sockaddr(net.address(1), 80)));
  ASSERT_TRUE(listener->listen(4));
  auto client = net.socket(0);
  auto data = pattern(600 * 1024, 9);  // several times the send buffer: send() must wait
  std::atomic<bool> client_done = false, server_done = false;
  Result<size_t> sent = 0;
  Result<> connected;
  std::vector<std::byte> received;
  Result<size_t> got = 0;
  std::thread client_thread([&] {
    connected = client->connect(TcpTestNetwork::sockaddr(net.address(1), 80), false);
    if (connected) sent = send_bytes(*client, data, 0, false);
    client_done = true;
  });
  std::thread server_thread([&] {
    auto accepted = listener->accept(false, nullptr);
    if (accepted) {
      RefPtr<TcpSocket> server(static_cast<TcpSocket*>(accepted->get()));
      got = receive_bytes(*server, received, data.size(), abi::msg_waitall, false);
    }
    server_done = true;
  });
  uint64_t deadline = net.now() + 600 * kSecond;
  while (!(client_done && server_done) && net.now() < deadline) {
    net.run_until([&] { return client_done && server_done; }, net.now() + kMs);
    std::this_thread::yield();
  }
  client_thread.join();
  server_thread.join();
  ASSERT_TRUE(connected);
  ASSERT_TRUE(sent);
  EXPECT_EQ(*sent, data.size());
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, data.size());
  EXPECT_EQ(received, data);
}

}  // namespace
}  // namespace nimbus::net::tcp::test
