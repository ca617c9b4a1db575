// FdTable: a growable slot array scanned from a lowest-free hint.
#include "kernel/fs/fd_table.h"

#include <new>
#include <utility>

#include "kernel/fs/file_locks.h"

namespace nimbus::fs {

using namespace linux_abi;

namespace {
constexpr size_t kInitialSlots = 64;

// A File leaving a descriptor. Linux drops the table's POSIX locks on the file at any close of
// one of its descriptors; that happens here, after the table's lock is released.
class ClosingFile {
 public:
  explicit ClosingFile(const FdTable& table) : m_owner(posix_lock_owner(table)) {}
  ~ClosingFile() {
    if (file && file->vnode()) release_posix_locks(*file->vnode(), m_owner);
  }
  ClosingFile(const ClosingFile&) = delete;
  ClosingFile& operator=(const ClosingFile&) = delete;

  RefPtr<File> file;

 private:
  LockOwner m_owner;
};

}  // namespace

FdTable::~FdTable() {
  for (size_t i = 0; i < m_capacity; i++) {
    const RefPtr<File>& file = m_slots[i].file;
    if (file && file->vnode()) release_posix_locks(*file->vnode(), posix_lock_owner(*this));
    m_slots[i].~Slot();
  }
  ::operator delete(m_slots);
}

Result<> FdTable::grow_locked(size_t count) {
  if (count <= m_capacity) return {};
  if (count > kMaxLimit) return error(Errno::emfile);
  size_t capacity = m_capacity ? m_capacity : kInitialSlots;
  while (capacity < count) capacity *= 2;
  auto* slots = static_cast<Slot*>(::operator new(capacity * sizeof(Slot), kNoThrow));
  if (!slots) return error(Errno::enomem);
  for (size_t i = 0; i < capacity; i++) new (&slots[i]) Slot;
  for (size_t i = 0; i < m_capacity; i++) {
    slots[i] = std::move(m_slots[i]);
    m_slots[i].~Slot();
  }
  ::operator delete(m_slots);
  m_slots = slots;
  m_capacity = capacity;
  return {};
}

Result<> FdTable::copy_from(const FdTable& other) {
  MutexGuard theirs(other.m_lock);
  MutexGuard guard(m_lock);
  TRY(grow_locked(other.m_capacity));
  for (size_t i = 0; i < other.m_capacity; i++) m_slots[i] = other.m_slots[i];
  m_open = other.m_open;
  m_first_free = other.m_first_free;
  m_limit = other.m_limit;
  return {};
}

bool FdTable::is_open_locked(int fd) const {
  return fd >= 0 && static_cast<size_t>(fd) < m_capacity && m_slots[fd].file;
}

Result<int> FdTable::find_free_locked(size_t minimum) {
  size_t fd = minimum > m_first_free ? minimum : m_first_free;
  while (fd < m_capacity && m_slots[fd].file) fd++;
  if (fd >= m_limit) return error(Errno::emfile);
  TRY(grow_locked(fd + 1));
  return static_cast<int>(fd);
}

Result<int> FdTable::install(RefPtr<File> file, bool cloexec, int minimum) {
  if (minimum < 0) return error(Errno::einval);
  MutexGuard guard(m_lock);
  int fd = TRY(find_free_locked(static_cast<size_t>(minimum)));
  m_slots[fd] = Slot{std::move(file), cloexec};
  m_open++;
  if (static_cast<size_t>(fd) == m_first_free) m_first_free++;
  return fd;
}

Result<RefPtr<File>> FdTable::get(int fd) const {
  MutexGuard guard(m_lock);
  if (!is_open_locked(fd)) return error(Errno::ebadf);
  return m_slots[fd].file;
}

Result<> FdTable::close(int fd) {
  ClosingFile closed(*this);  // released after the lock
  MutexGuard guard(m_lock);
  if (!is_open_locked(fd)) return error(Errno::ebadf);
  closed.file = std::move(m_slots[fd].file);
  m_slots[fd].cloexec = false;
  m_open--;
  if (static_cast<size_t>(fd) < m_first_free) m_first_free = fd;
  return {};
}

Result<int> FdTable::dup(int fd) { return dup_at_least(fd, 0, false); }

Result<int> FdTable::dup_at_least(int fd, int minimum, bool cloexec) {
  if (minimum < 0) return error(Errno::einval);
  RefPtr<File> file = TRY(get(fd));
  if (static_cast<uint64_t>(minimum) >= limit()) return error(Errno::einval);
  return install(std::move(file), cloexec, minimum);
}

Result<int> FdTable::dup2(int old_fd, int new_fd) {
  {
    MutexGuard guard(m_lock);
    if (!is_open_locked(old_fd)) return error(Errno::ebadf);
    if (old_fd == new_fd) return new_fd;
  }
  return dup3(old_fd, new_fd, 0);
}

Result<int> FdTable::dup3(int old_fd, int new_fd, uint32_t flags) {
  if (flags & ~o_cloexec) return error(Errno::einval);
  if (old_fd == new_fd) return error(Errno::einval);
  ClosingFile replaced(*this);  // released after the lock
  MutexGuard guard(m_lock);
  if (!is_open_locked(old_fd)) return error(Errno::ebadf);
  if (new_fd < 0 || static_cast<uint64_t>(new_fd) >= m_limit) return error(Errno::ebadf);
  TRY(grow_locked(static_cast<size_t>(new_fd) + 1));
  Slot& slot = m_slots[new_fd];
  replaced.file = std::move(slot.file);
  if (!replaced.file) m_open++;
  slot.file = m_slots[old_fd].file;
  slot.cloexec = flags & o_cloexec;
  if (static_cast<size_t>(new_fd) == m_first_free) {
    while (m_first_free < m_capacity && m_slots[m_first_free].file) m_first_free++;
  }
  return new_fd;
}

Result<uint32_t> FdTable::descriptor_flags(int fd) const {
  MutexGuard guard(m_lock);
  if (!is_open_locked(fd)) return error(Errno::ebadf);
  return m_slots[fd].cloexec ? fd_cloexec : 0;
}

Result<> FdTable::set_descriptor_flags(int fd, uint32_t flags) {
  MutexGuard guard(m_lock);
  if (!is_open_locked(fd)) return error(Errno::ebadf);
  m_slots[fd].cloexec = flags & fd_cloexec;
  return {};
}

Result<> FdTable::close_range(uint32_t first, uint32_t last, uint32_t flags) {
  if (flags & ~(close_range_unshare | close_range_cloexec)) return error(Errno::einval);
  if (first > last) return error(Errno::einval);
  size_t fd = first;
  while (true) {
    ClosingFile closed(*this);  // one at a time, each released after the lock
    MutexGuard guard(m_lock);
    size_t end = last < m_capacity ? static_cast<size_t>(last) + 1 : m_capacity;
    while (fd < end && !m_slots[fd].file) fd++;
    if (fd >= end) return {};
    if (flags & close_range_cloexec) {
      m_slots[fd].cloexec = true;
    } else {
      closed.file = std::move(m_slots[fd].file);
      m_slots[fd].cloexec = false;
      m_open--;
      if (fd < m_first_free) m_first_free = fd;
    }
    fd++;
  }
}

void FdTable::close_on_exec() {
  size_t fd = 0;
  while (true) {
    ClosingFile closed(*this);
    MutexGuard guard(m_lock);
    while (fd < m_capacity && !(m_slots[fd].file && m_slots[fd].cloexec)) fd++;
    if (fd >= m_capacity) return;
    closed.file = std::move(m_slots[fd].file);
    m_slots[fd].cloexec = false;
    m_open--;
    if (fd < m_first_free) m_first_free = fd;
  }
}

uint64_t FdTable::limit() const {
  MutexGuard guard(m_lock);
  return m_limit;
}

Result<> FdTable::set_limit(uint64_t limit) {
  if (limit > kMaxLimit) return error(Errno::eperm);
  MutexGuard guard(m_lock);
  m_limit = limit;
  return {};
}

size_t FdTable::open_count() const {
  MutexGuard guard(m_lock);
  return m_open;
}

}  // namespace nimbus::fs
