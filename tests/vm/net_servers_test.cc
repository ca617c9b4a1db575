// VM tests of stock Debian servers in a Nimbus VM serving stock clients on the host through
// QEMU's user networking (`nimbus run -p 127.0.0.1:HOST:GUEST`): redis-server with redis-cli
// and redis-benchmark, nginx (one process, and a master with two workers) with curl,
// memcached with a protocol client, Node's http module with curl. Each exchange is a few
// seconds of traffic; every assertion checks content (bodies byte for byte, values read back,
// counts of what a benchmark did). Only 127.0.0.1 on the host is ever targeted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;
using namespace std::chrono_literals;

constexpr int kGuestSeconds = 200;             // nimbus --timeout: a hung server cannot outlive it
constexpr auto kReadyLimit = 150s;             // boot and start under TCG on a loaded machine
constexpr int kSigterm = 128 + SIGTERM;        // nimbus's status when the test stops it

// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

// Runs a shell command on the host; its stdout and exit status.
std::pair<std::string, int> sh(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return {"", -1};
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int status = ::pclose(pipe);
  return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool have(const char* path) { return std::filesystem::exists(path); }

// A plain TCP client to 127.0.0.1:port with 10 s timeouts on every call.
class Connection {
 public:
  explicit Connection(int port) {
    m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{10, 0};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(m_fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m_connected = ::connect(m_fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  }
  ~Connection() { ::close(m_fd); }
  bool ok() const { return m_connected; }
  bool send(const std::string& data) {
    for (size_t sent = 0; sent < data.size();) {
      ssize_t n = ::send(m_fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads until the buffer ends with `terminator` (or the peer closes, or a timeout).
  std::string receive_until(const std::string& terminator) {
    while (!m_buffer.ends_with(terminator)) {
      char chunk[65536];
      ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      m_buffer.append(chunk, static_cast<size_t>(n));
    }
    return std::exchange(m_buffer, {});
  }

 private:
  int m_fd = -1;
  bool m_connected = false;
  std::string m_buffer;
};

// One guest server: nimbus runs in the background; the test waits until `probe` answers,
// talks to it, then stops it (through the program's own quit request, or SIGTERM).
class NetServers : public testing::Test {
 protected:
  void start(const Args& options, const Args& program, const std::string& memory = "256M") {
    m_port = free_port();
    ASSERT_NE(m_port, 0);
    m_args = {"run", "--timeout", std::to_string(kGuestSeconds), "--memory", memory};
    m_args.insert(m_args.end(), options.begin(), options.end());
    m_args.insert(m_args.end(), program.begin(), program.end());
    for (std::string& word : m_args)
      for (size_t at; (at = word.find("HOSTPORT")) != std::string::npos;) word.replace(at, 8, std::to_string(m_port));
    Args args = m_args;
    m_run = std::async(std::launch::async, [this, args] {
      return run_nimbus(args, {.hard_limit = std::chrono::seconds(kGuestSeconds + 30),
                               .started = [this](pid_t pid) { m_pid = pid; }});
    });
  }

  // Until the guest listens, QEMU accepts a forwarded connection and then drops it: probe
  // until the server itself answers, the guest ends, or kReadyLimit passes.
  bool wait_ready(const std::function<bool()>& probe) {
    for (auto give_up = std::chrono::steady_clock::now() + kReadyLimit; std::chrono::steady_clock::now() < give_up;) {
      if (m_run.wait_for(300ms) == std::future_status::ready) return false;
      if (probe()) return true;
    }
    return false;
  }

  // Sends SIGTERM to nimbus (it forwards it to QEMU) and collects the run.
  NimbusRun terminate() {
    if (m_pid > 0) ::kill(m_pid, SIGTERM);
    return finish();
  }
  NimbusRun finish() {
    m_finished = true;
    return m_run.get();
  }
  std::string describe_run(const NimbusRun& run) const { return describe(m_args, run); }

  void TearDown() override {
    if (!m_finished && m_run.valid()) {
      if (m_pid > 0) ::kill(-m_pid, SIGKILL);
      m_run.wait();
    }
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(m_port) + path; }

  TempDir m_dir;
  int m_port = 0;
  Args m_args;
  std::atomic<pid_t> m_pid{0};
  std::future<NimbusRun> m_run;
  bool m_finished = false;
};

// ---- redis ----------------------------------------------------------------------------------

TEST_F(NetServers, RedisServesRedisCliAndRedisBenchmark) {
  if (!have("/usr/bin/redis-server") || !have("/usr/bin/redis-cli") || !have("/usr/bin/redis-benchmark"))
    GTEST_SKIP() << "redis-server and redis-tools are not installed (scripts/install-deps)";
  // Debian's redis-server is a link to redis-check-rdb; redis picks its mode from argv[0].
  start({"-p", "127.0.0.1:HOSTPORT:6379", "--argv0", "redis-server"},
        {"/usr/bin/redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "",
         "--appendonly", "no", "--logfile", ""});
  std::string cli = "timeout 20 redis-cli -p " + std::to_string(m_port) + " ";
  ASSERT_TRUE(wait_ready([&] { return sh(cli + "ping 2>/dev/null").first == "PONG\n"; }))
      << describe_run(terminate());

  // A value with every byte value in it, written from a file and read back byte for byte.
  std::string value;
  for (int i = 0; i < 4096; i++) value.push_back(static_cast<char>((i * 7) & 0xff));
  std::string value_file = m_dir.write_file("value.bin", value);
  EXPECT_EQ(sh(cli + "-x set blob < " + value_file).first, "OK\n");
  EXPECT_EQ(sh(cli + "strlen blob").first, "4096\n");
  std::string read_back = m_dir.path() / "read-back.bin";
  // --no-raw would quote it; raw output adds one newline.
  sh(cli + "--raw get blob > " + read_back);
  EXPECT_TRUE(read_file(read_back) == value + "\n") << "the value read back differs";
  EXPECT_EQ(sh(cli + "rpush list a b c").first, "3\n");
  EXPECT_EQ(sh(cli + "lrange list 0 -1").first, "a\nb\nc\n");

  // A short benchmark: 2,000 of each command from 10 clients; redis' own counters say how many
  // arrived (INCR and LPUSH on fixed keys without -r).
  auto bench = sh("timeout 120 redis-benchmark -p " + std::to_string(m_port) +
                  " -c 10 -n 2000 -t set,get,incr,lpush --csv 2>/dev/null");
  EXPECT_EQ(bench.second, 0) << bench.first;
  for (const char* test : {"\"SET\"", "\"GET\"", "\"INCR\"", "\"LPUSH\""})
    EXPECT_NE(bench.first.find(test), std::string::npos) << test << " missing from:\n" << bench.first;
  EXPECT_EQ(sh(cli + "get counter:__rand_int__").first, "2000\n");
  EXPECT_EQ(sh(cli + "llen mylist").first, "2000\n");
  EXPECT_EQ(sh(cli + "dbsize").first, "5\n");

  // SHUTDOWN ends redis, so the guest's program exits 0.
  sh(cli + "shutdown nosave");
  NimbusRun run = finish();
  EXPECT_EQ(run.status, 0) << describe_run(run);
}

// ---- nginx ----------------------------------------------------------------------------------

// nginx's configuration for both modes: /pid answers the serving process's ID and
// /nginx.pid serves the pid file (the master's ID), so the test sees which process answered.
// The workers stay root: the guest kernel keeps one set of user and group IDs for all its
// processes, so a worker that switched to "nobody" would leave the master and the next worker
// unprivileged (initgroups fails with EPERM). Per-process credentials would lift this.
std::string nginx_conf(bool master) {
  std::string mode = master ? "master_process on;\nworker_processes 2;\nuser root root;\n"
                            : "master_process off;\nworker_processes 1;\n";
  return mode + R"(daemon off;
error_log stderr warn;
pid /tmp/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    default_type application/octet-stream;
    types { text/html html; }
    sendfile on;
    client_body_temp_path /tmp/body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    server {
        listen 80;
        root /srv/www;
        location = /pid { default_type text/plain; return 200 "$pid\n"; }
        location = /nginx.pid { root /tmp; default_type text/plain; }
    }
}
)";
}

class Nginx : public NetServers {
 protected:
  void serve(bool master) {
    if (!have("/usr/sbin/nginx") || !have("/usr/bin/curl"))
      GTEST_SKIP() << "nginx-light and curl are not installed (scripts/install-deps)";
    std::filesystem::create_directories(m_dir.path() / "www");
    std::filesystem::create_directories(m_dir.path() / "tmp");
    m_index = "<!DOCTYPE html>\n<title>nimbus</title>\n<p>served by stock nginx from a Nimbus VM</p>\n";
    m_dir.write_file("www/index.html", m_index);
    m_big.resize(1 << 20);
    for (size_t i = 0; i < m_big.size(); i++) m_big[i] = static_cast<char>((i * 2654435761u) >> 11);
    m_dir.write_file("www/1m.bin", m_big);
    std::string conf = m_dir.write_file("nginx.conf", nginx_conf(master));
    // nginx looks its user up in the guest's /etc/passwd and /etc/group.
    std::string passwd = m_dir.write_file("passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
    std::string group = m_dir.write_file("group", "root:x:0:\nnogroup:x:65534:\n");
    std::string dir = m_dir.path().string();
    start({"-p", "127.0.0.1:HOSTPORT:80", "--add", conf + ":/etc/nginx/nginx.conf", "--add", dir + "/www:/srv/www",
           "--add", dir + "/tmp:/tmp", "--add", passwd + ":/etc/passwd", "--add", group + ":/etc/group"},
          {"/usr/sbin/nginx", "-e", "stderr", "-c", "/etc/nginx/nginx.conf"});
    ASSERT_TRUE(wait_ready([&] { return curl("/index.html") == m_index; })) << describe_run(terminate());
  }

  std::string curl(const std::string& path) {
    return sh("curl -s --max-time 20 " + url(path)).first;
  }

  // Fetches the 1 MiB file `count` times, `parallel` at once, each to its own file; how many
  // came back byte for byte.
  int fetch_big(int count, int parallel) {
    std::string dir = m_dir.path().string();
    std::string command = "cd " + dir + " && seq " + std::to_string(count) + " | xargs -P " + std::to_string(parallel) +
                          " -I{} curl -s --max-time 60 -o got-{}.bin " + url("/1m.bin");
    sh(command);
    int good = 0;
    for (int i = 1; i <= count; i++)
      if (read_file(dir + "/got-" + std::to_string(i) + ".bin") == m_big) good++;
    return good;
  }

  std::string m_index;
  std::string m_big;
};

TEST_F(Nginx, SingleProcessServesCurl) {
  serve(false);
  if (HasFatalFailure() || IsSkipped()) return;
  EXPECT_EQ(curl("/index.html"), m_index);
  EXPECT_EQ(sh("curl -s -o /dev/null -w '%{http_code}' --max-time 20 " + url("/missing")).first, "404");
  EXPECT_EQ(fetch_big(8, 4), 8);
  // master_process off: the process that answers is the one in the pid file.
  std::string pid = curl("/pid");
  EXPECT_FALSE(pid.empty());
  EXPECT_EQ(curl("/nginx.pid"), pid);
  NimbusRun run = terminate();
  EXPECT_EQ(run.status, kSigterm) << describe_run(run);
  EXPECT_EQ(run.err.find("[emerg]"), std::string::npos) << describe_run(run);
}

TEST_F(Nginx, MasterWithTwoWorkersServesCurl) {
  serve(true);
  if (HasFatalFailure() || IsSkipped()) return;
  EXPECT_EQ(curl("/index.html"), m_index);
  EXPECT_EQ(fetch_big(16, 8), 16);
  // The master forks the workers: whoever answers is not the master in the pid file.
  std::string master = curl("/nginx.pid");
  std::set<std::string> workers;
  for (int i = 0; i < 20; i++) workers.insert(curl("/pid"));
  EXPECT_FALSE(master.empty());
  EXPECT_FALSE(workers.contains(master)) << "the master answered: " << master;
  EXPECT_FALSE(workers.contains("")) << "a request got no answer";
  EXPECT_LE(workers.size(), 2u);
  NimbusRun run = terminate();
  EXPECT_EQ(run.status, kSigterm) << describe_run(run);
  EXPECT_EQ(run.err.find("[emerg]"), std::string::npos) << describe_run(run);
  EXPECT_EQ(run.err.find("[alert]"), std::string::npos) << "a worker died\n" << describe_run(run);
}

// ---- memcached ------------------------------------------------------------------------------

TEST_F(NetServers, MemcachedStoresAndReturnsValues) {
  if (!have("/usr/bin/memcached")) GTEST_SKIP() << "memcached is not installed (scripts/install-deps)";
  std::string passwd = m_dir.write_file("passwd", "root:x:0:0:root:/root:/bin/sh\n");
  // -A: the "shutdown" command ends it, so the run can exit on its own.
  start({"-p", "127.0.0.1:HOSTPORT:11211", "--add", passwd + ":/etc/passwd"},
        {"/usr/bin/memcached", "-u", "root", "-l", "0.0.0.0", "-p", "11211", "-U", "0", "-m", "64", "-A"});
  ASSERT_TRUE(wait_ready([&] {
    Connection c(m_port);
    return c.ok() && c.send("version\r\n") && c.receive_until("\r\n").starts_with("VERSION ");
  })) << describe_run(terminate());

  // 200 values of different sizes (up to 64 KiB) over 4 connections, then read back on
  // another; arithmetic and deletion; memcached's own counters agree.
  constexpr int kKeys = 200;
  auto value_of = [](int key) {
    std::string v(static_cast<size_t>((key * 331) % 65536 + 1), '\0');
    for (size_t i = 0; i < v.size(); i++) v[i] = static_cast<char>((i + static_cast<size_t>(key)) * 31);
    return v;
  };
  std::vector<std::thread> writers;
  std::atomic<int> stored = 0;
  for (int w = 0; w < 4; w++)
    writers.emplace_back([&, w] {
      Connection c(m_port);
      for (int key = w; key < kKeys; key += 4) {
        std::string v = value_of(key);
        c.send("set key" + std::to_string(key) + " " + std::to_string(key) + " 0 " + std::to_string(v.size()) +
               "\r\n" + v + "\r\n");
        if (c.receive_until("\r\n") == "STORED\r\n") stored++;
      }
    });
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(stored, kKeys);

  Connection c(m_port);
  ASSERT_TRUE(c.ok());
  int matched = 0;
  for (int key = 0; key < kKeys; key++) {
    std::string v = value_of(key);
    c.send("get key" + std::to_string(key) + "\r\n");
    std::string expected = "VALUE key" + std::to_string(key) + " " + std::to_string(key) + " " +
                           std::to_string(v.size()) + "\r\n" + v + "\r\nEND\r\n";
    if (c.receive_until("END\r\n") == expected) matched++;
  }
  EXPECT_EQ(matched, kKeys);
  c.send("set n 0 0 2\r\n40\r\n");
  EXPECT_EQ(c.receive_until("\r\n"), "STORED\r\n");
  c.send("incr n 2\r\n");
  EXPECT_EQ(c.receive_until("\r\n"), "42\r\n");
  c.send("delete key0\r\n");
  EXPECT_EQ(c.receive_until("\r\n"), "DELETED\r\n");
  c.send("get key0\r\n");
  EXPECT_EQ(c.receive_until("END\r\n"), "END\r\n");
  c.send("stats\r\n");
  std::string stats = c.receive_until("END\r\n");
  EXPECT_NE(stats.find("STAT curr_items " + std::to_string(kKeys) + "\r\n"), std::string::npos) << stats;
  EXPECT_NE(stats.find("STAT cmd_get " + std::to_string(kKeys + 1) + "\r\n"), std::string::npos) << stats;
  EXPECT_NE(stats.find("STAT get_hits " + std::to_string(kKeys) + "\r\n"), std::string::npos) << stats;
  c.send("shutdown\r\n");
  c.receive_until("\r\n");
  NimbusRun run = finish();
  // memcached ends on "shutdown" as on SIGINT (its handler exits 0 on Linux, via exit()).
  EXPECT_EQ(run.status, 0) << describe_run(run);
}

// ---- Node -----------------------------------------------------------------------------------

constexpr const char* kNodeServer = R"js(
const http = require("http");
const crypto = require("crypto");
const REQUESTS = 6;
let served = 0;
const body = Buffer.alloc(300000);
for (let i = 0; i < body.length; i++) body[i] = (i * 13 + 7) & 0xff;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const got = Buffer.concat(chunks);
    if (req.method === "POST") {
      res.setHeader("X-Sha256", crypto.createHash("sha256").update(got).digest("hex"));
      res.end(got);
    } else if (req.url === "/big") {
      res.end(body);
    } else {
      res.end("hello from node " + process.version + ", path " + req.url + "\n");
    }
    if (++served === REQUESTS) server.close(() => console.log("served " + served));
  });
});
server.listen(8080, "0.0.0.0", () => console.log("listening"));
)js";

