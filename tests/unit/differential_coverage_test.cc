// Every system call docs/syscalls.md marks "done" must be made by at least one differential app
// (tests/apps, compared with the host by tests/vm/program_test.cc), or be named in
// tests/apps/uncovered_done_calls.txt, the list of known gaps. The apps run on the host under
// strace(1), which names the calls they make; no VM is booted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::set<std::string> done_calls() {
  std::set<std::string> done;
  auto add = [&done](const char* name, const char* status) {
    if (std::string(status) == "done") done.insert(name);
  };
#define SYSCALL(number, name, handler, status, missing) add(#name, #status);
#define MISSING(number, name)
#include "kernel/linux/syscall_list.h"
#undef SYSCALL
#undef MISSING
  return done;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, separator);)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

// The calls strace saw, from lines such as "1234  openat(AT_FDCWD, ..." and
// "1234  <... read resumed>...".
std::set<std::string> traced_calls(const std::string& trace_file) {
  std::set<std::string> calls;
  std::ifstream in(trace_file);
  for (std::string line; std::getline(in, line);) {
    std::size_t start = line.find_first_not_of("0123456789 ");
    if (start == std::string::npos) continue;
    std::string rest = line.substr(start);
    if (rest.starts_with("<... ")) rest = rest.substr(5);
    std::size_t end = rest.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_");
    if (end == 0 || end == std::string::npos) continue;
    if (rest[end] == '(' || rest.compare(end, 8, " resumed") == 0) calls.insert(rest.substr(0, end));
  }
  return calls;
}

std::set<std::string> known_gaps() {
  std::set<std::string> gaps;
  std::ifstream in(std::string(NIMBUS_SOURCE_DIR) + "/tests/apps/uncovered_done_calls.txt");
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    for (const std::string& word : split(line, ' ')) gaps.insert(word);
  }
  return gaps;
}

TEST(DifferentialCoverage, EveryDoneCallHasADifferentialCaseOrIsAKnownGap) {
  if (std::system("command -v strace >/dev/null 2>&1") != 0) GTEST_SKIP() << "strace is not installed";
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("nimbus-coverage-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::set<std::string> covered;
  for (const std::string& app : split(NIMBUS_DIFFERENTIAL_APPS, ',')) {
    for (const char* kind : {"-static", "-dynamic"}) {
      std::string program = std::string(NIMBUS_BUILD_DIR) + "/apps/" + app + kind;
      ASSERT_TRUE(std::filesystem::exists(program)) << program << " (build the nimbus-apps target)";
      std::string trace = (dir / (app + kind)).string();
      std::string command = "cd '" + dir.string() + "' && strace -f -qq -o '" + trace + "' '" +
                            program + "' </dev/null >/dev/null 2>&1";
      (void)std::system(command.c_str());
      std::set<std::string> calls = traced_calls(trace);
      EXPECT_FALSE(calls.empty()) << program << ": strace saw no call";
      covered.insert(calls.begin(), calls.end());
    }
  }
  std::filesystem::remove_all(dir);

  std::set<std::string> gaps = known_gaps();
  std::string uncovered, stale;
  for (const std::string& call : done_calls()) {
    if (!covered.contains(call) && !gaps.contains(call)) uncovered += " " + call;
    if (covered.contains(call) && gaps.contains(call)) stale += " " + call;
  }
  for (const std::string& call : gaps)
    if (!done_calls().contains(call)) stale += " " + call;
  EXPECT_EQ(uncovered, "") << "\"done\" calls no differential app makes: add a case to an app in "
                              "tests/apps (or, failing that, name them in uncovered_done_calls.txt)";
  EXPECT_EQ(stale, "") << "tests/apps/uncovered_done_calls.txt names calls that are covered now "
                          "or are not \"done\": take them out";
}

}  // namespace
