// ProgressLine: "nimbus: packing 1234/5678 files, 45.1M/120.3M" on stderr while a large image is
// packed, rewritten in place; shown only on a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>

class ProgressLine {
 public:
  // Below this many bytes of files an image packs in well under a second: no line.
  static constexpr std::uint64_t kMinBytes = std::uint64_t{16} << 20;

  // On std::cerr, when stderr is a terminal and the image is large enough.
  ProgressLine(std::uint64_t total_files, std::uint64_t total_bytes);
  // On `out` when `enabled` (for tests).
  ProgressLine(std::ostream& out, bool enabled, std::uint64_t total_files,
               std::uint64_t total_bytes);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  // Erases the line, so what follows starts on a clean one.
  ~ProgressLine();

  // One more file of `bytes` bytes is packed; redraws at most ten times a second.
  void file_done(std::uint64_t bytes);

 private:
  void draw();

  std::ostream& m_out;
  bool m_enabled;
  std::uint64_t m_total_files;
  std::uint64_t m_total_bytes;
  std::uint64_t m_files = 0;
  std::uint64_t m_bytes = 0;
  bool m_drawn = false;
  std::chrono::steady_clock::time_point m_last_draw;
};
