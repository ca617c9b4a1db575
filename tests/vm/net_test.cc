// VM tests of networking: the virtio-net driver's ARP round trip with QEMU user networking's
// gateway, and the CLI's network options as the guest and the host see them.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <future>
#include <string>
#include <string_view>
#include <vector>

#include "nimbus_runner.h"
#include "sha256.h"
#include "temp_dir.h"

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

TEST(Net, ImageKeepsItsNetworkDefaultsAndRunOverridesThem) {
  TempDir dir;
  std::string image = (dir.path() / "cat.nimbus").string();
  Args build{"build", "-o", image, "-p", "18080:8000", "--mac", "52:54:00:00:00:42", "/bin/cat", "/etc/hosts"};
  NimbusRun built = nimbus(build);
  ASSERT_EQ(built.status, 0) << describe(build, built);

  Args dry{"run", "--dry-run", image};
  NimbusRun defaults = nimbus(dry);
  EXPECT_EQ(defaults.status, 0) << describe(dry, defaults);
  EXPECT_TRUE(contains(defaults.out, "hostfwd=tcp::18080-:8000")) << describe(dry, defaults);
  EXPECT_TRUE(contains(defaults.out, "virtio-net-device,netdev=net0,mac=52:54:00:00:00:42")) << describe(dry, defaults);
  EXPECT_FALSE(contains(defaults.out, "nimbus.publish=")) << "launch words never reach the kernel\n" << describe(dry, defaults);
  EXPECT_FALSE(contains(defaults.out, "nimbus.mac=")) << describe(dry, defaults);

  Args other{"run", "--dry-run", "-p", "18081:8000", image};
  NimbusRun overridden = nimbus(other);
  EXPECT_TRUE(contains(overridden.out, "hostfwd=tcp::18081-:8000")) << describe(other, overridden);
  EXPECT_FALSE(contains(overridden.out, "18080")) << describe(other, overridden);

  Args none{"run", "--net", "none", image};
  NimbusRun refused = nimbus(none);
  EXPECT_EQ(refused.status, 2) << describe(none, refused);
  EXPECT_TRUE(contains(refused.err, "--net none")) << describe(none, refused);

  // And it runs: the program sees the default network's address.
  Args real{"run", "--timeout", std::to_string(kTestSeconds), "-p", std::to_string(free_udp_port()) + ":8000", image};
  NimbusRun ran = nimbus(real);
  EXPECT_EQ(ran.status, 0) << describe(real, ran);
  EXPECT_TRUE(contains(ran.out, "10.0.2.15\tnimbus")) << describe(real, ran);
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

  Args uname{"run", "--timeout", std::to_string(kTestSeconds), "--kernel-arg", "hostname=web-1", "/bin/uname", "-n"};
  NimbusRun named = nimbus(uname);
  EXPECT_EQ(named.status, 0) << describe(uname, named);
  EXPECT_EQ(named.out, "web-1\n") << describe(uname, named);
}

// One HTTP GET of `path` from 127.0.0.1:port with a plain TCP client: the whole response, or
// "" when the connection fails or closes without one (every step has a 5 s timeout).
std::string http_get(std::uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0) {
    std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) response.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return response;
}

