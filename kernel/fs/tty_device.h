// TtyDevice: /dev/tty and /dev/console over a Console, with the terminal ioctls programs
// probe (isatty's TCGETS, TIOCGWINSZ, FIONREAD).
#pragma once

#include <cstdint>

#include "kernel/fs/console.h"
#include "kernel/fs/file.h"
#include "kernel/fs/linux_abi.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs {

// Terminal settings are remembered (TCSETS then TCGETS gives them back) but not applied:
// the Console is a raw byte stream, so there is no line editing, echo or signal keys.
class TtyDevice final : public FileOps {
 public:
  // The window size a serial console cannot tell: 80x24.
  static constexpr uint16_t kDefaultColumns = 80;
  static constexpr uint16_t kDefaultRows = 24;

  explicit TtyDevice(Console& console);
  // The host terminal's size, as TIOCGWINSZ reports it.
  void set_window_size(uint16_t rows, uint16_t columns) { m_window = {rows, columns, 0, 0}; }

  Result<size_t> read(File& file, std::span<std::byte> buffer, IoFlags flags) override;
  Result<size_t> write(File& file, std::span<const std::byte> data, IoFlags flags) override;
  // TCGETS, TCSETS/TCSETSW/TCSETSF, TIOCGWINSZ, TIOCSWINSZ, FIONREAD, TIOCGPGRP,
  // TIOCSPGRP, TIOCSCTTY; anything else is ENOTTY.
  Result<int64_t> ioctl(File& file, uint32_t request, uintptr_t argument) override;
  uint32_t poll(File& file) override;
  PollQueue* poll_queue(File&) override { return &m_console.poll_queue(); }
  // O_ASYNC: SIGIO when input arrives (Linux's tty_fasync).
  bool signals_readiness() const override { return true; }

  // Linux's tty_std_termios: 38400 8N1, ICRNL IXON, OPOST ONLCR, ICANON ECHO ISIG...
  static linux_abi::Termios default_termios();

 private:
  Console& m_console;
  Mutex m_lock;  // guards the settings below
  linux_abi::Termios m_termios;
  linux_abi::Winsize m_window{kDefaultRows, kDefaultColumns, 0, 0};
  int m_foreground_group = 1;  // the one process's id
};

}  // namespace nimbus::fs
