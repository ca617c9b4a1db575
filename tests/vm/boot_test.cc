// Tests that boot the Nimbus kernel under QEMU through `nimbus run` and check what it did.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "nimbus_runner.h"

namespace {

using Args = std::vector<std::string>;

// What the kernel prints and returns, in one place: adjust here when the kernel's wording moves.
namespace kernel_says {
constexpr std::string_view kBootchartPrefix = "bootchart:";
constexpr std::string_view kThreadsOk = "threads: ok";
constexpr std::string_view kMutexOk = "mutex: ok total=1000000";
constexpr std::string_view kSleepOk = "sleep: ok";
constexpr std::string_view kPageFault = "page fault";
constexpr std::string_view kBacktrace = "backtrace";
constexpr int kPanicStatus = 250;
constexpr std::string_view kOutOfMemory = "out of memory";
constexpr int kOutOfMemoryStatus = 251;
constexpr std::string_view kUnknownOption = "unknown option 'no-such-option'";
constexpr int kBadCommandLineStatus = 252;
}  // namespace kernel_says

// Generous limits: they only matter when something hangs, and TCG on a loaded 2-core machine is
// several times slower than on an idle one.
constexpr int kBootSeconds = 30;
constexpr int kTestSeconds = 120;

// `nimbus run --timeout S ARGS...`, with the harness's own limit a little beyond nimbus's.
NimbusRun boot(Args& args, int timeout_seconds) {
  args.insert(args.begin(), {"run", "--timeout", std::to_string(timeout_seconds)});
  return run_nimbus(args, {.hard_limit = std::chrono::seconds(timeout_seconds + 15)});
}

bool has_line_starting_with(const std::string& text, std::string_view prefix) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(prefix)) return true;
  return false;
}

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

TEST(Boot, BootOnlyOnMicrovmIsSilentAndExitsZero) {
  Args args{"--boot-only"};
  NimbusRun run = boot(args, kBootSeconds);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_EQ(run.out, "") << "the kernel is silent by default\n" << describe(args, run);
}

TEST(Boot, BootOnlyOnQ35IsSilentAndExitsZero) {
  Args args{"--machine", "q35", "--boot-only"};
  NimbusRun run = boot(args, kBootSeconds);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_EQ(run.out, "") << describe(args, run);
}

TEST(Boot, VerbosePrintsABootLog) {
  Args args{"--verbose", "--boot-only"};
  NimbusRun run = boot(args, kBootSeconds);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_NE(run.out, "") << describe(args, run);
}

TEST(Boot, BootchartPrintsBootchartLines) {
  Args args{"--bootchart", "--boot-only"};
  NimbusRun run = boot(args, kBootSeconds);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_TRUE(has_line_starting_with(run.out, kernel_says::kBootchartPrefix))
      << describe(args, run);
}

class SelfTestOnCpus : public testing::TestWithParam<int> {};

TEST_P(SelfTestOnCpus, DefaultSelfTestPasses) {
  Args args{"--cpus", std::to_string(GetParam())};
  NimbusRun run = boot(args, kTestSeconds);
  EXPECT_EQ(run.status, 0) << describe(args, run);
}

INSTANTIATE_TEST_SUITE_P(Boot, SelfTestOnCpus, testing::Values(1, 2, 8),
                         [](const testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "Cpus";
                         });

TEST(KernelTests, TenThousandThreadsCreateAndJoin) {
  Args args{"--", "test=threads"};
  NimbusRun run = boot(args, kTestSeconds);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_TRUE(contains(run.out, kernel_says::kThreadsOk)) << describe(args, run);
}

TEST(KernelTests, MutexCountsExactlyOnFourCpus) {
  Args args{"--cpus", "4", "--", "test=mutex"};
  NimbusRun run = boot(args, kTestSeconds);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_TRUE(contains(run.out, kernel_says::kMutexOk)) << describe(args, run);
}

TEST(KernelTests, SleepIsAccurate) {
  Args args{"--", "test=sleep"};
  NimbusRun run = boot(args, kTestSeconds);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_TRUE(contains(run.out, kernel_says::kSleepOk)) << describe(args, run);
}

TEST(KernelTests, PageFaultPanicsWithABacktrace) {
  Args args{"--", "test=pagefault"};
  NimbusRun run = boot(args, kTestSeconds);
  EXPECT_EQ(run.status, kernel_says::kPanicStatus) << describe(args, run);
  EXPECT_TRUE(contains(run.output(), kernel_says::kPageFault)) << describe(args, run);
  EXPECT_TRUE(contains(run.output(), kernel_says::kBacktrace)) << describe(args, run);
}

TEST(KernelTests, ExhaustedMemoryIsAClearErrorNotAHang) {
  Args args{"--memory", "16M", "--", "test=oom"};
  NimbusRun run = boot(args, kTestSeconds);
  EXPECT_EQ(run.status, kernel_says::kOutOfMemoryStatus) << describe(args, run);
  EXPECT_TRUE(contains(run.output(), kernel_says::kOutOfMemory)) << describe(args, run);
}

TEST(KernelTests, UnknownKernelOptionIsRefused) {
  Args args{"--", "no-such-option"};
  NimbusRun run = boot(args, kBootSeconds);
  EXPECT_EQ(run.status, kernel_says::kBadCommandLineStatus) << describe(args, run);
  EXPECT_TRUE(contains(run.output(), kernel_says::kUnknownOption)) << describe(args, run);
}

TEST(Boot, SixtyFourCpusBootAndRunTheSelfTest) {
  Args args{"--cpus", "64"};
  NimbusRun run = boot(args, kTestSeconds);
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_TRUE(contains(run.out, "threads: ok (64 cpus")) << describe(args, run);
}

class BootWithMemory : public testing::TestWithParam<std::string> {};

TEST_P(BootWithMemory, BootOnlyExitsZero) {
  Args args{"--memory", GetParam(), "--boot-only"};
  NimbusRun run = boot(args, kBootSeconds);
  EXPECT_EQ(run.status, 0) << describe(args, run);
}

INSTANTIATE_TEST_SUITE_P(Boot, BootWithMemory, testing::Values("16M", "16G"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(KernelTests, SelfTestFitsInEightMiB) {
  Args args{"--memory", "8M", "--", "test=selftest"};
  NimbusRun run = boot(args, kTestSeconds);
  EXPECT_EQ(run.status, 0) << describe(args, run);
}

}  // namespace
