// HostStreams: our standard streams prepared for QEMU, and put back as they were afterwards.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// QEMU makes the descriptions behind the descriptors it uses non-blocking (and the virtio
// console's chardevs append-only); they are shared with our parent shell, so their status
// flags are restored when the object goes. For the virtio console, stdout and stderr must be
// write-only descriptors (QEMU's fd sets only hand out one with the access mode it asks for):
// a read-write one, such as a terminal, is reopened write-only through /proc/self/fd.
class HostStreams {
 public:
  explicit HostStreams(bool for_console);
  ~HostStreams();
  HostStreams(const HostStreams&) = delete;
  HostStreams& operator=(const HostStreams&) = delete;

  // Whether stdout and stderr can be handed to QEMU (not, e.g., a read-write socket).
  bool console_ready() const { return m_console_ready; }
  // {our descriptor, QEMU's}: stdout and stderr at kConsoleStdoutFd and kConsoleStderrFd.
  std::vector<std::pair<int, int>> inherited_fds() const;

 private:
  std::array<int, 3> m_status_flags{-1, -1, -1};  // F_GETFL of 0, 1, 2
  std::array<int, 2> m_outputs{-1, -1};           // what QEMU gets for stdout and stderr
  std::array<bool, 2> m_reopened{false, false};
  bool m_console_ready = false;
};

// What the kernel is told about the streams on descriptors `in`, `out` and `err`, so the
// program sees a terminal only where we have one: nimbus.streams=tty|pipe,... and, when one is
// a terminal, nimbus.winsize=ROWSxCOLUMNS (of the first terminal among out, err and in).
std::vector<std::string> stream_kernel_words(int in, int out, int err);
