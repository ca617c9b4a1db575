// VM tests of `nimbus run --strace` (strace's lines for a known program, the filter, threads,
// the program's own stderr kept whole) and of the standard streams as the host has them
// (pipes when piped, a terminal under a pty, /dev/stderr reaching our stderr).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;
constexpr std::chrono::seconds kLimit{180};
constexpr const char* kTimeout = "150";

std::string app(const std::string& name) {
  return build_dir() + "/apps/" + name;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A trace line: "name(...) = result", optionally after "[pid N] ", or strace's "+++ ... +++".
bool is_trace_line(const std::string& line) {
  static const std::regex trace(
      R"(^(\[pid +[0-9]+\] )?[a-z0-9_]+\(.*\) += .*$|^\+\+\+ .* \+\+\+$)");
  return std::regex_match(line, trace);
}

bool has_line(const std::string& text, const std::string& line) {
  for (const std::string& candidate : lines_of(text))
    if (candidate == line) return true;
  return false;
}

// The data file `busybox head` reads: text, bytes strace escapes, and more than 32 characters.
constexpr const char* kData =
    "hello, strace\n\001\0023 \"quoted\" and a long tail beyond thirty-two characters\n";

class Strace : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists("/bin/busybox"))
      GTEST_FAIL() << "busybox-static is not installed (scripts/install-deps)";
    m_data = m_dir.write_file("data.txt", kData);
  }
  NimbusRun run_head(const std::string& strace_option) {
    return run_nimbus(
        {"run", "--accel", "tcg", "--timeout", kTimeout, strace_option, "--add",
         m_data + ":/data.txt", "/bin/busybox", "head", "-n", "2", "/data.txt", "/missing"},
        {kLimit});
  }

 private:
  TempDir m_dir;
  std::string m_data;
};

// The lines strace itself prints for this busybox (checked against strace 6.1 on the host).
TEST_F(Strace, ShowsCallsAsStraceDoes) {
  NimbusRun run = run_head("--strace");
  EXPECT_EQ(run.status, 1) << run.output();
  EXPECT_EQ(run.out,
            "==> /data.txt <==\nhello, strace\n\001\0023 \"quoted\" and a long tail beyond "
            "thirty-two characters\n")
      << run.output();
  for (const char* line : {
           R"(openat(AT_FDCWD, "/data.txt", O_RDONLY) = 3)",
           R"(read(3, "hello, strace\n\1\0023 \"quoted\" and a"..., 4096) = 72)",
           R"(close(3)                                = 0)",
           R"(openat(AT_FDCWD, "/missing", O_RDONLY)  = -1 ENOENT (No such file or directory))",
           R"(write(1, "==> /data.txt <==\nhello, strace\n"..., 90) = 90)",
           R"(exit_group(1)                           = ?)",
           R"(+++ exited with 1 +++)",
       }) {
    bool found = false;
    for (const std::string& candidate : lines_of(run.err)) found |= candidate.starts_with(line);
    EXPECT_TRUE(found) << "missing: " << line << "\n" << run.err;
  }
  // No kernel notice or QEMU message: everything on stderr is a trace line or the program's.
  std::string programs_own;
  for (const std::string& line : lines_of(run.err))
    if (!is_trace_line(line)) programs_own += line + "\n";
  EXPECT_EQ(programs_own, "head: /missing: No such file or directory\n") << run.err;
}

TEST_F(Strace, TheProgramsStderrStaysWholeBetweenTraceLines) {
  NimbusRun run = run_head("--strace");
  // The program's write is one line of stderr of its own, right before the trace line of the
  // call that made it (the trace is written once the call returned).
  std::vector<std::string> lines = lines_of(run.err);
  bool found = false;
  for (size_t i = 0; i + 1 < lines.size(); i++) {
    if (lines[i] != "head: /missing: No such file or directory") continue;
    found = true;
    EXPECT_TRUE(
        lines[i + 1].starts_with(R"x(write(2, "head: /missing: No such file or "..., 42) = 42)x"))
        << run.err;
  }
  EXPECT_TRUE(found) << run.err;
}

TEST_F(Strace, TheFilterKeepsOnlyTheNamedCalls) {
  NimbusRun run = run_head("--strace=openat,close");
  EXPECT_EQ(run.status, 1) << run.output();
  std::vector<std::string> traced;
  for (const std::string& line : lines_of(run.err))
    if (is_trace_line(line)) traced.push_back(line);
  ASSERT_FALSE(traced.empty()) << run.err;
  for (const std::string& line : traced)
    EXPECT_TRUE(line.starts_with("openat(") || line.starts_with("close(") ||
                line == "+++ exited with 1 +++")
        << line;
  EXPECT_TRUE(has_line(run.err, R"(openat(AT_FDCWD, "/data.txt", O_RDONLY) = 3)")) << run.err;
  EXPECT_TRUE(has_line(run.err, "+++ exited with 1 +++")) << run.err;
}

