// run_nimbus(): runs the nimbus CLI as a child with a hard time limit and captures what it printed.
#include "nimbus_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> entries;
  for (char** entry = environ; *entry; ++entry) {
    std::string text = *entry;
    std::string name = text.substr(0, text.find('='));
    if (!overrides.contains(name)) entries.push_back(text);
  }
  for (const auto& [name, value] : overrides) entries.push_back(name + "=" + value);
  return entries;
}

std::vector<char*> pointers(std::vector<std::string>& words) {
  std::vector<char*> result;
  for (std::string& word : words) result.push_back(word.data());
  result.push_back(nullptr);
  return result;
}

void check(int error, const char* what) {
  if (error != 0) throw std::runtime_error(std::string(what) + ": " + std::strerror(error));
}

}  // namespace

std::string build_dir() {
  if (const char* dir = std::getenv("NIMBUS_BUILD_DIR"); dir && *dir) return dir;
  return NIMBUS_BUILD_DIR;
}

std::string build_file(const std::string& name) {
  return build_dir() + "/" + name;
}

NimbusRun run_nimbus(const std::vector<std::string>& args, const RunLimits& limits) {
  std::vector<std::string> argv = limits.command_prefix;
  argv.push_back(build_file("nimbus"));
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> overrides = limits.environment;
  overrides.try_emplace("XDG_CACHE_HOME", build_file("vm-tests-cache"));
  std::vector<std::string> environment = merged_environment(overrides);

  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) check(errno, "pipe");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, limits.stdin_file.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  if (!limits.working_directory.empty())
    posix_spawn_file_actions_addchdir_np(&actions, limits.working_directory.c_str());
  // Its own process group, so a timeout kills nimbus and QEMU together.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);

  pid_t pid = 0;
  std::vector<char*> argv_pointers = pointers(argv);
  std::vector<char*> environment_pointers = pointers(environment);
  int spawn_error = ::posix_spawnp(&pid, argv[0].c_str(), &actions, &attributes,
                                  argv_pointers.data(), environment_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (spawn_error != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    check(spawn_error, ("cannot start " + argv[0]).c_str());
  }

  if (limits.started) limits.started(pid);
  NimbusRun run;
  auto deadline = Clock::now() + limits.hard_limit;
  std::array<pollfd, 2> fds{{{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}}};
  std::array<std::string*, 2> sinks{&run.out, &run.err};
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      run.timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) check(errno, "poll");
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
  }
  for (pollfd& fd : fds)
    if (fd.fd >= 0) ::close(fd.fd);

  // Wait without reaping, so the group ID cannot be reused before the group is cleared: a QEMU
  // left behind by a crashed nimbus must not outlive the test.
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  ::kill(-pid, SIGKILL);
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  run.status = WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
  return run;
}

std::string describe(const std::vector<std::string>& args, const NimbusRun& run) {
  std::string text = "command: nimbus";
  for (const std::string& arg : args) text += " " + arg;
  text += "\nexit status: " + std::to_string(run.status);
  if (run.timed_out) text += " (killed by the test harness after its hard time limit)";
  text += "\n--- stdout ---\n" + run.out + "\n--- stderr ---\n" + run.err;
  return text;
}
