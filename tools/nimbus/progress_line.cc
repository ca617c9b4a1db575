// ProgressLine: "nimbus: packing 1234/5678 files, 45.1M/120.3M" on stderr while a large image is
// packed, rewritten in place; shown only on a terminal.
#include "progress_line.h"

#include <unistd.h>

#include <iostream>

#include "cache_size.h"
#include "text.h"

namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
// Carriage return, then "erase to the end of the line" (ECMA-48 EL).
constexpr std::string_view kRestartLine = "\r\033[K";

}  // namespace

ProgressLine::ProgressLine(std::uint64_t total_files, std::uint64_t total_bytes)
    : ProgressLine(std::cerr, ::isatty(STDERR_FILENO) == 1 && total_bytes >= kMinBytes, total_files,
                   total_bytes) {}

ProgressLine::ProgressLine(std::ostream& out, bool enabled, std::uint64_t total_files,
                           std::uint64_t total_bytes)
    : m_out(out), m_enabled(enabled), m_total_files(total_files), m_total_bytes(total_bytes) {}

ProgressLine::~ProgressLine() {
  if (m_drawn) m_out << kRestartLine << std::flush;
}

void ProgressLine::file_done(std::uint64_t bytes) {
  ++m_files;
  m_bytes += bytes;
  if (!m_enabled) return;
  auto now = std::chrono::steady_clock::now();
  if (m_drawn && now - m_last_draw < kRedrawInterval) return;
  m_last_draw = now;
  draw();
}

void ProgressLine::draw() {
  m_out << kRestartLine
        << cat("nimbus: packing ", m_files, '/', m_total_files, " files, ", format_size(m_bytes),
               '/', format_size(m_total_bytes))
        << std::flush;
  m_drawn = true;
}
