// VM tests of real programs on the network: Debian's python3 serving and connecting through
// QEMU's user networking (`nimbus run -p`), curl as the client, and TCP over the guest's own
// loopback. Only 127.0.0.1 on the host and the guest's own addresses are ever targeted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;
using namespace std::chrono_literals;
constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kStandardLibrary = "/usr/lib/python3.11";

// A socket of `type` bound to 127.0.0.1 on a port the kernel chose, stored in `port`.
int bound_loopback_socket(int type, int& port) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error("cannot bind a socket on 127.0.0.1");
  port = ntohs(address.sin_port);
  return fd;
}

// A port on 127.0.0.1 that nothing listens on right now (the kernel's choice).
int free_host_port(int type) {
  int port;
  ::close(bound_loopback_socket(type, port));
  return port;
}

// A TCP listener on 127.0.0.1 (which the guest reaches as 10.0.2.2), its port in `port`.
int host_listener(int& port) {
  int fd = bound_loopback_socket(SOCK_STREAM, port);
  if (::listen(fd, 4) != 0) throw std::runtime_error("cannot listen on 127.0.0.1");
  return fd;
}

// Runs a command on the host and returns its stdout and exit status.
std::pair<std::string, int> host_command(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return {"", -1};
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int status = ::pclose(pipe);
  return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// The first fetch of `url` through a port forward: until the guest listens, QEMU accepts and
// then drops the connection, so curl is retried (3 minutes at most).
std::pair<std::string, int> fetch_once_served(const std::string& url) {
  std::pair<std::string, int> result;
  for (auto deadline = std::chrono::steady_clock::now() + 180s; std::chrono::steady_clock::now() < deadline;) {
    result = host_command("curl -s --max-time 10 " + url);
    if (result.second == 0) break;
    std::this_thread::sleep_for(250ms);
  }
  return result;
}

class NetPrograms : public testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kPython) || !std::filesystem::exists(kStandardLibrary))
      GTEST_FAIL() << "Debian's python3 is not installed (scripts/install-deps)";
  }

  // Boots python3 running `script` (packed at /app.py) with `options` before the program;
  // returns at once with the run in flight.
  // `substitutions` replace words in the script (a port known only at run time).
  std::future<NimbusRun> start_python(std::string script, const Args& options,
                                      const std::vector<std::pair<std::string, std::string>>& substitutions = {}) {
    for (const auto& [word, value] : substitutions)
      for (size_t at; (at = script.find(word)) != std::string::npos;) script.replace(at, word.size(), value);
    std::string path = m_dir.write_file("app.py", script);
    Args args{"run", "--timeout", "200", "--memory", "256M", "--add", kStandardLibrary, "--add", path + ":/app.py"};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {kPython, "/app.py"});
    return std::async(std::launch::async, [args] { return run_nimbus(args, RunLimits{240s}); });
  }

  NimbusRun run_python(const std::string& script, const Args& options = {},
                       const std::vector<std::pair<std::string, std::string>>& substitutions = {}) {
    return start_python(script, options, substitutions).get();
  }

  TempDir m_dir;
};

TEST_F(NetPrograms, CurlFetchesFromPythonHttpServer) {
  int port = free_host_port(SOCK_STREAM);
  auto run = start_python(R"py(
import http.server
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from nimbus, path %s\n" % self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
server = http.server.HTTPServer(("0.0.0.0", 8000), Handler)
print("listening", flush=True)
for _ in range(3):
    server.handle_request()
print("served 3")
)py", {"-p", std::to_string(port) + ":8000"});

  std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto first = fetch_once_served(url + "/first");
  EXPECT_EQ(first.second, 0);
  EXPECT_EQ(first.first, "hello from nimbus, path /first\n");
  auto second = host_command("curl -s --max-time 10 " + url + "/second");
  EXPECT_EQ(second.first, "hello from nimbus, path /second\n");
  auto third = host_command("curl -s --max-time 10 -o /dev/null -w '%{http_code}' " + url + "/third");
  EXPECT_EQ(third.first, "200");

  NimbusRun result = run.get();
  EXPECT_EQ(result.status, 0) << result.output();
  EXPECT_EQ(result.out, "listening\nserved 3\n") << result.output();
}

