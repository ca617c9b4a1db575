// File locks from the application's side: fcntl's record lock commands (struct flock) and
// flock(2), over the lock table in kernel/fs/file_locks.h.
#include "kernel/fs/file_locks.h"
#include "kernel/fs/fs.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/process.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"

namespace nimbus::linux {
namespace {

using namespace fs::linux_abi;

// struct flock (x86-64: the same layout as struct flock64).
struct LinuxFlock {
  int16_t type;
  int16_t whence;
  int64_t start;
  int64_t length;
  int32_t pid;
};
static_assert(sizeof(LinuxFlock) == 32);

constexpr int16_t kFRdlck = 0;
constexpr int16_t kFWrlck = 1;
constexpr int16_t kFUnlck = 2;
constexpr int kFOfdGetlk = 36;
constexpr int kFOfdSetlk = 37;
constexpr int kFOfdSetlkw = 38;

constexpr int kLockSh = 1;
constexpr int kLockEx = 2;
constexpr int kLockNb = 4;
constexpr int kLockUn = 8;

// Who owns the POSIX locks the caller takes, and the pid F_GETLK reports for them: the
// caller's descriptor table and its process (Linux's current->files and tgid).
struct PosixOwner {
  fs::LockOwner owner;
  int32_t pid;
};
PosixOwner current_posix_owner() { return {fs::posix_lock_owner(file_context().fds()), static_cast<int32_t>(current_process().pid)}; }

Result<fs::LockType> lock_type(int16_t type) {
  switch (type) {
    case kFRdlck: return fs::LockType::read;
    case kFWrlck: return fs::LockType::write;
    case kFUnlck: return fs::LockType::unlock;
    default: return error(Errno::einval);
  }
}

// struct flock's range against the file: l_whence picks the base (0, position, size).
Result<fs::LockRange> range_of(fs::File& file, const LinuxFlock& request) {
  int64_t base = 0;
  switch (request.whence) {
    case seek_set: break;
    case seek_cur: base = static_cast<int64_t>(file.position()); break;
    case seek_end: base = static_cast<int64_t>(TRY(file.stat()).size); break;
    default: return error(Errno::einval);
  }
  return fs::lock_range(base, request.start, request.length);
}

Result<long> get_lock(fs::File& file, LinuxFlock* user_request, bool ofd) {
  LinuxFlock request = TRY(user::read(user_request));
  fs::LockType type = TRY(lock_type(request.type));
  if (type == fs::LockType::unlock) return error(Errno::einval);
  if (ofd && request.pid != 0) return error(Errno::einval);
  fs::LockRange range = TRY(range_of(file, request));
  PosixOwner posix = current_posix_owner();
  fs::RecordLock asked{range.start, range.end, type, ofd ? fs::ofd_lock_owner(file) : posix.owner, 0};
  std::optional<fs::RecordLock> conflict = fs::test_record_lock(*file.vnode(), asked);
  if (!conflict) {
    request.type = kFUnlck;
  } else {
    request.type = conflict->type == fs::LockType::write ? kFWrlck : kFRdlck;
    request.whence = seek_set;
    request.start = static_cast<int64_t>(conflict->start);
    request.length = conflict->end == fs::kLockRangeEnd ? 0 : static_cast<int64_t>(conflict->end - conflict->start + 1);
    request.pid = conflict->pid;
  }
  TRY(user::write(user_request, request));
  return 0;
}

Result<long> set_lock(fs::File& file, const LinuxFlock* user_request, bool ofd, bool wait) {
  LinuxFlock request = TRY(user::read(user_request));
  fs::LockType type = TRY(lock_type(request.type));
  if (ofd && request.pid != 0) return error(Errno::einval);
  // A read lock needs a descriptor open for reading, a write lock one open for writing.
  if (type == fs::LockType::read && !file.is_readable()) return error(Errno::ebadf);
  if (type == fs::LockType::write && !file.is_writable()) return error(Errno::ebadf);
  fs::LockRange range = TRY(range_of(file, request));
  PosixOwner posix = current_posix_owner();
  fs::RecordLock lock{range.start, range.end, type, ofd ? fs::ofd_lock_owner(file) : posix.owner,
                      ofd ? -1 : posix.pid};
  TRY(fs::set_record_lock(*file.vnode(), lock, wait));
  return 0;
}

}  // namespace

bool is_lock_command(int command) {
  switch (command) {
    case f_getlk:
    case f_setlk:
    case f_setlkw:
    case kFOfdGetlk:
    case kFOfdSetlk:
    case kFOfdSetlkw: return true;
    default: return false;
  }
}

Result<long> fcntl_lock(int fd, int command, uint64_t argument) {
  RefPtr<fs::File> file = TRY(file_context().fds().get(fd));
  if (file->is_path_only()) return error(Errno::ebadf);
  auto* request = reinterpret_cast<LinuxFlock*>(argument);
  switch (command) {
    case f_getlk: return get_lock(*file, request, false);
    case kFOfdGetlk: return get_lock(*file, request, true);
    case f_setlk: return set_lock(*file, request, false, false);
    case f_setlkw: return set_lock(*file, request, false, true);
    case kFOfdSetlk: return set_lock(*file, request, true, false);
    default: return set_lock(*file, request, true, true);
  }
}

Result<long> sys_flock(int fd, int operation) {
  fs::FlockOperation op;
  switch (operation & ~kLockNb) {
    case kLockSh: op = fs::FlockOperation::shared; break;
    case kLockEx: op = fs::FlockOperation::exclusive; break;
    case kLockUn: op = fs::FlockOperation::unlock; break;
    default: return error(Errno::einval);
  }
  RefPtr<fs::File> file = TRY(file_context().fds().get(fd));
  if (file->is_path_only()) return error(Errno::ebadf);
  TRY(fs::flock(*file, op, !(operation & kLockNb)));
  return 0;
}

}  // namespace nimbus::linux
