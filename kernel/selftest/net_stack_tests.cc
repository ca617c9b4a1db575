// Self-test of the kernel's network stage end to end: a UDP socket on the kernel's stack
// echoes datagrams that the host sends through QEMU's port forwarding (-p ...:7777/udp), so
// every frame crosses the virtio-net driver, ARP, IPv4 and UDP both ways.
#include <cstring>

#include "kernel/lib/console.h"
#include "kernel/net/socket_abi.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/socket.h"
#include "kernel/net/udp.h"
#include "kernel/selftest/selftest.h"
#include "kernel/time/clock.h"

namespace nimbus::selftest {
namespace {

constexpr uint16_t kEchoPort = 7777;
constexpr uint64_t kWaitNs = 60'000'000'000;  // for the host's first datagram, and each next
constexpr size_t kMaxDatagram = 512;

net::SocketAddress any_ipv4(uint16_t port) {
  net::SocketAddress address;
  uint16_t family = net::abi::af_inet;
  memcpy(address.bytes.data(), &family, sizeof(family));
  address.bytes[2] = static_cast<std::byte>(port >> 8);
  address.bytes[3] = static_cast<std::byte>(port & 0xff);
  address.length = net::abi::sockaddr_in_size;
  return address;
}

}  // namespace

bool udp_echo() {
  net::NetStack* stack = net::kernel_net_stack();
  if (!stack) {
    print("net-udp-echo: FAILED (no network stack)\n");
    return false;
  }
  auto created = stack->udp().create_socket(net::abi::af_inet);
  if (!created) {
    print("net-udp-echo: FAILED (socket: error %d)\n", static_cast<int>(created.error()));
    return false;
  }
  RefPtr<net::Socket> socket = *created;
  if (auto bound = socket->bind(any_ipv4(kEchoPort)); !bound) {
    print("net-udp-echo: FAILED (bind: error %d)\n", static_cast<int>(bound.error()));
    return false;
  }
  socket->options().receive_timeout_ns = kWaitNs;
  print("net-udp-echo: listening on port %u\n", kEchoPort);
  size_t echoed = 0;
  char buffer[kMaxDatagram];
  for (;;) {
    fs::IoVec in{buffer, sizeof(buffer)};
    net::SocketAddress source;
    net::ReceiveRequest receive;
    receive.data = {&in, 1};
    receive.source = &source;
    auto received = socket->receive(receive);
    if (!received) {
      print("net-udp-echo: FAILED (receive: error %d after %zu datagrams)\n", static_cast<int>(received.error()),
            echoed);
      return false;
    }
    fs::IoVec out{buffer, *received};
    net::SendRequest send;
    send.data = {&out, 1};
    send.destination = &source;
    if (auto sent = socket->send(send); !sent) {
      print("net-udp-echo: FAILED (send: error %d)\n", static_cast<int>(sent.error()));
      return false;
    }
    echoed++;
    // The host ends the test with a datagram that says "quit" (after it is echoed too).
    if (*received == 4 && memcmp(buffer, "quit", 4) == 0) break;
  }
  print("net-udp-echo: ok (%zu datagrams echoed)\n", echoed);
  return true;
}

}  // namespace nimbus::selftest