TEST(Net, PythonHttpServerAnswersThroughAPublishedPort) {
  const char* python = "/usr/bin/python3";
  const char* library = "/usr/lib/python3.11";
  if (!std::filesystem::exists(python) || !std::filesystem::exists(library))
    GTEST_SKIP() << "Debian's python3 is not installed";
  TempDir site;
  site.write_file("hello.txt", "hello from a Nimbus guest\n");
  std::uint16_t port = free_udp_port();  // a TCP port is free as often; checked by nimbus anyway
  ASSERT_NE(port, 0);
  // Serves exactly one request, then exits 0.
  Args args{"run", "--timeout", "240", "--memory", "256M", "-p", std::to_string(port) + ":8000",
            "--add", library, "--add", site.path().string() + ":/srv", "--workdir", "/srv", python, "-c",
            "import http.server as h; h.HTTPServer(('', 8000), h.SimpleHTTPRequestHandler).handle_request()"};
  auto guest = std::async(std::launch::async, [&args] { return run_nimbus(args, {.hard_limit = std::chrono::seconds(260)}); });
  std::string response;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(200);
  // Until the server listens, QEMU accepts the connection and closes it: try again.
  while (response.empty() && std::chrono::steady_clock::now() < give_up &&
         guest.wait_for(std::chrono::milliseconds(250)) != std::future_status::ready)
    response = http_get(port, "/hello.txt");
  NimbusRun run = guest.get();
  EXPECT_TRUE(response.starts_with("HTTP/1.0 200")) << response << describe(args, run);
  EXPECT_TRUE(response.ends_with("\r\n\r\nhello from a Nimbus guest\n")) << response << describe(args, run);
  EXPECT_EQ(run.status, 0) << describe(args, run);
}

// The guest side of the bulk test: receive kBulkBytes, answer with their SHA-256, then send
// kBulkBytes of a known pattern and close.
constexpr size_t kBulkBytes = 4 << 20;
constexpr const char* kBulkServer = R"(import hashlib, socket
s = socket.socket()
s.bind(("", 9000))
s.listen(1)
c, _ = s.accept()
h, n = hashlib.sha256(), 0
while n < 4194304:
    d = c.recv(65536)
    if not d:
        break
    h.update(d)
    n += len(d)
c.sendall((h.hexdigest() + "\n").encode())
c.sendall(bytes(range(256)) * 16384)
c.close()
)";

TEST(Net, BulkTcpBothWaysKeepsEveryByte) {
  const char* python = "/usr/bin/python3";
  const char* library = "/usr/lib/python3.11";
  if (!std::filesystem::exists(python) || !std::filesystem::exists(library))
    GTEST_SKIP() << "Debian's python3 is not installed";
  TempDir dir;
  std::string script = dir.write_file("bulk.py", kBulkServer);
  std::uint16_t port = free_udp_port();
  ASSERT_NE(port, 0);
  Args args{"run", "--timeout", "240", "--memory", "256M", "-p", std::to_string(port) + ":9000", "--add", library,
            "--add", script + ":/bulk.py", python, "/bulk.py"};
  auto guest = std::async(std::launch::async, [&args] { return run_nimbus(args, {.hard_limit = std::chrono::seconds(260)}); });

  std::string upload(kBulkBytes, '\0');
  for (size_t i = 0; i < upload.size(); i++) upload[i] = static_cast<char>((i * 2654435761u) >> 13);
  Sha256 expected_hash;
  expected_hash.update(upload);
  std::string expected = Sha256::hex(expected_hash.finish()) + "\n";
  std::string download_expected;
  for (int i = 0; i < 16384; i++)
    for (int b = 0; b < 256; b++) download_expected.push_back(static_cast<char>(b));

  std::string received;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(200);
  // Until the guest listens, QEMU accepts and then closes: retry until the whole exchange works.
  while (received.size() < expected.size() && std::chrono::steady_clock::now() < give_up &&
         guest.wait_for(std::chrono::milliseconds(250)) != std::future_status::ready) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    timeval timeout{60, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    received.clear();
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0) {
      size_t sent = 0;
      while (sent < upload.size()) {
        ssize_t n = ::send(fd, upload.data() + sent, upload.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      char buffer[65536];
      if (sent == upload.size())
        for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) received.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
  }
  NimbusRun run = guest.get();
  ASSERT_GE(received.size(), expected.size()) << describe(args, run);
  EXPECT_EQ(received.substr(0, expected.size()), expected) << "the guest hashed other bytes\n" << describe(args, run);
  EXPECT_EQ(received.size() - expected.size(), kBulkBytes) << describe(args, run);
  EXPECT_TRUE(received.substr(expected.size()) == download_expected) << "the download differs";
  EXPECT_EQ(run.status, 0) << describe(args, run);
}

}  // namespace
