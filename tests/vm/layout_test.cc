// VM tests of address-space layout randomization: two runs of one program place its image,
// libraries, interpreter, vDSO, stack, heap and mmap area differently; `--no-aslr` (kernel word
// norandmaps) makes every run the same; a forked child keeps its parent's layout and exec
// draws a new one.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nimbus_runner.h"

namespace {

using Args = std::vector<std::string>;
// "parent" -> {"program" -> "0x...", ...}: what tests/apps/layout.c printed.
using Layouts = std::map<std::string, std::map<std::string, std::string>>;

std::string app(const std::string& kind) { return build_dir() + "/apps/layout-" + kind; }

NimbusRun run(const Args& options, const std::string& program) {
  Args args{"run", "--timeout", "120", "--net", "none"};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back(program);
  return run_nimbus(args, RunLimits{std::chrono::seconds(180)});
}

Layouts parse(const std::string& out) {
  Layouts layouts;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string who, field;
    words >> who;
    while (words >> field) {
      auto equals = field.find('=');
      if (equals != std::string::npos) layouts[who][field.substr(0, equals)] = field.substr(equals + 1);
    }
  }
  return layouts;
}

Layouts run_layout(const Args& options, const std::string& kind) {
  NimbusRun r = run(options, app(kind));
  EXPECT_EQ(r.status, 0) << r.output();
  Layouts layouts = parse(r.out);
  EXPECT_EQ(layouts.size(), 3u) << r.output();
  return layouts;
}

// The fields that must move between two randomized runs: each has at least 22 random bits
// (the brk heap's own offset has 13, so it is checked only where it also moves with the PIE).
std::vector<std::string> moving_fields(const std::string& kind) {
  if (kind == "static") return {"vdso", "stack", "mmap"};  // a static non-PIE program stays put
  return {"program", "libc", "interpreter", "vdso", "stack", "brk", "mmap"};
}

class Layout : public ::testing::TestWithParam<const char*> {};

TEST_P(Layout, TwoRunsDifferForkKeepsItAndExecMakesANewOne) {
  std::string kind = GetParam();
  Layouts first = run_layout({}, kind);
  Layouts second = run_layout({}, kind);
  for (const std::string& field : moving_fields(kind)) {
    EXPECT_NE(first["parent"][field], second["parent"][field]) << field;
    EXPECT_NE(first["parent"][field], first["exec"][field]) << field << ": exec kept the layout";
  }
  EXPECT_EQ(first["parent"], first["child"]) << "fork changed the layout";
  EXPECT_EQ(second["parent"], second["child"]) << "fork changed the layout";
}

TEST_P(Layout, NoAslrMakesEveryRunTheSame) {
  std::string kind = GetParam();
  Layouts first = run_layout({"--no-aslr"}, kind);
  Layouts second = run_layout({"--no-aslr"}, kind);
  EXPECT_EQ(first, second);
  EXPECT_EQ(first["parent"], first["child"]);
  // Linux's places without randomization: a PIE at ELF_ET_DYN_BASE, the stack at the top.
  if (kind == "dynamic") {
    EXPECT_EQ(first["parent"]["program"].substr(0, 8), "0x555555") << first["parent"]["program"];
  }
  EXPECT_EQ(first["parent"]["stack"].substr(0, 8), "0x7fffff") << first["parent"]["stack"];
}

INSTANTIATE_TEST_SUITE_P(Apps, Layout, ::testing::Values("dynamic", "static"));

}  // namespace
