// Tests of the nimbus CLI itself: options, errors, the QEMU command line, the exit protocol.
//
// Fake QEMU scripts pin down the protocol; the tiny probe and floor kernels run under real QEMU.
// Nothing here needs the Nimbus kernel.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;

// --accel tcg keeps these tests off the KVM probe, which accel_test.cc covers.
Args run_args(std::initializer_list<std::string> extra) {
  Args args{"run", "--accel", "tcg"};
  args.insert(args.end(), extra);
  return args;
}

// A stand-in for QEMU: a shell script whose behaviour each test chooses.
std::string fake_qemu(const TempDir& dir, const std::string& body) {
  return dir.write_file("fake-qemu", "#!/bin/sh\n" + body + "\n", 0755);
}

Args fake_run(const std::string& qemu, std::initializer_list<std::string> extra = {}) {
  // The fake never reads its kernel; any readable file passes the CLI's check.
  Args args = run_args({"--qemu", qemu, "--kernel", qemu});
  args.insert(args.end(), extra);
  return args;
}

TEST(Cli, HelpExitsZeroAndDescribesRun) {
  Args args{"--help"};
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_NE(run.out.find("run"), std::string::npos) << describe(args, run);
  EXPECT_NE(run.out.find("--accel"), std::string::npos) << describe(args, run);
}

TEST(Cli, VersionPrintsTheProjectVersion) {
  Args args{"--version"};
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_EQ(run.out, std::string("nimbus ") + NIMBUS_VERSION + "\n") << describe(args, run);
}

TEST(Cli, NoCommandIsAUsageError) {
  NimbusRun run = run_nimbus({});
  EXPECT_EQ(run.status, 2) << describe({}, run);
}

TEST(Cli, UnknownOptionExitsTwoWithAClearMessage) {
  Args args{"run", "--foo"};
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 2) << describe(args, run);
  EXPECT_NE(run.err.find("nimbus: unknown option '--foo' (see nimbus --help)"), std::string::npos)
      << describe(args, run);
}

TEST(Cli, UnknownCommandExitsTwo) {
  Args args{"fly"};
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 2) << describe(args, run);
  EXPECT_NE(run.err.find("unknown command 'fly'"), std::string::npos) << describe(args, run);
}

TEST(Cli, TooLittleMemoryIsRefused) {
  Args args = run_args({"--memory", "2M", "--dry-run"});
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 2) << describe(args, run);
  EXPECT_NE(run.err.find("nimbus: --memory 2M is too small (the kernel needs at least"),
            std::string::npos)
      << describe(args, run);
}

TEST(Cli, MalformedValuesAreRefused) {
  for (const Args& args :
       {run_args({"--memory", "12X"}), run_args({"--cpus", "0"}), run_args({"--cpus", "256"}),
        run_args({"--machine", "pc"}), run_args({"--timeout", "soon"}),
        Args{"run", "--accel", "xen"}, Args{"run", "--memory"}}) {
    NimbusRun run = run_nimbus(args);
    EXPECT_EQ(run.status, 2) << describe(args, run);
    EXPECT_TRUE(run.err.starts_with("nimbus: ")) << describe(args, run);
  }
}

TEST(Cli, IcountWithKvmIsRefused) {
  Args args{"run", "--accel", "kvm", "--icount", "--dry-run"};
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 2) << describe(args, run);
}

TEST(Cli, MissingQemuPathExits127) {
  Args args = run_args({"--qemu", "/nonexistent"});
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 127) << describe(args, run);
  EXPECT_NE(run.err.find("/nonexistent"), std::string::npos) << describe(args, run);
  EXPECT_NE(run.err.find("qemu-system-x86"), std::string::npos) << describe(args, run);
}

TEST(Cli, QemuNotOnPathNamesTheDebianPackage) {
  Args args = run_args({});
  NimbusRun run = run_nimbus(args, {.environment = {{"PATH", "/nonexistent"}}});
  EXPECT_EQ(run.status, 127) << describe(args, run);
  EXPECT_NE(run.err.find("nimbus: qemu-system-x86_64 not found; install the Debian package "
                         "qemu-system-x86"),
            std::string::npos)
      << describe(args, run);
}

TEST(Cli, MissingKernelIsAClearError) {
  Args args = run_args({"--kernel", "/nonexistent/kernel.elf"});
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 125) << describe(args, run);
  EXPECT_NE(run.err.find("/nonexistent/kernel.elf"), std::string::npos) << describe(args, run);
}

TEST(DryRun, DefaultsToMicrovmUnderTcgWithTheHostTscRate) {
  Args args = run_args({"--dry-run"});
  NimbusRun run = run_nimbus(args);
  ASSERT_EQ(run.status, 0) << describe(args, run);
  for (const char* expected :
       {"-M microvm,x-option-roms=off -accel tcg -cpu max -m 128M -smp 1 -nodefaults "
        "-no-user-config -display none -no-reboot -kernel ",
        "/nimbus-kernel.elf -append tsc_khz=",
        " -serial chardev:nimbus-kernel ",
        " -device virtserialport,nr=3,name=nimbus.stderr,chardev=nimbus-stderr"
        " -device isa-debug-exit,iobase=0xf4,iosize=4 -chardev file,id=nimbus-status,path=",
        " -device isa-debugcon,iobase=0x402,chardev=nimbus-status 3>&1 4>&2\n"})
    EXPECT_NE(run.out.find(expected), std::string::npos) << expected << "\n" << describe(args, run);
}

