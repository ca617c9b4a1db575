// HostStreams: write-only copies of stdout and stderr for QEMU, and status flags restored.
#include "host_streams.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <string>

#include "child_process.h"
#include "qemu_command.h"
#include "text.h"

namespace {

// `fd` itself when it is write-only; else a write-only reopening of what it names.
int write_only(int fd, bool& reopened) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return -1;
  if ((flags & O_ACCMODE) == O_WRONLY) return fd;
  int fresh = ::open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fresh < 0) return -1;
  int moved = ::fcntl(fresh, F_DUPFD_CLOEXEC, kFirstPrivateFd);
  ::close(fresh);
  reopened = moved >= 0;
  return moved;
}

}  // namespace

HostStreams::HostStreams(bool for_console) {
  for (int fd = 0; fd < 3; fd++) m_status_flags[fd] = ::fcntl(fd, F_GETFL);
  if (!for_console) return;
  for (int i = 0; i < 2; i++) m_outputs[i] = write_only(STDOUT_FILENO + i, m_reopened[i]);
  m_console_ready = m_outputs[0] >= 0 && m_outputs[1] >= 0;
}

HostStreams::~HostStreams() {
  for (int i = 0; i < 2; i++)
    if (m_reopened[i]) ::close(m_outputs[i]);
  for (int fd = 0; fd < 3; fd++)
    if (m_status_flags[fd] >= 0) ::fcntl(fd, F_SETFL, m_status_flags[fd]);
}

std::vector<std::pair<int, int>> HostStreams::inherited_fds() const {
  if (!m_console_ready) return {};
  return {{m_outputs[0], kConsoleStdoutFd}, {m_outputs[1], kConsoleStderrFd}};
}

std::vector<std::string> stream_kernel_words(int in, int out, int err) {
  std::array<int, 3> fds{in, out, err};
  std::string kinds;
  for (int fd : fds) kinds += cat(kinds.empty() ? "" : ",", ::isatty(fd) ? "tty" : "pipe");
  std::vector<std::string> words{"nimbus.streams=" + kinds};
  for (int fd : {out, err, in}) {
    winsize size{};
    if (!::isatty(fd) || ::ioctl(fd, TIOCGWINSZ, &size) != 0) continue;
    if (size.ws_row && size.ws_col) words.push_back(cat("nimbus.winsize=", size.ws_row, "x", size.ws_col));
    break;
  }
  return words;
}
