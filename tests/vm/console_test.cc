// VM tests of the program's standard streams over virtio-console, on both machines (microvm:
// virtio-mmio; q35: virtio-pci with MSI-X): bulk output byte for byte, stdin until its end,
// stderr kept apart from stdout, a slow reader, a reader that goes away.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "nimbus_runner.h"
#include "sha256.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;
constexpr std::chrono::seconds kLimit{240};
constexpr const char* kTimeout = "200";

std::string app(const std::string& name) { return build_dir() + "/apps/" + name; }

// Each test runs on every machine: the console driver is the same, its transport is not.
class Console : public ::testing::TestWithParam<std::string> {
 protected:
  // `nimbus run` with the machine chosen, then `args`.
  Args run_args(const Args& args) const {
    Args all{"run", "--machine", GetParam()};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }
  std::string nimbus_run() const { return build_file("nimbus") + " run --machine " + GetParam(); }
};

std::string sha256(const std::string& bytes) {
  Sha256 hash;
  hash.update(bytes);
  return Sha256::hex(hash.finish());
}

// Everything a shell command prints on stdout.
std::string shell_output(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return "popen failed";
  std::array<char, 65536> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  pclose(pipe);
  return output;
}

TEST_P(Console, FiftyMebibytesOfOutputArriveByteForByte) {
  std::string program = app("big_output-static");
  ASSERT_TRUE(std::filesystem::exists(program)) << program;
  std::string expected = sha256(shell_output(program + " 50"));
  auto start = std::chrono::steady_clock::now();
  NimbusRun run = run_nimbus(run_args({"--timeout", kTimeout, program, "50"}), {kLimit});
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out.size(), 50u << 20) << run.err;
  EXPECT_EQ(sha256(run.out), expected) << run.err;
  // Boot, generating the bytes under TCG and moving them, end to end.
  std::printf("%s: 50 MiB in %.2f s: %.1f MB/s\n", GetParam().c_str(), elapsed.count(),
              run.out.size() / 1e6 / elapsed.count());
}

TEST_P(Console, StandardInputReachesTheProgramUntilItsEnd) {
  TempDir dir;
  std::string input(300'000, '\0');
  std::mt19937 random(7);
  for (char& c : input) c = static_cast<char>(random());  // every byte value, NULs and ^D included
  RunLimits limits{kLimit};
  limits.stdin_file = dir.write_file("input", input);
  NimbusRun run = run_nimbus(run_args({"--timeout", kTimeout, app("echo_stdin-static")}), limits);
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_TRUE(run.out == input) << "stdout differs from stdin (" << run.out.size() << " bytes)\n" << run.err;
  // echo_stdin reports on stderr, which reaches ours and not stdout.
  EXPECT_NE(run.err.find("300000 bytes\n"), std::string::npos) << run.err;
}

TEST_P(Console, EmptyStandardInputEndsAtOnce) {
  NimbusRun run = run_nimbus(run_args({"--timeout", kTimeout, app("echo_stdin-dynamic")}), {kLimit});
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("0 bytes\n"), std::string::npos) << run.err;
}

TEST_P(Console, PollOnStandardInputWakesForBytesAndForTheEnd) {
  // poll sleeps until the bytes come (no polling timer), then reports the end of input.
  std::string command =
      "(sleep 1; printf hi; sleep 1) | timeout 100 " + nimbus_run() + " --timeout 90 " + app("poll_stdin-static") + " 2>&1";
  EXPECT_EQ(shell_output(command), "poll 1 POLLIN, read 2\npoll 1 POLLIN POLLHUP, read 0\n");
}

TEST_P(Console, SlowReaderLosesNothing) {
  // The reader starts 3 s late: QEMU fills the pipe and must hold the program back.
  std::string program = app("big_output-static");
  std::string expected = shell_output(program + " 8 | sha256sum");
  std::string command = "timeout 200 " + nimbus_run() + " --timeout 180 " + program +
                        " 8 </dev/null 2>/dev/null | (sleep 3; sha256sum)";
  EXPECT_EQ(shell_output(command), expected);
}

TEST_P(Console, ClosedReaderEndsTheRunAsSigpipeWould) {
  // head exits after 10 bytes; QEMU cannot write any more, so nimbus stops it: 128 + SIGPIPE.
  std::string command = "bash -c 'timeout 100 " + nimbus_run() + " --timeout 90 " +
                        app("big_output-static") + " 50 </dev/null 2>/dev/null | head -c 10; echo \" ${PIPESTATUS[0]}\"'";
  EXPECT_EQ(shell_output(command), shell_output(app("big_output-static") + " 1 | head -c 10") + " 141\n");
}

TEST_P(Console, StdoutAndStderrStayApart) {
  NimbusRun run =
      run_nimbus(run_args({"--timeout", kTimeout, "/bin/busybox", "cat", "/etc/hostname", "/missing"}), {kLimit});
  EXPECT_EQ(run.status, 1) << run.output();
  EXPECT_EQ(run.out, "nimbus\n") << run.output();
  EXPECT_NE(run.err.find("cat: can't open '/missing': No such file or directory\n"), std::string::npos)
      << run.output();
}

TEST_P(Console, DryRunNamesTheDescriptorsQemuNeeds) {
  NimbusRun run = run_nimbus(run_args({"--dry-run", app("hello-static")}), {kLimit});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_NE(run.out.find("name=nimbus.stdout"), std::string::npos) << run.out;
  EXPECT_TRUE(run.out.ends_with(" 3>&1 4>&2\n")) << run.out;
  // The ports sit on the machine's own kind of virtio device.
  EXPECT_NE(run.out.find(GetParam() == "q35" ? "-device virtio-serial-pci" : "-device virtio-serial-device"),
            std::string::npos)
      << run.out;
}

INSTANTIATE_TEST_SUITE_P(Machines, Console, ::testing::Values("microvm", "q35"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
