// run_child(): runs QEMU as a child process, with piped stderr, a time limit, forwarded signals.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli_error.h"

// Descriptors from here up are never targets of ChildSpec::inherited_fds, so ours can live
// there without being overwritten by the child's dup2s before they are copied.
inline constexpr int kFirstPrivateFd = 10;

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the executable's path
  std::optional<std::chrono::milliseconds> time_limit;
  bool forward_stderr = true;  // copy the child's stderr to ours as it arrives
  bool detach_stdio = false;   // stdin and stdout on /dev/null instead of ours
  // {our descriptor, the child's}: extra descriptors the child inherits (copied before its
  // stderr becomes the pipe, so ours may be STDERR_FILENO).
  std::vector<std::pair<int, int>> inherited_fds;
  // Our descriptors the child writes to directly: when the far end goes away (a pipe's reader
  // exits, a terminal hangs up) the child is stopped, as SIGPIPE would stop the program.
  std::vector<int> output_fds;
  // Called for each complete stderr line; returning true kills the child at once.
  std::function<bool(std::string_view line)> stop_on_line;
};

struct ChildOutcome {
  enum class Ending { Exited, Signaled, TimedOut, StoppedOnLine, OutputClosed };
  Ending ending = Ending::Exited;
  int code = 0;  // exit status (Exited) or signal number (Signaled)
  std::chrono::milliseconds elapsed{0};
  std::vector<std::string> stderr_lines;
};

// Fails only when the child cannot be started at all.
CliResult<ChildOutcome> run_child(const ChildSpec& spec);
