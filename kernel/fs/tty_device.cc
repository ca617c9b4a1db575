// TtyDevice: console I/O and terminal ioctls.
#include "kernel/fs/tty_device.h"

#include <cstring>

namespace nimbus::fs {

using namespace linux_abi;

TtyDevice::TtyDevice(Console& console) : m_console(console), m_termios(default_termios()) {}

Termios TtyDevice::default_termios() {
  Termios termios{};
  termios.c_iflag = 0000400 | 0002000;                                            // ICRNL IXON
  termios.c_oflag = 0000001 | 0000004;                                            // OPOST ONLCR
  termios.c_cflag = 0000017 | 0000060 | 0000200 | 0002000;                        // B38400 CS8 CREAD HUPCL
  termios.c_lflag = 0000001 | 0000002 | 0000010 | 0000020 | 0000040 | 0001000 |  // ISIG ICANON ECHO ECHOE ECHOK ECHOCTL
                    0004000 | 0100000;                                            // ECHOKE IEXTEN
  // INIT_C_CC: intr ^C, quit ^\, erase DEL, kill ^U, eof ^D, time 0, min 1, swtc 0,
  // start ^Q, stop ^S, susp ^Z, eol 0, reprint ^R, discard ^O, werase ^W, lnext ^V, eol2 0.
  const uint8_t control[] = {003, 034, 0177, 025, 004, 0, 1, 0, 021, 023, 032, 0, 022, 017, 027, 026, 0};
  memcpy(termios.c_cc, control, sizeof(control));
  return termios;
}

Result<size_t> TtyDevice::read(File&, std::span<std::byte> buffer, IoFlags flags) {
  if (buffer.empty()) return 0;
  return m_console.read(buffer, flags.nonblocking);
}

Result<size_t> TtyDevice::write(File&, std::span<const std::byte> data, IoFlags) {
  return m_console.write(data);
}

Result<int64_t> TtyDevice::ioctl(File&, uint32_t request, uintptr_t argument) {
  void* pointer = reinterpret_cast<void*>(argument);
  MutexGuard guard(m_lock);
  switch (request) {
    case tcgets:
      memcpy(pointer, &m_termios, sizeof(m_termios));
      return 0;
    case tcsets:
    case tcsetsw:
    case tcsetsf:
      memcpy(&m_termios, pointer, sizeof(m_termios));
      return 0;
    case tiocgwinsz:
      memcpy(pointer, &m_window, sizeof(m_window));
      return 0;
    case tiocswinsz:
      memcpy(&m_window, pointer, sizeof(m_window));
      return 0;
    case fionread: {
      int waiting = static_cast<int>(m_console.readable_bytes());
      memcpy(pointer, &waiting, sizeof(waiting));
      return 0;
    }
    case tiocgpgrp:
      memcpy(pointer, &m_foreground_group, sizeof(m_foreground_group));
      return 0;
    case tiocspgrp:
      memcpy(&m_foreground_group, pointer, sizeof(m_foreground_group));
      return 0;
    case tiocsctty:
      return 0;
    default:
      return error(Errno::enotty);
  }
}

uint32_t TtyDevice::poll(File&) {
  uint32_t events = pollout | pollwrnorm;
  if (m_console.readable_bytes()) events |= pollin | pollrdnorm;
  else if (m_console.input_ended()) events |= pollin | pollrdnorm | pollhup;
  return events;
}

}  // namespace nimbus::fs
