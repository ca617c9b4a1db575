// Console: the byte stream behind /dev/console and /dev/tty (injectable for tests).
#pragma once

#include <cstddef>
#include <span>

#include "kernel/fs/linux_abi.h"
#include "kernel/lib/result.h"
#include "kernel/sync/poll_queue.h"

namespace nimbus::fs {

// The kernel wires this to the serial port or virtio-console. It is a raw byte stream: no
// line editing or echo happens in the file layer.
class Console {
 public:
  virtual Result<size_t> write(std::span<const std::byte> data) = 0;
  // Waits for at least one byte unless `nonblocking` (then EAGAIN when none is there); 0
  // means the input ended.
  virtual Result<size_t> read(std::span<std::byte> buffer, bool nonblocking) = 0;
  // Bytes that a read would return at once (FIONREAD, poll).
  virtual size_t readable_bytes() { return 0; }
  // The input has ended: a read returns 0 at once (poll reports POLLIN and POLLHUP).
  virtual bool input_ended() { return false; }
  // Readiness hook: implementations call input_arrived() whenever bytes become readable (or
  // input ends), which wakes poll, select and epoll waiters on the console.
  PollQueue& poll_queue() { return m_poll_queue; }
  void input_arrived() { m_poll_queue.notify(linux_abi::pollin | linux_abi::pollrdnorm); }

 protected:
  ~Console() = default;

 private:
  PollQueue m_poll_queue;
};

}  // namespace nimbus::fs
