// FdTable: the process's file descriptors, each a File reference plus its FD_CLOEXEC bit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/fs/file.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs {

// New descriptors are always the lowest free number at or above the minimum asked for, and
// below the limit (RLIMIT_NOFILE's soft value; lowering it keeps descriptors above it
// open). Every method is thread safe; Files are released after the table's lock is dropped.
class FdTable {
 public:
  static constexpr uint64_t kDefaultLimit = 1024;
  // Linux's fs.nr_open default: the most RLIMIT_NOFILE may be raised to.
  static constexpr uint64_t kMaxLimit = 1 << 20;

  FdTable() = default;
  FdTable(const FdTable&) = delete;
  FdTable& operator=(const FdTable&) = delete;
  ~FdTable();

  // The lowest free descriptor >= minimum: EMFILE when none is below the limit.
  Result<int> install(RefPtr<File> file, bool cloexec, int minimum = 0);
  // EBADF when `fd` is not open.
  Result<RefPtr<File>> get(int fd) const;
  Result<> close(int fd);

  Result<int> dup(int fd);
  // dup2(2): `new_fd` names the same File as `old_fd`, closing what it held; returns
  // new_fd. EBADF for a bad old_fd or a new_fd outside [0, limit).
  Result<int> dup2(int old_fd, int new_fd);
  // dup3(2): as dup2, with O_CLOEXEC as the only flag; EINVAL if old_fd == new_fd.
  Result<int> dup3(int old_fd, int new_fd, uint32_t flags);
  // fcntl F_DUPFD / F_DUPFD_CLOEXEC: EINVAL for a minimum outside [0, limit).
  Result<int> dup_at_least(int fd, int minimum, bool cloexec);

  // fcntl F_GETFD / F_SETFD.
  Result<uint32_t> descriptor_flags(int fd) const;
  Result<> set_descriptor_flags(int fd, uint32_t flags);

  // close_range(2): closes (or with CLOSE_RANGE_CLOEXEC marks) [first, last]; descriptors
  // that are not open are skipped. CLOSE_RANGE_UNSHARE is accepted: there is one table.
  Result<> close_range(uint32_t first, uint32_t last, uint32_t flags);
  // fork: this (empty) table gets the same Files as `other` at the same numbers, with the
  // same FD_CLOEXEC bits and limit.
  Result<> copy_from(const FdTable& other);
  // execve: closes every FD_CLOEXEC descriptor.
  void close_on_exec();

  uint64_t limit() const;
  // setrlimit(RLIMIT_NOFILE)'s soft value: EPERM above kMaxLimit.
  Result<> set_limit(uint64_t limit);
  size_t open_count() const;

 private:
  struct Slot {
    RefPtr<File> file;
    bool cloexec = false;
  };

  // Makes slots [0, count) exist: ENOMEM (or EMFILE past the hard maximum).
  Result<> grow_locked(size_t count);
  // The lowest free slot >= minimum and below the limit, growing the table if needed.
  Result<int> find_free_locked(size_t minimum);
  bool is_open_locked(int fd) const;

  mutable Mutex m_lock;
  Slot* m_slots = nullptr;
  size_t m_capacity = 0;
  size_t m_open = 0;
  size_t m_first_free = 0;  // no free slot below this
  uint64_t m_limit = kDefaultLimit;
};

}  // namespace nimbus::fs
