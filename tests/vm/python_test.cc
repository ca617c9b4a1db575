// VM tests of Debian's /usr/bin/python3 (dynamic; nimbus packs its standard library by itself).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;
constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kStandardLibrary = "/usr/lib/python3.11";

NimbusRun python(const Args& python_args, const Args& extra_options = {}) {
  Args args{"run", "--timeout", "240", "--memory", "256M", "--cpus", "2"};
  args.insert(args.end(), extra_options.begin(), extra_options.end());
  args.push_back(kPython);
  args.insert(args.end(), python_args.begin(), python_args.end());
  return run_nimbus(args, RunLimits{std::chrono::seconds(300)});
}

class Python : public testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kPython) || !std::filesystem::exists(kStandardLibrary))
      GTEST_FAIL() << "Debian's python3 is not installed (scripts/install-deps)";
  }
};

TEST_F(Python, Arithmetic) {
  NimbusRun run = python({"-c", "print(6 * 7, 2 ** 100, 10 / 4)"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "42 1267650600228229401496703205376 2.5\n") << run.output();
}

TEST_F(Python, StandardLibraryModules) {
  TempDir dir;
  std::string script = dir.write_file("modules.py", R"py(
import json, hashlib, re, sqlite3
print(json.dumps({"a": [1, 2, {"b": None}]}, sort_keys=True))
print(hashlib.sha256(b"nimbus").hexdigest())
print(re.sub(r"(\w+)@(\w+)", r"\2 at \1", "user@example"))
db = sqlite3.connect(":memory:")
db.execute("create table t (x integer)")
db.executemany("insert into t values (?)", [(i,) for i in range(100)])
print(db.execute("select sum(x) from t").fetchone()[0])
)py");
  NimbusRun run = python({"/modules.py"}, {"--add", script + ":/modules.py"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out,
            "{\"a\": [1, 2, {\"b\": null}]}\n"
            "7dc917b8467946430a3e5354d5472ece9f156762fefa61f5a1c74724f8eee400\n"
            "example at user\n4950\n")
      << run.output();
}

TEST_F(Python, UnixSockets) {
  TempDir dir;
  std::string script = dir.write_file("unix_sockets.py", R"py(
import os, socket, threading, tempfile
a, b = socket.socketpair()
a.sendall(b"over a pair")
print(b.recv(100).decode(), a.family == socket.AF_UNIX, a.type == socket.SOCK_STREAM)
r, w = os.pipe()
socket.send_fds(a, [b"fd"], [r])
data, fds, flags, addr = socket.recv_fds(b, 10, 4)
os.write(w, b"through a passed pipe")
print(data.decode(), len(fds), os.read(fds[0], 100).decode())
path = os.path.join(tempfile.mkdtemp(), "server.sock")
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen()
def serve():
    for _ in range(3):
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(4096):
                conn.sendall(chunk.upper())
t = threading.Thread(target=serve)
t.start()
for i in range(3):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.connect(path)
        c.sendall(b"client %d" % i)
        c.shutdown(socket.SHUT_WR)
        print(c.recv(100).decode(), c.getpeername() == path)
t.join()
d1, d2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
d1.send(b"one"); d1.send(b"two")
print(d2.recv(10), d2.recv(10))
try:
    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(path + ".missing")
except FileNotFoundError:
    print("missing: FileNotFoundError")
)py");
  NimbusRun run = python({"/unix_sockets.py"}, {"--add", script + ":/unix_sockets.py"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out,
            "over a pair True True\n"
            "fd 1 through a passed pipe\n"
            "CLIENT 0 True\nCLIENT 1 True\nCLIENT 2 True\n"
            "b'one' b'two'\n"
            "missing: FileNotFoundError\n")
      << run.output();
}

TEST_F(Python, SubprocessAndSystem) {
  NimbusRun run = python({"-c",
                          "import subprocess, os\n"
                          "r = subprocess.run(['/bin/busybox', 'echo', 'hi'], capture_output=True)\n"
                          "print(r.returncode, r.stdout)\n"
                          "print(os.system('exit 5') >> 8)\n"
                          "print(subprocess.run(['/bin/busybox', 'sh', '-c', 'exit 9']).returncode)\n"
                          "print(subprocess.check_output('echo a | /bin/busybox wc -c', shell=True))\n"},
                         {"--add", "/bin/busybox", "--add", "/bin/sh"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "0 b'hi\\n'\n5\n9\nb'2\\n'\n") << run.output();
}

TEST_F(Python, EightThreads) {
  NimbusRun run = python({"-c", R"py(
import threading
results, lock = [], threading.Lock()
def work(i):
    s = sum(range(i * 1000))
    with lock: results.append(s)
threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(len(results), sum(results))
)py"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "8 69986000\n") << run.output();
}

TEST_F(Python, UnittestSuite) {
  NimbusRun run = python({"-c", R"py(
import unittest, sys
class T(unittest.TestCase):
    def test_add(self): self.assertEqual(1 + 1, 2)
    def test_upper(self): self.assertEqual("a".upper(), "A")
    def test_raises(self):
        with self.assertRaises(ZeroDivisionError): 1 / 0
result = unittest.TextTestRunner(stream=sys.stdout, verbosity=0).run(
    unittest.defaultTestLoader.loadTestsFromTestCase(T))
print("ran", result.testsRun, "ok", result.wasSuccessful())
)py"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_NE(run.out.find("ran 3 ok True"), std::string::npos) << run.output();
}

TEST_F(Python, UncaughtExceptionExitsWithStatusOne) {
  NimbusRun run = python({"-c", "1 / 0"});
  EXPECT_EQ(run.status, 1) << run.output();
  EXPECT_NE(run.output().find("ZeroDivisionError: division by zero"), std::string::npos) << run.output();
}

}  // namespace