TEST(StraceOptions, UnknownNamesAreAUsageError) {
  NimbusRun run = run_nimbus({"run", "--strace=open,nosuchcall", "/bin/true"}, {kLimit});
  EXPECT_EQ(run.status, 2) << run.output();
  EXPECT_NE(run.err.find("no system call is named 'nosuchcall'"), std::string::npos) << run.err;
}

TEST(StraceThreads, LinesOfSeveralThreadsCarryTheirPid) {
  std::string program = app("threads-static");
  ASSERT_TRUE(std::filesystem::exists(program)) << program;
  NimbusRun run = run_nimbus({"run", "--accel", "tcg", "--cpus", "2", "--timeout", kTimeout,
                              "--strace=clone,clone3,exit", program},
                             {kLimit});
  EXPECT_EQ(run.status, 0) << run.output();
  static const std::regex thread_exit(R"(^\[pid +[0-9]+\] exit\(0\) += \?$)");
  // glibc makes threads with clone3 (a structure, shown by address) or, before 2.34, clone.
  static const std::regex clone(
      R"(^(\[pid +[0-9]+\] )?clone3?\((CLONE_VM\|.*CLONE_THREAD.*|0x[0-9a-f]+, [0-9]+)\) += [0-9]+$)");
  bool exited = false, cloned = false;
  for (const std::string& line : lines_of(run.err)) {
    exited |= std::regex_match(line, thread_exit);
    cloned |= std::regex_match(line, clone);
  }
  EXPECT_TRUE(cloned) << run.err;
  EXPECT_TRUE(exited) << run.err;
}

// The standard streams as the host has them.
TEST(StandardStreams, PipedStreamsArePipesAndReopenToTheSameStream) {
  std::string program = app("stream_probe-static");
  ASSERT_TRUE(std::filesystem::exists(program)) << program;
  NimbusRun run = run_nimbus({"run", "--accel", "tcg", "--timeout", kTimeout, program}, {kLimit});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out,
            "0: fifo isatty=0 TCGETS=ENOTTY access=r\n"
            "1: fifo isatty=0 TCGETS=ENOTTY access=w\n"
            "2: fifo isatty=0 TCGETS=ENOTTY access=w\n"
            "to /proc/self/fd/1\n"
            "to /dev/stdout\n"
            "bad pointer: -1 EFAULT\n")
      << run.output();
  EXPECT_EQ(run.err, "to /dev/stderr\n") << run.output();
}

TEST(StandardStreams, ABadPointerIsTracedAsAnAddress) {
  std::string program = app("stream_probe-static");
  NimbusRun run = run_nimbus(
      {"run", "--accel", "tcg", "--timeout", kTimeout, "--strace=write", program}, {kLimit});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_TRUE(
      has_line(run.err, "write(1, 0x8, 10)                       = -1 EFAULT (Bad address)"))
      << run.err;
}

// Everything a shell command prints on stdout.
std::string shell_output(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return "popen failed";
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  pclose(pipe);
  return output;
}

TEST(StandardStreams, ATerminalOnTheHostIsATerminalWithItsSize) {
  // script(1) gives nimbus a pseudo-terminal on all three streams; stty sets its size.
  std::string program = app("stream_probe-static");
  std::string command = "timeout 170 script -qec 'stty rows 37 cols 101; " + build_file("nimbus") +
                        " run --accel tcg --timeout " + kTimeout + " " + program +
                        "' /dev/null </dev/null";
  std::string output = shell_output(command);
  std::erase(output, '\r');
  EXPECT_NE(output.find("0: chr isatty=1 winsize=37x101 name=/dev/pts/0 access=rw\n"
                        "1: chr isatty=1 winsize=37x101 name=/dev/pts/1 access=rw\n"
                        "2: chr isatty=1 winsize=37x101 name=/dev/pts/2 access=rw\n"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("to /dev/stderr\n"), std::string::npos) << output;
}

}  // namespace

namespace {

TEST(KernelLog, VerboseNoticesGoToStderrNotTheProgramsStdout) {
  NimbusRun run = run_nimbus({"run", "--accel", "tcg", "--timeout", kTimeout, "--verbose", "/bin/busybox", "echo", "hi"},
                             {kLimit});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "hi\n") << run.output();
  EXPECT_NE(run.err.find("nimbus: init done in "), std::string::npos) << run.err;
}

}  // namespace

namespace {

// On q35 the trace port is a fifth port of the virtio-pci console (two more MSI-X vectors).
TEST(StraceOnQ35, TheTracePortWorksOverPci) {
  NimbusRun run = run_nimbus({"run", "--machine", "q35", "--accel", "tcg", "--timeout", kTimeout, "--strace=openat",
                              "/bin/busybox", "cat", "/etc/hostname"},
                             {kLimit});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "nimbus\n") << run.output();
  EXPECT_EQ(run.err, "openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY) = 3\n+++ exited with 0 +++\n") << run.output();
}

}  // namespace
