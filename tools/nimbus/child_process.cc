// run_child(): runs QEMU as a child process, with piped stderr, a time limit, forwarded signals.
#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "text.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

// The child is not put in a process group of its own: QEMU reads the terminal for -serial stdio
// and would be stopped by SIGTTIN outside the foreground group. Signals sent to nimbus alone
// (kill PID) are passed on instead, so QEMU is never orphaned.
volatile sig_atomic_t g_child_pid = 0;
constexpr std::array kForwardedSignals = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

void forward_signal(int signal_number) {
  if (g_child_pid > 0) ::kill(g_child_pid, signal_number);
}

class SignalForwarding {
 public:
  explicit SignalForwarding(pid_t child) {
    g_child_pid = child;
    struct sigaction action {};
    action.sa_handler = forward_signal;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < kForwardedSignals.size(); ++i)
      ::sigaction(kForwardedSignals[i], &action, &m_previous[i]);
  }
  ~SignalForwarding() {
    for (std::size_t i = 0; i < kForwardedSignals.size(); ++i)
      ::sigaction(kForwardedSignals[i], &m_previous[i], nullptr);
    g_child_pid = 0;
  }
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;

 private:
  std::array<struct sigaction, kForwardedSignals.size()> m_previous{};
};

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : m_fd(fd) {}
  ~FileDescriptor() { reset(); }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return m_fd; }
  void reset() {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
  }

 private:
  int m_fd;
};

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // our stderr is gone; keep supervising the child regardless
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Splits the child's stderr into lines and asks the spec whether a line means "stop now".
class StderrCollector {
 public:
  explicit StderrCollector(const ChildSpec& spec, std::vector<std::string>& lines)
      : m_spec(spec), m_lines(lines) {}

  // Returns true when a line asked for the child to be stopped.
  bool feed(const char* data, std::size_t size) {
    if (m_spec.forward_stderr) write_all(STDERR_FILENO, data, size);
    bool stop = false;
    for (std::size_t i = 0; i < size; ++i) {
      if (data[i] != '\n') {
        m_partial += data[i];
        continue;
      }
      stop |= finish_line();
    }
    return stop;
  }

  void flush() {
    if (!m_partial.empty()) finish_line();
  }

 private:
  bool finish_line() {
    m_lines.push_back(std::move(m_partial));
    m_partial.clear();
    return m_spec.stop_on_line && m_spec.stop_on_line(m_lines.back());
  }

  const ChildSpec& m_spec;
  std::vector<std::string>& m_lines;
  std::string m_partial;
};

// The pipe's descriptors move above the ones the child inherits by number (3, 4, ...), so
// the child's dup2s never overwrite the pipe before copying it.
int above_inherited(int fd) {
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, kFirstPrivateFd);
  ::close(fd);
  return moved;
}

int remaining_ms(std::optional<Clock::time_point> deadline) {
  if (!deadline) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

CliResult<pid_t> spawn(const ChildSpec& spec, int stderr_write_end) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (auto [ours, theirs] : spec.inherited_fds) posix_spawn_file_actions_adddup2(&actions, ours, theirs);
  posix_spawn_file_actions_adddup2(&actions, stderr_write_end, STDERR_FILENO);
  if (spec.detach_stdio) {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  }

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal_number : kForwardedSignals) sigaddset(&defaults, signal_number);
  sigaddset(&defaults, SIGPIPE);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> argv;
  for (const std::string& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  pid_t pid = 0;
  int error = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0)
    return cli_error(exit_status::kCliFailure,
                     cat("cannot start ", spec.argv[0], ": ", std::strerror(error)));
  return pid;
}

ChildOutcome::Ending ending_from_wait_status(int status, int& code) {
  if (WIFSIGNALED(status)) {
    code = WTERMSIG(status);
    return ChildOutcome::Ending::Signaled;
  }
  code = WEXITSTATUS(status);
  return ChildOutcome::Ending::Exited;
}

}  // namespace

CliResult<ChildOutcome> run_child(const ChildSpec& spec) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return cli_error(exit_status::kCliFailure, cat("pipe: ", std::strerror(errno)));
  FileDescriptor read_end(above_inherited(pipe_fds[0]));
  FileDescriptor write_end(above_inherited(pipe_fds[1]));
  if (read_end.get() < 0 || write_end.get() < 0)
    return cli_error(exit_status::kCliFailure, cat("fcntl: ", std::strerror(errno)));

  auto start = Clock::now();
  std::optional<Clock::time_point> deadline;
  if (spec.time_limit) deadline = start + *spec.time_limit;

  pid_t pid = TRY_CLI(spawn(spec, write_end.get()));
  SignalForwarding forwarding(pid);
  write_end.reset();
  // The raw syscall: glibc 2.36's <sys/pidfd.h> misses extern "C". Without a pidfd (kernels
  // before 5.3) the child's exit is noticed when the stderr pipe closes.
  FileDescriptor pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  ChildOutcome outcome;
  StderrCollector collector(spec, outcome.stderr_lines);
  bool pipe_open = true;
  bool exited = false;
  std::optional<ChildOutcome::Ending> forced;

  while (!exited && !forced) {
    std::vector<pollfd> fds{{pipe_open ? read_end.get() : -1, POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    // No events asked: poll still reports POLLERR (a pipe without reader) and POLLHUP.
    for (int fd : spec.output_fds) fds.push_back({fd, 0, 0});
    int timeout = remaining_ms(deadline);
    if (pidfd.get() < 0 && !pipe_open) timeout = timeout < 0 ? 1 : std::min(timeout, 1);
    int ready = ::poll(fds.data(), fds.size(), timeout);
    if (ready < 0 && errno != EINTR)
      return cli_error(exit_status::kCliFailure, cat("poll: ", std::strerror(errno)));

    if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buffer[4096];
      ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
      if (n > 0) {
        if (collector.feed(buffer, static_cast<std::size_t>(n)))
          forced = ChildOutcome::Ending::StoppedOnLine;
      } else if (n == 0 || errno != EINTR) {
        pipe_open = false;
      }
    }

    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      outcome.ending = ending_from_wait_status(status, outcome.code);
      exited = true;
    } else if (ready > 0 && std::any_of(fds.begin() + 2, fds.end(), [](const pollfd& fd) {
                 return (fd.revents & (POLLERR | POLLHUP)) != 0;
               })) {
      forced = ChildOutcome::Ending::OutputClosed;
    } else if (!forced && deadline && Clock::now() >= *deadline) {
      forced = ChildOutcome::Ending::TimedOut;
    }
  }

  if (forced) {
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    outcome.ending = *forced;
  }
  // Whatever QEMU wrote just before exiting is still in the pipe.
  while (pipe_open) {
    char buffer[4096];
    ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n > 0) {
      collector.feed(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      pipe_open = false;
    }
  }
  collector.flush();
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return outcome;
}