TEST_F(NetPrograms, GuestConnectsOutToTheHost) {
  // A server on the host's loopback; QEMU's user network shows the host as 10.0.2.2.
  int port;
  int listener = host_listener(port);
  std::thread server([listener] {
    int connection = ::accept(listener, nullptr, nullptr);
    if (connection < 0) return;
    std::string received;
    char buffer[256];
    ssize_t n;
    while (received.find('\n') == std::string::npos && (n = ::read(connection, buffer, sizeof buffer)) > 0)
      received.append(buffer, static_cast<size_t>(n));
    std::string reply = "host got: " + received;
    (void)!::write(connection, reply.data(), reply.size());
    ::close(connection);
  });

  NimbusRun run = run_python(R"py(
import socket
s = socket.create_connection(("10.0.2.2", PORT), timeout=60)
s.sendall(b"hello host\n")
data = b""
while True:
    chunk = s.recv(100)
    if not chunk: break
    data += chunk
print(data.decode(), end="")
)py", {}, {{"PORT", std::to_string(port)}});
  ::shutdown(listener, SHUT_RDWR);
  ::close(listener);
  server.join();
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "host got: hello host\n") << run.output();
}

// What a program sends just before it exits still arrives, as on Linux.
TEST_F(NetPrograms, DataSentRightBeforeExitArrives) {
  int port;
  int listener = host_listener(port);
  size_t received = 0;
  std::thread server([listener, &received] {
    int connection = ::accept(listener, nullptr, nullptr);
    if (connection < 0) return;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(connection, buffer, sizeof buffer)) > 0) received += static_cast<size_t>(n);
    ::close(connection);
  });
  NimbusRun run = run_python(R"py(
import os, socket
s = socket.create_connection(("10.0.2.2", PORT), timeout=60)
s.sendall(b"x" * (4 << 20))
os._exit(0)
)py", {}, {{"PORT", std::to_string(port)}});
  server.join();
  ::close(listener);
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(received, size_t{4} << 20);
}

TEST_F(NetPrograms, UdpEchoThroughAForwardedPort) {
  int port = free_host_port(SOCK_DGRAM);
  auto run = start_python(R"py(
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9000))
for _ in range(2):
    data, peer = s.recvfrom(2048)
    s.sendto(b"echo:" + data, peer)
print("echoed 2")
)py", {"-p", std::to_string(port) + ":9000/udp"});

  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  timeval timeout{0, 300000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in guest{};
  guest.sin_family = AF_INET;
  guest.sin_port = htons(static_cast<uint16_t>(port));
  guest.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd, reinterpret_cast<sockaddr*>(&guest), sizeof guest);
  // Datagrams sent before the guest binds are lost: resend until one comes back.
  std::string reply;
  char buffer[2048];
  for (auto deadline = std::chrono::steady_clock::now() + 180s; std::chrono::steady_clock::now() < deadline;) {
    (void)!::send(fd, "one", 3, 0);
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      reply.assign(buffer, static_cast<size_t>(n));
      break;
    }
  }
  EXPECT_EQ(reply, "echo:one");
  std::string second;
  for (int attempt = 0; attempt < 20 && second.empty(); attempt++) {
    (void)!::send(fd, "two", 3, 0);
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) second.assign(buffer, static_cast<size_t>(n));
  }
  EXPECT_EQ(second, "echo:two");
  ::close(fd);
  NimbusRun result = run.get();
  EXPECT_EQ(result.status, 0) << result.output();
  EXPECT_EQ(result.out, "echoed 2\n") << result.output();
}

