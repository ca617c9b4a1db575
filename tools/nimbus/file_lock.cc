// FileLock: an advisory flock(2) lock held on an open file or directory until destroyed.
//
// flock locks belong to the open file description, so two FileLocks on one path conflict even
// within one process, and the lock goes away with the descriptor if nimbus dies.
#include "file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "text.h"

namespace {

int flock_operation(FileLock::Mode mode) {
  return mode == FileLock::Mode::Shared ? LOCK_SH : LOCK_EX;
}

}  // namespace

bool FileLock::lock(int fd, int operation) {
  while (::flock(fd, operation) != 0)
    if (errno != EINTR) return false;
  return true;
}

// O_CLOEXEC throughout: QEMU must not inherit a lock and keep it past our exit.
CliResult<FileLock> FileLock::acquire(const std::filesystem::path& path, Mode mode) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0 && lock(fd, flock_operation(mode))) return FileLock(fd);
  int error = errno;
  if (fd >= 0) ::close(fd);
  return cli_error(exit_status::kCliFailure,
                   cat("cannot lock ", path.string(), ": ", std::strerror(error)));
}

std::optional<FileLock> FileLock::acquire_existing(const std::filesystem::path& path, Mode mode) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  if (!lock(fd, flock_operation(mode))) {
    ::close(fd);
    return std::nullopt;
  }
  return FileLock(fd);
}

std::optional<FileLock> FileLock::try_acquire(const std::filesystem::path& path, Mode mode) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  if (!lock(fd, flock_operation(mode) | LOCK_NB)) {
    ::close(fd);
    return std::nullopt;
  }
  return FileLock(fd);
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (m_fd >= 0) ::close(m_fd);
}
