// VM tests of running Linux programs: the small programs in tests/apps compared with their
// output on the host (dynamic and static builds), exit and signal statuses, standard input,
// and Debian's busybox-static.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;
constexpr std::chrono::seconds kProgramLimit{180};
constexpr const char* kTimeout = "150";

std::string app(const std::string& name) {
  return build_dir() + "/apps/" + name;
}

// The program's stdout when run directly on the host.
std::string run_on_host(const std::string& program, const Args& args = {}) {
  std::string command = program;
  for (const auto& a : args) command += " '" + a + "'";
  std::string output;
  FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r");
  if (!pipe) return "popen failed";
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  pclose(pipe);
  return output;
}

NimbusRun run_in_nimbus(const Args& program_and_args, const RunLimits& limits = {kProgramLimit}) {
  Args args{"run", "--timeout", kTimeout, "--cpus", "2"};
  args.insert(args.end(), program_and_args.begin(), program_and_args.end());
  return run_nimbus(args, limits);
}

class Differential : public testing::TestWithParam<std::string> {};

TEST_P(Differential, OutputMatchesTheHost) {
  std::string program = app(GetParam());
  ASSERT_TRUE(std::filesystem::exists(program)) << program;
  std::string expected = run_on_host(program);
  NimbusRun run = run_in_nimbus({program});
  EXPECT_EQ(run.status, 0) << describe({program}, run);
  EXPECT_EQ(run.out, expected) << describe({program}, run);
}