TEST(DryRun, Q35BootsThroughQboot) {
  Args args = run_args({"--machine", "q35", "--dry-run"});
  NimbusRun run = run_nimbus(args);
  ASSERT_EQ(run.status, 0) << describe(args, run);
  EXPECT_NE(run.out.find("-M q35 -bios /usr/share/qemu/qboot.rom "), std::string::npos)
      << describe(args, run);
  EXPECT_EQ(run.out.find("microvm"), std::string::npos) << describe(args, run);
}

TEST(DryRun, KvmUsesTheHostCpuAndKvmclock) {
  Args args{"run", "--accel", "kvm", "--dry-run"};
  NimbusRun run = run_nimbus(args);
  ASSERT_EQ(run.status, 0) << describe(args, run);
  EXPECT_NE(run.out.find("-accel kvm -cpu host "), std::string::npos) << describe(args, run);
  EXPECT_EQ(run.out.find("tsc_khz="), std::string::npos) << describe(args, run);
}

TEST(DryRun, IcountRunsTheTscAtOneTickPerInstruction) {
  Args args{"run", "--icount", "--dry-run"};
  NimbusRun run = run_nimbus(args);
  ASSERT_EQ(run.status, 0) << describe(args, run);
  EXPECT_NE(run.out.find("-accel tcg -cpu max -icount shift=0,sleep=off "), std::string::npos)
      << describe(args, run);
  EXPECT_NE(run.out.find("tsc_khz=1000000"), std::string::npos) << describe(args, run);
}

TEST(DryRun, IcountAndNoAslrTurnLayoutRandomizationOff) {
  for (const char* flag : {"--icount", "--no-aslr"}) {
    Args args{"run", flag, "--dry-run"};
    NimbusRun run = run_nimbus(args);
    ASSERT_EQ(run.status, 0) << describe(args, run);
    EXPECT_NE(run.out.find("norandmaps"), std::string::npos) << describe(args, run);
  }
  Args plain{"run", "--dry-run"};
  NimbusRun run = run_nimbus(plain);
  ASSERT_EQ(run.status, 0) << describe(plain, run);
  EXPECT_EQ(run.out.find("norandmaps"), std::string::npos) << describe(plain, run);
}

TEST(DryRun, MemoryAndCpusReachQemu) {
  Args args = run_args({"--memory", "16G", "--cpus", "8", "--dry-run"});
  NimbusRun run = run_nimbus(args);
  ASSERT_EQ(run.status, 0) << describe(args, run);
  EXPECT_NE(run.out.find(" -m 16384M -smp 8 "), std::string::npos) << describe(args, run);
}

TEST(DryRun, FlagsThenKernelArgumentsFormTheKernelCommandLine) {
  Args args = run_args({"--verbose", "--bootchart", "--boot-only", "--icount", "--dry-run", "--",
                        "test=threads", "--not-a-nimbus-option"});
  NimbusRun run = run_nimbus(args);
  ASSERT_EQ(run.status, 0) << describe(args, run);
  EXPECT_NE(run.out.find("-append 'verbose bootchart boot-only norandmaps tsc_khz=1000000 test=threads "
                         "--not-a-nimbus-option'"),
            std::string::npos)
      << describe(args, run);
}

TEST(ExitProtocol, QemuRunsExactlyTheDryRunCommandLine) {
  TempDir dir;
  std::string qemu = fake_qemu(dir, "echo \"$0 $*\"; exit 1");
  Args args = fake_run(qemu, {"--", "test=x"});
  NimbusRun run = run_nimbus(args);
  ASSERT_EQ(run.status, 0) << describe(args, run);
  Args dry = args;
  dry.insert(dry.end() - 2, "--dry-run");
  NimbusRun printed = run_nimbus(dry);
  // The dry run quotes the -append value for the shell; the fake sees it unquoted. The status
  // file is a fresh temporary per run, so its path is compared as a placeholder.
  // The dry run also ends with the redirections that stand for the descriptors nimbus passes.
  auto normalize = [](std::string text) {
    std::erase(text, '\'');
    if (auto at = text.find(" 3>&1 4>&2"); at != std::string::npos) text.erase(at, 10);
    auto at = text.find("nimbus-status,path=");
    if (at != std::string::npos) text.replace(at, text.find(' ', at) - at, "nimbus-status,path=STATUS");
    return text;
  };
  EXPECT_EQ(normalize(run.out), normalize(printed.out)) << describe(args, run) << describe(dry, printed);
}

