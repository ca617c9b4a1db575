// VM tests of networking: the virtio-net driver's ARP round trip with QEMU user networking's
// gateway, and the CLI's network options as the guest and the host see them.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

}  // namespace
