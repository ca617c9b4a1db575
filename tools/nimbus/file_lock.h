// FileLock: an advisory flock(2) lock held on an open file or directory until destroyed.
#pragma once

#include <filesystem>
#include <optional>

#include "cli_error.h"

class FileLock {
 public:
  enum class Mode { Shared, Exclusive };

  // Waits for the lock on the file `path`, created if missing. Fails (kCliFailure) when it cannot
  // be opened.
  static CliResult<FileLock> acquire(const std::filesystem::path& path, Mode mode);
  // Waits for the lock on an existing file or directory; nothing when `path` is missing.
  static std::optional<FileLock> acquire_existing(const std::filesystem::path& path, Mode mode);
  // Without waiting: nothing when another holder's lock conflicts or `path` is missing.
  static std::optional<FileLock> try_acquire(const std::filesystem::path& path, Mode mode);

  FileLock(FileLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  int fd() const { return m_fd; }

 private:
  explicit FileLock(int fd) : m_fd(fd) {}
  // flock(2), retried after signals; false when it fails (EWOULDBLOCK with LOCK_NB).
  static bool lock(int fd, int operation);

  int m_fd = -1;
};
