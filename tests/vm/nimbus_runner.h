// run_nimbus(): runs the nimbus CLI as a child with a hard time limit and captures what it printed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

struct NimbusRun {
  int status = -1;         // exit status, or 128+N when killed by signal N
  bool timed_out = false;  // the harness had to kill it
  std::string out;         // stdout: the guest console, or what --dry-run prints
  std::string err;         // stderr: nimbus's and QEMU's messages
  std::string output() const { return out + err; }
};

struct RunLimits {
  // Enforced by the harness even if nimbus's own --timeout fails; the process group is killed.
  std::chrono::seconds hard_limit{60};
  // Overrides on top of the test's environment. XDG_CACHE_HOME defaults to <build>/vm-tests-cache,
  // so the tests neither use nor disturb the user's cached KVM verdict.
  std::map<std::string, std::string> environment = {};
  // A file to give nimbus as its standard input (default /dev/null).
  std::string stdin_file = "/dev/null";
  // The directory nimbus starts in (default: the test's own).
  std::string working_directory = "";
  // Called with nimbus's process ID once it runs (its own process group): a test serving from
  // a program that has no "quit" request keeps it to send SIGTERM, which nimbus forwards.
  std::function<void(pid_t)> started = nullptr;
  // Words run before nimbus, e.g. {"ip", "netns", "exec", NAME} to start it inside a network
  // namespace (found on PATH).
  std::vector<std::string> command_prefix = {};
};

// The build directory holding nimbus, nimbus-kernel.elf and the tiny kernels: NIMBUS_BUILD_DIR
// from the environment, else the one this test executable was configured for.
std::string build_dir();
std::string build_file(const std::string& name);

// Runs `<build>/nimbus ARGS...` with stdin on limits.stdin_file.
NimbusRun run_nimbus(const std::vector<std::string>& args, const RunLimits& limits = {});

// For assertion messages: the command and everything it printed.
std::string describe(const std::vector<std::string>& args, const NimbusRun& run);
