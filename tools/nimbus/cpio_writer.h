// CpioWriter: writes an uncompressed cpio archive in the "newc" format (the Linux initramfs one).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "cli_error.h"

class CpioWriter {
 public:
  // newc stores sizes in 8 hex digits.
  static constexpr std::uint64_t kMaxFileSize = 0xffffffff;

  explicit CpioWriter(std::ostream& out) : m_out(out) {}

  // `path` is relative ("usr/bin/ls"); `permissions` are the low 12 mode bits; mtime in seconds.
  void add_directory(std::string_view path, std::uint32_t permissions, std::int64_t mtime);
  void add_symlink(std::string_view path, std::string_view target, std::int64_t mtime);
  void add_file(std::string_view path, std::uint32_t permissions, std::int64_t mtime,
                std::string_view contents);
  // Copies a host file into the archive; fails if it cannot be read or no longer has
  // `expected_size` bytes (it changed since it was chosen), leaving the archive unusable.
  CliResult<> add_host_file(std::string_view path, std::uint32_t permissions, std::int64_t mtime,
                            const std::string& host_path, std::uint64_t expected_size);
  // Writes the TRAILER!!! entry; the archive is complete once the stream is flushed.
  void finish();

 private:
  void write_header(std::string_view path, std::uint32_t mode, std::int64_t mtime,
                    std::uint64_t size, std::uint32_t nlink);
  void pad();

  std::ostream& m_out;
  std::uint64_t m_offset = 0;
  std::uint32_t m_next_inode = 1;
};