INSTANTIATE_TEST_SUITE_P(Apps, Differential,
                         testing::Values("hello-static", "hello-dynamic", "files-static",
                                         "files-dynamic", "memory-static", "memory-dynamic",
                                         "shared_mapping-static", "shared_mapping-dynamic",
                                         "threads-static", "threads-dynamic", "signals-static",
                                         "signals-dynamic", "events-static", "events-dynamic",
                                         "process-static", "process-dynamic", "sockets_unix-static",
                                         "sockets_unix-dynamic", "file_locks-static", "file_locks-dynamic",
                                         "memory_edges-static", "memory_edges-dynamic",
                                         "runtime_support-static", "runtime_support-dynamic",
                                         "processes-static", "processes-dynamic", "proc_pids-static",
                                         "proc_pids-dynamic"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST(Programs, ArgumentsReachTheProgram) {
  NimbusRun run = run_in_nimbus({app("hello-dynamic"), "one", "two words"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "Hello from Nimbus!\narg 1: one\narg 2: two words\n") << run.output();
}

TEST(Programs, ExitStatusIsTheProgramsStatus) {
  for (const char* status : {"0", "3", "77", "200"}) {
    NimbusRun run = run_in_nimbus({app("exit_status-static"), status});
    EXPECT_EQ(run.status, std::stoi(status)) << run.output();
    EXPECT_EQ(run.out, std::string("exiting with ") + status + "\n") << run.output();
  }
}

TEST(Programs, KillingEveryOtherProcessSparesTheCaller) {
  // Not differential: on a host, kill(-1, SIGKILL) would kill every other process.
  NimbusRun run = run_in_nimbus({app("runtime_support-static"), "kill-all"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "kill(-1, SIGKILL): -1 ESRCH\nkill(-1, 999): -1 EINVAL\n") << run.output();
}

TEST(Programs, StopSignalsWithoutJobControlAreDiscarded) {
  NimbusRun run = run_in_nimbus({app("runtime_support-static"), "stop-signals"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "still running\n") << run.output();
}

TEST(Programs, SegfaultEndsWithStatus139) {
  NimbusRun run = run_in_nimbus({app("segfault-dynamic")});
  EXPECT_EQ(run.status, 139) << run.output();
  EXPECT_EQ(run.out, "about to fault\n") << run.output();
}

TEST(Programs, RunningOutOfMemoryOnAPageFaultIsAClearError) {
  // 64 MiB touched in a 16 MiB VM: the fault that finds no page ends the VM with 251.
  NimbusRun run = run_in_nimbus({"--memory", "16M", app("eat_memory-static"), "64"});
  EXPECT_EQ(run.status, 251) << run.output();
  EXPECT_NE(run.output().find("nimbus: out of memory: no page for the program at "), std::string::npos) << run.output();
  EXPECT_EQ(run.out.find("touched"), std::string::npos) << run.output();
  // With room enough, the same program finishes.
  NimbusRun roomy = run_in_nimbus({"--memory", "128M", app("eat_memory-static"), "64"});
  EXPECT_EQ(roomy.status, 0) << roomy.output();
  EXPECT_EQ(roomy.out, "touched 64 MiB\n") << roomy.output();
}

TEST(Programs, SleepingForTheLargestTimespecSleeps) {
  // `sleep infinity`: the deadline must saturate, not wrap into the past and return at once.
  NimbusRun run = run_nimbus({"run", "--timeout", "3", app("sleep_forever-static")}, {std::chrono::seconds(60)});
  EXPECT_EQ(run.status, 124) << run.output();
  EXPECT_EQ(run.out, "") << run.output();
}

TEST(Programs, StandardInputReachesTheProgram) {
  TempDir dir;
  RunLimits limits{kProgramLimit};
  limits.stdin_file = dir.write_file("input", "line one\nline two\n");
  // busybox cat copies until the end of input, which virtio-console passes on.
  NimbusRun run = run_in_nimbus({"/bin/busybox", "cat"}, limits);
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "line one\nline two\n") << run.output();
}

// Debian's busybox-static, a real static program with many applets.
class Busybox : public testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists("/bin/busybox"))
      GTEST_FAIL() << "busybox-static is not installed (scripts/install-deps)";
  }
  NimbusRun busybox(const Args& args, const Args& options = {}) {
    Args all = options;
    all.push_back("/bin/busybox");
    all.insert(all.end(), args.begin(), args.end());
    return run_in_nimbus(all);
  }
};

TEST_F(Busybox, Echo) {
  NimbusRun run = busybox({"echo", "hello", "from", "busybox"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "hello from busybox\n");
}

TEST_F(Busybox, ListsTheRootDirectory) {
  NimbusRun run = busybox({"ls", "-la", "/"});
  EXPECT_EQ(run.status, 0) << run.output();
  for (const char* entry : {" bin", " dev", " etc", " proc", " sys", " tmp"})
    EXPECT_NE(run.out.find(entry), std::string::npos) << entry << "\n" << run.output();
}

TEST_F(Busybox, ReadsItsOwnMaps) {
  NimbusRun run = busybox({"cat", "/proc/self/maps"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_NE(run.out.find("[stack]"), std::string::npos) << run.output();
  EXPECT_NE(run.out.find("[vdso]"), std::string::npos) << run.output();
  EXPECT_NE(run.out.find("r-xp"), std::string::npos) << run.output();
}

TEST_F(Busybox, Sha256OfTenMegabytesMatchesTheHost) {
  TempDir dir;
  std::string data(10 << 20, '\0');
  unsigned x = 1;
  for (char& c : data) c = static_cast<char>((x = x * 1103515245 + 12345) >> 16);
  std::string file = dir.write_file("data.bin", data);
  std::string expected = run_on_host("/bin/busybox", {"sha256sum", file});
  expected = expected.substr(0, 64);
  NimbusRun run =
      busybox({"sha256sum", "/data.bin"}, {"--memory", "256M", "--add", file + ":/data.bin"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out.substr(0, 64), expected) << run.output();
}

TEST_F(Busybox, SortAwkSed) {
  TempDir dir;
  std::string file = dir.write_file("words", "pear 3\napple 1\nfig 2\n");
  NimbusRun run = busybox({"sort", "/words"}, {"--add", file + ":/words"});
  EXPECT_EQ(run.out, "apple 1\nfig 2\npear 3\n") << run.output();
  run = busybox({"awk", "{ s += $2 } END { print s }", "/words"}, {"--add", file + ":/words"});
  EXPECT_EQ(run.out, "6\n") << run.output();
  run = busybox({"sed", "s/fig/FIG/", "/words"}, {"--add", file + ":/words"});
  EXPECT_EQ(run.out, "pear 3\napple 1\nFIG 2\n") << run.output();
}

TEST_F(Busybox, ShellWithBuiltins) {
  NimbusRun run = busybox(
      {"sh", "-c", "x=4; y=$((x * 10 + 2)); echo \"answer $y\"; test $y -eq 42 && echo yes"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "answer 42\nyes\n") << run.output();
}

// Debian's sqlite3 on a database file: its locks are POSIX record locks (F_SETLK), WAL mode's
// are on a shared memory file it maps.
TEST(Programs, Sqlite3CreatesInsertsAndSelects) {
  const std::string sqlite3 = "/usr/bin/sqlite3";
  if (!std::filesystem::exists(sqlite3)) GTEST_FAIL() << "sqlite3 is not installed (scripts/install-deps)";
  const std::string script =
      "create table t(a integer primary key, b text); insert into t values (1, 'one'), (2, 'two');"
      "begin; update t set b = 'TWO' where a = 2; commit; select a, b from t order by a;"
      "pragma journal_mode = wal; insert into t values (3, 'three'); select count(*), sum(a) from t;";
  TempDir dir;
  std::string sql = dir.write_file("script.sql", script);
  std::string expected = run_on_host(sqlite3, {(dir.path() / "test.db").string(), ".read " + sql});
  ASSERT_EQ(expected, "1|one\n2|TWO\nwal\n3|6\n");
  NimbusRun run = run_in_nimbus({"--add", sql + ":/script.sql", sqlite3, "/tmp/test.db", ".read /script.sql"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, expected) << run.output();
}

// GNU df reads /proc/self/mountinfo, then statfs on each mount.
TEST(Programs, GnuDfListsTheMounts) {
  if (!std::filesystem::exists("/usr/bin/df")) GTEST_FAIL() << "coreutils' df is missing";
  NimbusRun run = run_in_nimbus({"/usr/bin/df"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_NE(run.out.find("Mounted on\n"), std::string::npos) << run.output();
  EXPECT_NE(run.out.find("ramfs "), std::string::npos) << run.output();
  EXPECT_NE(run.out.find("% /\n"), std::string::npos) << run.output();
}

}  // namespace

namespace {

TEST(Go, GoroutinesChannelsTimersAndGarbageCollection) {
  std::string program = build_dir() + "/apps/go-app";
  ASSERT_TRUE(std::filesystem::exists(program)) << program;
  std::string expected = run_on_host(program);
  ASSERT_EQ(expected, "goroutines: 16 largest: 112507500\nchannel round trips: 1000\ntimers fired: true ticks: 4\ngc ran: true\n");
  NimbusRun run = run_in_nimbus({program});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, expected) << run.output();
}

}  // namespace