TEST_F(NetPrograms, LoopbackTransfersAreByteExact) {
  // 8 MiB through the guest's own 127.0.0.1 in both directions, then 300 short connections.
  NimbusRun run = run_python(R"py(
import hashlib, random, socket, threading
payload = random.Random(7).randbytes(8 << 20)
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
port = listener.getsockname()[1]
received = {}
def serve():
    conn, _ = listener.accept()
    digest = hashlib.sha256()
    total = 0
    while True:
        chunk = conn.recv(65536)
        if not chunk: break
        digest.update(chunk)
        total += len(chunk)
    received["up"] = (total, digest.hexdigest())
    conn.sendall(payload)
    conn.close()
    for _ in range(300):
        c, _ = listener.accept()
        c.sendall(c.recv(100).upper())
        c.close()
t = threading.Thread(target=serve)
t.start()
client = socket.create_connection(("127.0.0.1", port))
client.sendall(payload)
client.shutdown(socket.SHUT_WR)
down = hashlib.sha256()
total = 0
while True:
    chunk = client.recv(65536)
    if not chunk: break
    down.update(chunk)
    total += len(chunk)
client.close()
answers = 0
for i in range(300):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"ping %d" % i)
    if c.recv(100) == (b"PING %d" % i): answers += 1
    c.close()
t.join()
expected = hashlib.sha256(payload).hexdigest()
print(received["up"] == (len(payload), expected), (total, down.hexdigest()) == (len(payload), expected), answers)
)py");
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "True True 300\n") << run.output();
}

TEST_F(NetPrograms, SocketErrorsAsOnLinux) {
  NimbusRun run = run_python(R"py(
import errno, socket
s = socket.socket()
try:
    s.connect(("127.0.0.1", 1))
except OSError as e:
    print("connect", errno.errorcode[e.errno])
a = socket.socket(); a.bind(("127.0.0.1", 0)); a.listen()
b = socket.socket()
try:
    b.bind(a.getsockname())
except OSError as e:
    print("bind", errno.errorcode[e.errno])
c = socket.socket(); c.setblocking(False)
try:
    c.connect(a.getsockname())
except OSError as e:
    print("nonblocking connect", errno.errorcode[e.errno])
d = socket.socket()
try:
    d.send(b"x")
except OSError as e:
    print("send unconnected", errno.errorcode[e.errno])
)py");
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out,
            "connect ECONNREFUSED\nbind EADDRINUSE\nnonblocking connect EINPROGRESS\n"
            "send unconnected EPIPE\n")
      << run.output();
}

TEST_F(NetPrograms, PythonSeesTheInterfaces) {
  NimbusRun run = run_python(R"py(
import socket
print(socket.if_nameindex())
print(socket.if_nametoindex("eth0"))
)py");
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "[(1, 'lo'), (2, 'eth0')]\n2\n") << run.output();
}

TEST_F(NetPrograms, ProcNetShowsSocketsAndInterfaces) {
  NimbusRun run = run_python(R"py(
import socket
listener = socket.socket(); listener.bind(("127.0.0.1", 8080)); listener.listen(5)
client = socket.create_connection(("127.0.0.1", 8080)); server, _ = listener.accept()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("0.0.0.0", 5353))
ephemeral = "%04X" % client.getsockname()[1]
tcp = [" ".join(line.split()[1:5]).replace(ephemeral, "EPHEMERAL") for line in open("/proc/net/tcp").readlines()[1:]]
print("\n".join(sorted(tcp)))
print([line.split()[1:4] for line in open("/proc/net/udp").readlines()[1:]])
print(sorted(line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]))
print([line.split()[:4] for line in open("/proc/net/route").readlines()[1:]])
print(open("/proc/sys/net/core/somaxconn").read().strip())
)py");
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out,
            "0100007F:1F90 00000000:0000 0A 00000005:00000000\n"
            "0100007F:1F90 0100007F:EPHEMERAL 01 00000000:00000000\n"
            "0100007F:EPHEMERAL 0100007F:1F90 01 00000000:00000000\n"
            "[['00000000:14E9', '00000000:0000', '07']]\n"
            "['eth0', 'lo']\n"
            "[['eth0', '00000000', '0202000A', '0003'], ['eth0', '0002000A', '00000000', '0001']]\n"
            "4096\n")
      << run.output();
}

