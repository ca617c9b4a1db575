// Tests of `--accel auto`: the KVM probe runs once per host, picks TCG on kvm_pvm, and is cached.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;

// The development machines' /dev/kvm is kvm_pvm, where the probe must fail; on a host with
// hardware KVM the probe passes and auto rightly picks KVM, so this expectation does not apply.
bool host_has_hardware_kvm() {
  auto loaded = [](const char* module) {
    return std::filesystem::exists(std::string("/sys/module/") + module);
  };
  return (loaded("kvm_intel") || loaded("kvm_amd")) && !loaded("kvm_pvm");
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(AccelAuto, ChoosesTcgHereAnnouncesItOnceAndCachesTheVerdict) {
  if (host_has_hardware_kvm()) GTEST_SKIP() << "this host has hardware KVM; auto may pick it";
  TempDir cache;
  RunLimits limits{.hard_limit = std::chrono::seconds(30),
                   .environment = {{"XDG_CACHE_HOME", cache.path().string()}}};
  Args args{"run", "--accel", "auto", "--dry-run"};

  NimbusRun first = run_nimbus(args, limits);
  ASSERT_EQ(first.status, 0) << describe(args, first);
  EXPECT_NE(first.out.find("-accel tcg -cpu max"), std::string::npos) << describe(args, first);
  EXPECT_NE(first.err.find("; using TCG\n"), std::string::npos) << describe(args, first);
  EXPECT_EQ(std::ranges::count(first.err, '\n'), 1) << "one notice line\n" << describe(args, first);

  std::string conf = read_file(cache.path() / "nimbus" / "host.conf");
  EXPECT_NE(conf.find("\naccel=tcg\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("\ntsc_khz="), std::string::npos) << conf;

  NimbusRun cached = run_nimbus(args, limits);
  ASSERT_EQ(cached.status, 0) << describe(args, cached);
  EXPECT_NE(cached.out.find("-accel tcg -cpu max"), std::string::npos) << describe(args, cached);
  EXPECT_EQ(cached.err, "") << "no notice on cached runs\n" << describe(args, cached);

  Args verbose{"run", "--verbose", "--dry-run"};
  NimbusRun explained = run_nimbus(verbose, limits);
  ASSERT_EQ(explained.status, 0) << describe(verbose, explained);
  EXPECT_NE(explained.err.find("using TCG (cached in "), std::string::npos)
      << describe(verbose, explained);
}

TEST(AccelAuto, IcountImpliesTcgWithoutProbing) {
  TempDir cache;
  RunLimits limits{.environment = {{"XDG_CACHE_HOME", cache.path().string()}}};
  Args args{"run", "--icount", "--dry-run"};
  NimbusRun run = run_nimbus(args, limits);
  ASSERT_EQ(run.status, 0) << describe(args, run);
  EXPECT_NE(run.out.find("-accel tcg"), std::string::npos) << describe(args, run);
  EXPECT_EQ(run.err, "") << describe(args, run);
}

TEST(HostTsc, MeasuredRateIsPlausibleAndStable) {
  TempDir cache;
  RunLimits limits{.environment = {{"XDG_CACHE_HOME", cache.path().string()}}};
  Args args{"run", "--accel", "tcg", "--dry-run"};
  auto tsc_khz = [&]() -> long {
    NimbusRun run = run_nimbus(args, limits);
    auto at = run.out.find("tsc_khz=");
    if (run.status != 0 || at == std::string::npos) {
      ADD_FAILURE() << describe(args, run);
      return 0;
    }
    return std::stol(run.out.substr(at + 8));
  };
  long measured = tsc_khz();
  EXPECT_GT(measured, 100'000);     // 100 MHz
  EXPECT_LT(measured, 10'000'000);  // 10 GHz
  EXPECT_EQ(tsc_khz(), measured) << "the second run reads the cached rate";
}

}  // namespace