TEST(ExitProtocol, GuestStatusIsDecodedFromQemusExitStatus) {
  TempDir dir;
  std::string qemu = fake_qemu(dir, "exit 15");  // (7 << 1) | 1
  Args args = fake_run(qemu);
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 7) << describe(args, run);
}

// A fake QEMU that writes `status` to the debugcon status file, as the kernel does, and exits
// the way isa-debug-exit makes QEMU exit.
std::string fake_qemu_reporting(const TempDir& dir, const std::string& status, int qemu_exit) {
  return fake_qemu(dir, "for a; do case $a in file,id=nimbus-status,path=*) p=${a#*path=};; esac; done\n"
                        "printf '%s\\n' " + status + " > \"$p\"\nexit " + std::to_string(qemu_exit));
}

TEST(ExitProtocol, StatusesAbove127ComeThroughTheStatusChannel) {
  // QEMU exits with ((status << 1) | 1) & 0xff: 250 arrives as 245, 139 as 23.
  TempDir dir;
  for (auto [qemu_exit, status] : {std::pair{245, 250}, {249, 252}, {23, 139}, {243, 121}}) {
    Args args = fake_run(fake_qemu_reporting(dir, std::to_string(status), qemu_exit));
    NimbusRun run = run_nimbus(args);
    EXPECT_EQ(run.status, status) << describe(args, run);
  }
}

TEST(ExitProtocol, WithoutAStatusReportTheExitCodeIsAllThereIs) {
  TempDir dir;
  Args args = fake_run(fake_qemu(dir, "exit 245"));
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 122) << describe(args, run);
  // A report that contradicts the exit code is ignored.
  args = fake_run(fake_qemu_reporting(dir, "77", 245));
  run = run_nimbus(args);
  EXPECT_EQ(run.status, 122) << describe(args, run);
}

TEST(ExitProtocol, ConsoleGoesToStdoutAndQemuWarningsToStderr) {
  TempDir dir;
  std::string qemu = fake_qemu(
      dir, "echo guest console line; echo 'qemu-system-x86_64: warning: be careful' >&2; exit 1");
  Args args = fake_run(qemu);
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_EQ(run.out, "guest console line\n") << describe(args, run);
  EXPECT_NE(run.err.find("warning: be careful"), std::string::npos) << describe(args, run);
}

TEST(ExitProtocol, QemuErrorExits125) {
  TempDir dir;
  std::string qemu = fake_qemu(dir, "echo 'qemu-system-x86_64: -foo: invalid option' >&2; exit 1");
  Args args = fake_run(qemu);
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 125) << describe(args, run);
  EXPECT_NE(run.err.find("nimbus: qemu failed: -foo: invalid option"), std::string::npos)
      << describe(args, run);
}

TEST(ExitProtocol, GuestResetWithoutStatusExits125) {
  TempDir dir;
  std::string qemu = fake_qemu(dir, "exit 0");
  Args args = fake_run(qemu);
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 125) << describe(args, run);
  EXPECT_NE(run.err.find("nimbus: guest stopped without an exit status (reset or triple fault)"),
            std::string::npos)
      << describe(args, run);
}

TEST(ExitProtocol, TimeoutKillsQemuAndExits124) {
  TempDir dir;
  std::string qemu = fake_qemu(dir, "exec sleep 60");
  Args args = fake_run(qemu, {"--timeout", "0.5"});
  auto start = std::chrono::steady_clock::now();
  NimbusRun run = run_nimbus(args, {.hard_limit = std::chrono::seconds(20)});
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(run.status, 124) << describe(args, run);
  EXPECT_NE(run.err.find("nimbus: timeout after 0.5 s"), std::string::npos) << describe(args, run);
  EXPECT_LT(elapsed, std::chrono::seconds(5)) << describe(args, run);
}

TEST(ExitProtocol, QemuKilledBySignalGives128PlusN) {
  TempDir dir;
  std::string qemu = fake_qemu(dir, "kill -KILL $$");
  Args args = fake_run(qemu);
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 128 + 9) << describe(args, run);
}

TEST(TinyKernels, FloorKernelExitsZeroUnderRealQemu) {
  Args args = run_args({"--kernel", build_file("nimbus-floor.elf"), "--timeout", "30"});
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_EQ(run.out, "") << describe(args, run);
}

TEST(TinyKernels, ProbeKernelPassesUnderTcg) {
  Args args = run_args({"--kernel", build_file("nimbus-probe.elf"), "--timeout", "30"});
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, NIMBUS_PROBE_OK) << describe(args, run);
}

TEST(TinyKernels, QemuRejectingTheKernelExits125) {
  TempDir dir;
  std::string not_a_kernel = dir.write_file("not-a-kernel", "hello\n");
  Args args = run_args({"--kernel", not_a_kernel, "--timeout", "30"});
  NimbusRun run = run_nimbus(args);
  EXPECT_EQ(run.status, 125) << describe(args, run);
  EXPECT_NE(run.err.find("nimbus: qemu failed: "), std::string::npos) << describe(args, run);
}

}  // namespace