TEST_F(NetPrograms, Ipv6LoopbackDualStackAndSlaac) {
  // TCP and UDP over ::1; a [::] listener taking IPv4 and IPv4-mapped clients; the
  // addresses in /proc/net/if_inet6, among them the one SLAAC makes from slirp's fec0::/64.
  NimbusRun run = run_python(R"py(
import socket, time
srv = socket.socket(socket.AF_INET6); srv.bind(("::1", 0)); srv.listen(8)
c = socket.create_connection(("::1", srv.getsockname()[1])); s, peer = srv.accept()
c.sendall(b"hello6"); print(s.recv(100), peer[0], s.getsockname()[0])
dual = socket.socket(socket.AF_INET6); dual.bind(("::", 0)); dual.listen(8)
port = dual.getsockname()[1]
c4 = socket.create_connection(("127.0.0.1", port)); s4, peer4 = dual.accept(); print(peer4[0])
cm = socket.socket(socket.AF_INET6); cm.connect(("::ffff:127.0.0.1", port)); sm, peerm = dual.accept()
cm.sendall(b"mapped"); print(sm.recv(100), peerm[0], dual.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::1", 0))
v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); v.sendto(b"dgram6", u.getsockname())
data, source = u.recvfrom(100); print(data, source[0])
print(any(l.split()[1].startswith("00000000000000000000000001000000:") and l.split()[3] == "0A"
          for l in open("/proc/net/tcp6").readlines()[1:]))
for _ in range(200):
    if any(l.startswith("fec0") for l in open("/proc/net/if_inet6")): break
    time.sleep(0.05)
print(sorted(l.split()[5] + " " + l.split()[0][:4] + " " + l.split()[2] for l in open("/proc/net/if_inet6")))
)py");
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out,
            "b'hello6' ::1 ::1\n"
            "::ffff:127.0.0.1\n"
            "b'mapped' ::ffff:127.0.0.1 0\n"
            "b'dgram6' ::1\n"
            "True\n"
            "['eth0 fe80 40', 'eth0 fec0 40', 'lo 0000 80']\n")
      << run.output();
}

// A static Go binary: its own runtime, netpoller (epoll, non-blocking sockets) and rtnetlink.
NimbusRun go_net(const Args& options, const Args& program_args) {
  Args args{"run", "--timeout", "200", "--memory", "256M", "--cpus", "2"};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back(build_file("apps/go-net"));
  args.insert(args.end(), program_args.begin(), program_args.end());
  return run_nimbus(args, RunLimits{240s});
}

TEST(GoNet, HttpServerAndClientOverLoopback) {
  NimbusRun run = go_net({}, {"loopback"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "good responses: 50\n") << run.output();
}

TEST(GoNet, InterfacesThroughRtnetlink) {
  NimbusRun run = go_net({}, {"interfaces"});
  EXPECT_EQ(run.status, 0) << run.output();
  // lo has ::1 as on Linux (Go lists a dump's IPv4 addresses first, as rtnetlink gives them).
  EXPECT_EQ(run.out, "interfaces: [eth0 lo]\nlo: [127.0.0.1/8 ::1/128] true true\n") << run.output();
}

// Boots the Go server with `machine_options`, fetches two pages with curl through -p.
void go_serves_curl(const Args& machine_options) {
  int port = free_host_port(SOCK_STREAM);
  Args options = machine_options;
  options.insert(options.end(), {"-p", "127.0.0.1:" + std::to_string(port) + ":8080"});
  auto run = std::async(std::launch::async, [options] { return go_net(options, {"serve", "2"}); });
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto first = fetch_once_served(url + "/a");
  EXPECT_EQ(first.first, "hello from go, path /a\n");
  EXPECT_EQ(host_command("curl -s --max-time 10 " + url + "/b").first, "hello from go, path /b\n");
  NimbusRun result = run.get();
  EXPECT_EQ(result.status, 0) << result.output();
  EXPECT_EQ(result.out, "listening\nserved 2\n") << result.output();
}

TEST(GoNet, ServesCurlThroughAForwardedPort) { go_serves_curl({}); }

// q35: the same over virtio-net-pci with MSI-X.
TEST(GoNet, ServesCurlOnQ35) { go_serves_curl({"--machine", "q35"}); }

}  // namespace
