// VM tests of program actions that once ended the VM with a kernel panic (status 250): kernel
// accesses to program memory that fault, bad signal frames, and the program's reads of
// kernel-half addresses and its calls to the legacy vsyscall page. Each must behave as on the
// host's Linux (whose default vsyscall=xonly these tests assume).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "nimbus_runner.h"

namespace {

using Args = std::vector<std::string>;

std::string app(const std::string& name) { return build_dir() + "/apps/" + name; }

// The program's stdout and status (128 + N when killed by signal N) on the host.
struct HostRun {
  int status = -1;
  std::string out;
};

HostRun run_on_host(const std::string& program, const Args& args = {}) {
  std::string command = program;
  for (const auto& a : args) command += " '" + a + "'";
  HostRun run;
  FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r");
  if (!pipe) return run;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.out.append(buffer.data(), n);
  int status = pclose(pipe);
  // popen runs the program under sh -c, which reports a killed child as 128 + N.
  if (WIFEXITED(status)) run.status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) run.status = 128 + WTERMSIG(status);
  return run;
}

NimbusRun run_in_nimbus(const Args& program_and_args) {
  Args args{"run", "--timeout", "60", "--cpus", "2"};
  args.insert(args.end(), program_and_args.begin(), program_and_args.end());
  return run_nimbus(args, {std::chrono::seconds(90)});
}

TEST(ProgramFaults, FaultingKernelAccessesAreEfaultAndKernelHalfReadsAreSigsegv) {
  std::string program = app("user_faults-static");
  HostRun host = run_on_host(program);
  ASSERT_EQ(host.status, 0) << host.out;
  NimbusRun run = run_in_nimbus({program});
  EXPECT_EQ(run.status, 0) << describe({program}, run);
  EXPECT_EQ(run.out, host.out) << describe({program}, run);
  // What the host's Linux says, spelled out, so a host that differs cannot hide a regression.
  EXPECT_NE(run.out.find("FUTEX_WAKE_OP on a read-only page: -1 Bad address\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("read() into a buffer unmapped meanwhile: Bad address\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("write() from a buffer unmapped meanwhile: Bad address\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("read of 0xfffffffffffffffc: SIGSEGV, si_code SEGV_MAPERR, si_addr 0xfffffffffffffffc\n"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("read of 0xffffffffff600000: SIGSEGV, si_code SEGV_MAPERR, si_addr 0xffffffffff600000\n"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("vsyscall time(): agrees with time() yes, stored yes\n"), std::string::npos) << run.out;
  // Kernel text, and its alias in the direct map, are never writable (not even from ring 0).
  EXPECT_NE(run.out.find("write to 0xffffffff80100000: SIGSEGV, si_code SEGV_MAPERR, si_addr 0xffffffff80100000\n"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("write to 0xffff800000100000: SIGSEGV, si_code SEGV_MAPERR, si_addr 0xffff800000100000\n"),
            std::string::npos)
      << run.out;
}

TEST(ProgramFaults, CorruptExtendedStateInASignalFrameIsSigsegv) {
  // A bad XSAVE header (refused by the check, as Linux does), and reserved MXCSR bits (refused
  // by XRSTOR itself with #GP, which its exception-table entry turns into the failure).
  std::string program = app("user_faults-static");
  for (const char* corruption : {"bad-xsave", "bad-mxcsr"}) {
    HostRun host = run_on_host(program, {corruption});
    ASSERT_EQ(host.status, 139) << corruption << ": " << host.out;
    NimbusRun run = run_in_nimbus({program, corruption});
    EXPECT_EQ(run.status, 139) << describe({program, corruption}, run);
    EXPECT_EQ(run.out, host.out) << describe({program, corruption}, run);
  }
}

}  // namespace
