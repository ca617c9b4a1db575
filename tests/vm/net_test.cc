// VM tests of networking: the virtio-net driver's ARP round trip with QEMU user networking's
// gateway, and the CLI's network options as the guest and the host see them.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <string_view>
#include <vector>

#include "nimbus_runner.h"

namespace {

using Args = std::vector<std::string>;

namespace kernel_says {
constexpr std::string_view kArpOk = "net-arp: ok (eth0: 10.0.2.2 is at 52:55:0a:00:02:02";
constexpr std::string_view kNoDevice = "net-arp: FAILED (no virtio-net device";
constexpr int kTestFailedStatus = 1;
}  // namespace kernel_says

constexpr int kTestSeconds = 60;

NimbusRun nimbus(Args args) {
  return run_nimbus(args, {.hard_limit = std::chrono::seconds(kTestSeconds + 15)});
}

bool contains(const std::string& text, std::string_view needle) { return text.find(needle) != std::string::npos; }

TEST(Net, ArpRequestThroughVirtioNetGetsTheGatewaysReply) {
  Args args{"run", "--timeout", std::to_string(kTestSeconds), "--net", "user", "--", "test=net-arp"};
  NimbusRun run = nimbus(args);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_TRUE(contains(run.out, kernel_says::kArpOk)) << describe(args, run);
}

TEST(Net, ArpSelfTestFailsWithoutADevice) {
  // The kernel's own job gets no network by default: the test must notice, not hang.
  Args args{"run", "--timeout", std::to_string(kTestSeconds), "--", "test=net-arp"};
  NimbusRun run = nimbus(args);
  EXPECT_EQ(run.status, kernel_says::kTestFailedStatus) << describe(args, run);
  EXPECT_TRUE(contains(run.out, kernel_says::kNoDevice)) << describe(args, run);
}

TEST(Net, PortZeroIsRefusedAndTheChosenMacReachesTheDevice) {
  // A host port 0 is a usage error; --mac reaches the device (the reply is addressed to it).
  Args args{"run", "--timeout", std::to_string(kTestSeconds), "-p", "127.0.0.1:0:80", "--", "test=net-arp"};
  NimbusRun refused = nimbus(args);
  EXPECT_EQ(refused.status, 2) << describe(args, refused);
  EXPECT_TRUE(contains(refused.err, "1 to 65535")) << describe(args, refused);

  Args with_mac{"run", "--timeout", std::to_string(kTestSeconds), "--net", "user", "--mac", "52:54:00:aa:bb:cc",
                "--", "test=net-arp", "verbose"};
  NimbusRun run = nimbus(with_mac);
  EXPECT_EQ(run.status, 0) << describe(with_mac, run);
  EXPECT_TRUE(contains(run.out, "mac 52:54:00:aa:bb:cc")) << describe(with_mac, run);
  EXPECT_TRUE(contains(run.out, kernel_says::kArpOk)) << describe(with_mac, run);
}

TEST(Net, HostPortInUseIsRefusedBeforeQemuStarts) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::string port = std::to_string(ntohs(address.sin_port));
  Args args{"run", "--timeout", std::to_string(kTestSeconds), "-p", "127.0.0.1:" + port + ":80", "/bin/true"};
  NimbusRun run = nimbus(args);
  ::close(fd);
  EXPECT_EQ(run.status, 125) << describe(args, run);
  EXPECT_TRUE(contains(run.err, "host port " + port + " is already in use")) << describe(args, run);
}

TEST(Net, MissingTapDeviceIsRefused) {
  Args args{"run", "--timeout", std::to_string(kTestSeconds), "--net", "tap=nimbus-no-tap", "/bin/true"};
  NimbusRun run = nimbus(args);
  EXPECT_EQ(run.status, 125) << describe(args, run);
  EXPECT_TRUE(contains(run.err, "no network interface 'nimbus-no-tap'")) << describe(args, run);
}

TEST(Net, DryRunShowsTheNetdev) {
  Args args{"run", "--dry-run", "-p", "18080:8000", "--", "test=net-arp"};
  NimbusRun run = nimbus(args);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_TRUE(contains(run.out, "-netdev user,id=net0,hostfwd=tcp::18080-:8000 -device virtio-net-device,netdev=net0"))
      << describe(args, run);
  Args none{"run", "--dry-run", "--net", "none", "/bin/true"};
  NimbusRun without = nimbus(none);
  EXPECT_EQ(without.status, 0) << describe(none, without);
  EXPECT_FALSE(contains(without.out, "-netdev")) << describe(none, without);
}

// A UDP port on 127.0.0.1 that was free a moment ago (the kernel picked it).
std::uint16_t free_udp_port() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  std::uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

// Sends `text` to 127.0.0.1:port every 200 ms until the same text comes back or `limit`
// passes; returns whether it did.
bool echoed(int fd, std::uint16_t port, const std::string& text, std::chrono::seconds limit) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto give_up = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < give_up) {
    ::sendto(fd, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    char reply[512];
    ssize_t n = ::recv(fd, reply, sizeof(reply), 0);  // SO_RCVTIMEO: 200 ms
    if (n >= 0 && std::string(reply, static_cast<size_t>(n)) == text) return true;
  }
  return false;
}

TEST(Net, UdpDatagramsFromTheHostAreEchoedByTheKernelStack) {
  // host -> slirp -> virtio-net -> ARP/IPv4/UDP -> a kernel UDP socket, and back.
  std::uint16_t port = free_udp_port();
  ASSERT_NE(port, 0);
  Args args{"run", "--timeout", std::to_string(kTestSeconds), "-p", "127.0.0.1:" + std::to_string(port) + ":7777/udp",
            "--", "test=net-udp-echo"};
  auto guest = std::async(std::launch::async, [&args] { return nimbus(args); });
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  timeval timeout{0, 200'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  bool first = echoed(fd, port, "hello through virtio-net", std::chrono::seconds(kTestSeconds - 10));
  bool second = first && echoed(fd, port, std::string(400, 'x'), std::chrono::seconds(10));
  bool quit = echoed(fd, port, "quit", std::chrono::seconds(first ? 10 : 1));
  ::close(fd);
  NimbusRun run = guest.get();
  EXPECT_TRUE(first) << describe(args, run);
  EXPECT_TRUE(second) << describe(args, run);
  EXPECT_TRUE(quit) << describe(args, run);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_TRUE(contains(run.out, "net-udp-echo: ok")) << describe(args, run);
}

TEST(Net, ProgramSeesHostsResolvConfAndHostname) {
  Args args{"run", "--timeout", std::to_string(kTestSeconds), "--kernel-arg", "hostname=web-1", "/bin/cat",
            "/etc/hosts", "/etc/resolv.conf", "/etc/hostname"};
  NimbusRun run = nimbus(args);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_TRUE(contains(run.out, "127.0.0.1\tlocalhost\n")) << describe(args, run);
  EXPECT_TRUE(contains(run.out, "::1\tlocalhost")) << describe(args, run);
  // User networking by default: slirp's address for the guest and its DNS forwarder.
  EXPECT_TRUE(contains(run.out, "10.0.2.15\tweb-1\n")) << describe(args, run);
  EXPECT_TRUE(contains(run.out, "nameserver 10.0.2.3\n")) << describe(args, run);
  EXPECT_TRUE(run.out.ends_with("web-1\n")) << describe(args, run);
}

}  // namespace