TEST_F(NetServers, NodeHttpServerServesCurl) {
  if (!have("/usr/bin/node") || !have("/usr/bin/curl"))
    GTEST_SKIP() << "nodejs and curl are not installed (scripts/install-deps)";
  std::string script = m_dir.write_file("server.js", kNodeServer);
  start({"-p", "127.0.0.1:HOSTPORT:8080"}, {"/usr/bin/node", script}, "512M");
  std::string version = sh("node --version").first;
  version.pop_back();
  std::string hello = "hello from node " + version + ", path /ready\n";
  // The probe counts as one of the six requests.
  ASSERT_TRUE(wait_ready([&] { return sh("curl -s --max-time 20 " + url("/ready")).first == hello; }))
      << describe_run(terminate());
  EXPECT_EQ(sh("curl -s --max-time 20 " + url("/a%20b?x=1")).first,
            "hello from node " + version + ", path /a%20b?x=1\n");

  std::string expected_big(300000, '\0');
  for (size_t i = 0; i < expected_big.size(); i++) expected_big[i] = static_cast<char>((i * 13 + 7) & 0xff);
  std::string big = m_dir.path() / "big.bin";
  sh("curl -s --max-time 60 -o " + big + " " + url("/big"));
  EXPECT_TRUE(read_file(big) == expected_big) << "GET /big differs";

  // POST 2 MiB, echoed back with its SHA-256 as node computed it.
  std::string upload(2 << 20, '\0');
  for (size_t i = 0; i < upload.size(); i++) upload[i] = static_cast<char>((i * 2654435761u) >> 7);
  std::string upload_file = m_dir.write_file("upload.bin", upload);
  std::string echoed = m_dir.path() / "echoed.bin";
  std::string headers = sh("curl -s --max-time 60 -D - -o " + echoed + " --data-binary @" + upload_file + " " + url("/post")).first;
  EXPECT_TRUE(read_file(echoed) == upload) << "the echoed body differs";
  std::string local_hash = sh("sha256sum " + upload_file + " | cut -c1-64").first;
  local_hash.pop_back();
  EXPECT_NE(headers.find("X-Sha256: " + local_hash), std::string::npos) << headers;
  // Two more small requests in parallel end the server (6 in all), and node exits 0.
  auto one = std::async(std::launch::async, [&] { return sh("curl -s --max-time 20 " + url("/p1")).first; });
  std::string two = sh("curl -s --max-time 20 " + url("/p2")).first;
  EXPECT_EQ(one.get(), "hello from node " + version + ", path /p1\n");
  EXPECT_EQ(two, "hello from node " + version + ", path /p2\n");
  NimbusRun run = finish();
  EXPECT_EQ(run.status, 0) << describe_run(run);
  EXPECT_EQ(run.out, "listening\nserved 6\n") << describe_run(run);
}

}  // namespace
