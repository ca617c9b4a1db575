// Files: thin wrappers over the file layer's facade (kernel/fs/fs.h). Each checks and
// copies the application's pointers, then lets fs:: do the work with Linux's semantics.
#include <algorithm>
#include <cstring>

#include "kernel/fs/fs.h"
#include "kernel/fs/pipe.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/process.h"
#include "kernel/linux/resource_limits.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/socket_file.h"
#include "kernel/linux/socket_interface_ioctls.h"
#include "kernel/linux/stat_abi.h"
#include "kernel/linux/volumes.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/linux/user_vectors.h"
#include "kernel/mm/heap.h"
#include "kernel/mm/physical.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/socket.h"
#include "kernel/net/socket_abi.h"

namespace nimbus::linux {
namespace {

constexpr size_t kPathMax = 4096;
constexpr int kAtFdcwd = fs::linux_abi::at_fdcwd;
constexpr uint32_t kAtSymlinkNofollow = fs::linux_abi::at_symlink_nofollow;
constexpr uint32_t kAtRemovedir = fs::linux_abi::at_removedir;

// A path copied out of the application, on the heap (PATH_MAX is too big for kernel stacks).
class UserPath {
 public:
  UserPath() : m_buffer(static_cast<char*>(heap::allocate(kPathMax))) {}
  ~UserPath() { heap::free(m_buffer); }
  UserPath(const UserPath&) = delete;
  UserPath& operator=(const UserPath&) = delete;
  Result<std::string_view> load(const char* user_path) {
    if (!m_buffer) return error(Errno::enomem);
    if (!user_path) return error(Errno::efault);
    size_t length = TRY(user::copy_string(m_buffer, user_path, kPathMax));
    return std::string_view(m_buffer, length);
  }

 private:
  char* m_buffer;
};

fs::FsContext& context() { return file_context(); }

Result<RefPtr<fs::File>> file(int fd) { return context().fds().get(fd); }

template <typename T>
Result<> write_out(T* destination, const T& value) {
  return user::write(destination, value);
}

// A write or truncation past RLIMIT_FSIZE (EFBIG while a limit is set) raises SIGXFSZ.
template <typename T>
Result<T> after_file_size_check(Result<T> outcome) {
  if (!outcome && outcome.error() == Errno::efbig && soft_resource_limit(kRlimitFsize) != kRlimInfinity)
    (void)send_signal(current_linux_thread().tid, kSigxfsz, kSiKernel);
  return outcome;
}

// Writes that hit a closed pipe also raise SIGPIPE, as Linux does.
Result<long> after_write(Result<size_t> written) {
  written = after_file_size_check(written);
  if (!written && written.error() == Errno::epipe) (void)send_signal(current_linux_thread().tid, kSigpipe, kSiKernel);
  if (!written) return error(written.error());
  return static_cast<long>(*written);
}

// A socket other than a stream (seqpacket, datagram) answers EPIPE without SIGPIPE, as
// Linux's unix_dgram_sendmsg does.
Result<long> after_write(Result<size_t> written, const fs::File& file) {
  fs::FileOps* ops = file.ops();
  if (!written && ops && ops->type_tag() == &net::Socket::kTypeTag &&
      static_cast<net::Socket*>(ops)->type() != net::abi::sock_stream)
    return error(written.error());
  return after_write(written);
}

// A program buffer handed to a file, pipe or socket as a span: their copies use memcpy, whose
// faults on program memory end the call with EFAULT (kernel/lib/string.cc).
std::span<std::byte> user_buffer(UserPtr<void> buffer, size_t count) {
  return {reinterpret_cast<std::byte*>(buffer.address()), count};
}
std::span<const std::byte> user_data(UserPtr<const void> buffer, size_t count) {
  return {reinterpret_cast<const std::byte*>(buffer.address()), count};
}

Result<long> stat_common(int dirfd, const char* path, LinuxStat* out, uint32_t flags) {
  UserPath p;
  std::string_view name = TRY(p.load(path));
  fs::Stat s = TRY(fs::stat(context(), dirfd, name, flags));
  TRY(write_out(out, to_linux_stat(s)));
  return 0;
}

}  // namespace

Result<long> sys_read(int fd, UserPtr<void> buffer, size_t count) {
  if (!user::writable(buffer, count)) return error(Errno::efault);
  return static_cast<long>(TRY(TRY(file(fd))->read(user_buffer(buffer, count))));
}

Result<long> sys_write(int fd, UserPtr<const void> buffer, size_t count) {
  if (!user::readable(buffer, count)) return error(Errno::efault);
  RefPtr<fs::File> f = TRY(file(fd));
  return after_write(f->write(user_data(buffer, count)), *f);
}

Result<long> sys_pread64(int fd, UserPtr<void> buffer, size_t count, int64_t offset) {
  if (!user::writable(buffer, count)) return error(Errno::efault);
  return static_cast<long>(TRY(TRY(file(fd))->pread(user_buffer(buffer, count), offset)));
}

Result<long> sys_pwrite64(int fd, UserPtr<const void> buffer, size_t count, int64_t offset) {
  if (!user::readable(buffer, count)) return error(Errno::efault);
  return after_write(TRY(file(fd))->pwrite(user_data(buffer, count), offset));
}

// The iovec array, copied in: readv and writev then never read the program's copy again; the
// transfer stops short at the first byte that cannot be reached, as Linux's.
Result<> load_vectors(UserVectors& loaded, const IoVec* vectors, int count, UserVectors::Direction direction) {
  if (count < 0) return error(Errno::einval);
  return loaded.load(vectors, static_cast<uint64_t>(count), direction, Errno::einval,
                     UserVectors::Unreachable::shorten);
}

Result<long> sys_readv(int fd, const IoVec* vectors, int count) {
  UserVectors v;
  TRY(load_vectors(v, vectors, count, UserVectors::Direction::into_program));
  return static_cast<long>(TRY(TRY(file(fd))->readv(v.span())));
}

Result<long> sys_writev(int fd, const IoVec* vectors, int count) {
  UserVectors v;
  TRY(load_vectors(v, vectors, count, UserVectors::Direction::out_of_program));
  RefPtr<fs::File> f = TRY(file(fd));
  return after_write(f->writev(v.span()), *f);
}

Result<long> sys_preadv(int fd, const IoVec* vectors, int count, int64_t offset) {
  UserVectors v;
  TRY(load_vectors(v, vectors, count, UserVectors::Direction::into_program));
  return static_cast<long>(TRY(TRY(file(fd))->preadv(v.span(), offset)));
}

Result<long> sys_pwritev(int fd, const IoVec* vectors, int count, int64_t offset) {
  UserVectors v;
  TRY(load_vectors(v, vectors, count, UserVectors::Direction::out_of_program));
  return after_write(TRY(file(fd))->pwritev(v.span(), offset));
}

Result<long> sys_open(const char* path, int flags, uint32_t mode) { return sys_openat(kAtFdcwd, path, flags, mode); }

Result<long> sys_openat(int dirfd, const char* path, int flags, uint32_t mode) {
  UserPath p;
  std::string_view name = TRY(p.load(path));
  TRY(check_open_permission(dirfd, name, static_cast<uint32_t>(flags)));
  return TRY(fs::open(context(), dirfd, name, static_cast<uint32_t>(flags), mode));
}

Result<long> sys_close(int fd) {
  TRY(fs::close(context(), fd));
  return 0;
}

Result<long> sys_lseek(int fd, int64_t offset, int whence) { return TRY(fs::lseek(context(), fd, offset, whence)); }

Result<long> sys_fstat(int fd, LinuxStat* out) {
  fs::Stat s = TRY(fs::fstat(context(), fd));
  TRY(write_out(out, to_linux_stat(s)));
  return 0;
}

Result<long> sys_stat(const char* path, LinuxStat* out) { return stat_common(kAtFdcwd, path, out, 0); }
Result<long> sys_lstat(const char* path, LinuxStat* out) { return stat_common(kAtFdcwd, path, out, kAtSymlinkNofollow); }
Result<long> sys_newfstatat(int dirfd, const char* path, LinuxStat* out, int flags) {
  return stat_common(dirfd, path, out, static_cast<uint32_t>(flags));
}

Result<long> sys_statx(int dirfd, const char* path, int flags, unsigned mask, LinuxStatx* out) {
  (void)mask;  // everything basic is always there
  UserPath p;
  std::string_view name = TRY(p.load(path));
  fs::Stat s = TRY(fs::stat(context(), dirfd, name, static_cast<uint32_t>(flags)));
  TRY(write_out(out, to_linux_statx(s)));
  return 0;
}

namespace {
// The getdents buffer: count is an unsigned int, above INT_MAX EINVAL. Linux writes record by
// record and returns what it wrote before the first that faults, so only the writable prefix
// of the buffer is used (EFAULT if none is).
Result<std::span<std::byte>> dirent_buffer(void* buffer, size_t count) {
  count = static_cast<uint32_t>(count);
  if (count > static_cast<size_t>(INT32_MAX)) return error(Errno::einval);
  size_t usable = 0;
  if (user::writable(buffer, count)) {
    usable = count;
  } else {
    auto start = reinterpret_cast<uintptr_t>(buffer);
    while (usable < count) {
      size_t chunk = std::min<size_t>(count - usable, kPageSize - (start + usable) % kPageSize);
      if (!user::writable(reinterpret_cast<void*>(start + usable), chunk)) break;
      usable += chunk;
    }
    if (usable == 0) return error(Errno::efault);
  }
  return user_buffer(buffer, usable);
}
}  // namespace

Result<long> sys_getdents64(int fd, void* buffer, size_t count) {
  std::span<std::byte> records = TRY(dirent_buffer(buffer, count));
  return static_cast<long>(TRY(TRY(file(fd))->getdents64(records)));
}

Result<long> sys_getdents(int fd, void* buffer, size_t count) {
  std::span<std::byte> records = TRY(dirent_buffer(buffer, count));
  return static_cast<long>(TRY(TRY(file(fd))->getdents64(records, fs::DirentLayout::linux_dirent)));
}

Result<long> sys_fcntl(int fd, int command, uint64_t argument) {
  if (is_lock_command(command)) return fcntl_lock(fd, command, argument);
  if (is_owner_command(command)) return fcntl_owner(fd, command, argument);
  return TRY(fs::fcntl(context(), fd, command, argument));
}

Result<long> sys_dup(int fd) { return TRY(context().fds().dup(fd)); }
Result<long> sys_dup2(int old_fd, int new_fd) { return TRY(context().fds().dup2(old_fd, new_fd)); }
Result<long> sys_dup3(int old_fd, int new_fd, int flags) {
  return TRY(context().fds().dup3(old_fd, new_fd, static_cast<uint32_t>(flags)));
}

Result<long> sys_ioctl(int fd, unsigned long request, uintptr_t argument) {
  // Every socket, whatever its family, answers questions about the interfaces (sock_ioctl).
  if (is_interface_ioctl(static_cast<uint32_t>(request))) {
    RefPtr<fs::File> holder;
    if (socket_of(fd, holder)) return interface_ioctl(net::kernel_net_stack(), static_cast<uint32_t>(request), argument);
  }
  size_t size = fs::ioctl_argument_size(static_cast<uint32_t>(request));
  if (size && !user::writable(reinterpret_cast<void*>(argument), size)) return error(Errno::efault);
  return TRY(fs::ioctl(context(), fd, static_cast<uint32_t>(request), argument));
}

Result<long> sys_access(const char* path, int mode) { return sys_faccessat2(kAtFdcwd, path, mode, 0); }
Result<long> sys_faccessat(int dirfd, const char* path, int mode) { return sys_faccessat2(dirfd, path, mode, 0); }
Result<long> sys_faccessat2(int dirfd, const char* path, int mode, int flags) {
  UserPath p;
  std::string_view name = TRY(p.load(path));
  TRY(fs::access(context(), dirfd, name, static_cast<uint32_t>(mode), static_cast<uint32_t>(flags)));
  TRY(check_access_permission(dirfd, name, static_cast<uint32_t>(mode), static_cast<uint32_t>(flags)));
  return 0;
}

Result<long> sys_readlink(const char* path, char* buffer, int size) { return sys_readlinkat(kAtFdcwd, path, buffer, size); }
Result<long> sys_readlinkat(int dirfd, const char* path, char* buffer, int size) {
  if (size <= 0) return error(Errno::einval);
  if (!user::writable(buffer, static_cast<size_t>(size))) return error(Errno::efault);
  UserPath p;
  std::string_view name = TRY(p.load(path));
  return static_cast<long>(TRY(fs::readlink(context(), dirfd, name, {buffer, static_cast<size_t>(size)})));
}

Result<long> sys_getcwd(char* buffer, size_t size) {
  if (!user::writable(buffer, size)) return error(Errno::efault);
  return static_cast<long>(TRY(fs::getcwd(context(), {buffer, size})));
}

Result<long> sys_chdir(const char* path) {
  UserPath p;
  TRY(fs::chdir(context(), TRY(p.load(path))));
  return 0;
}

Result<long> sys_fchdir(int fd) {
  TRY(fs::fchdir(context(), fd));
  return 0;
}

Result<long> sys_mkdir(const char* path, uint32_t mode) { return sys_mkdirat(kAtFdcwd, path, mode); }
Result<long> sys_mkdirat(int dirfd, const char* path, uint32_t mode) {
  UserPath p;
  TRY(fs::mkdir(context(), dirfd, TRY(p.load(path)), mode));
  return 0;
}

Result<long> sys_mknod(const char* path, uint32_t mode, uint32_t device) {
  return sys_mknodat(kAtFdcwd, path, mode, device);
}
Result<long> sys_mknodat(int dirfd, const char* path, uint32_t mode, uint32_t device) {
  UserPath p;
  // The 32-bit dev_t's split (Linux's new_decode_dev): minor bits 0-7 and 20-31, major 8-19.
  uint32_t major = (device & 0xfff00) >> 8;
  uint32_t minor = (device & 0xff) | ((device >> 12) & 0xfff00);
  TRY(fs::mknod(context(), dirfd, TRY(p.load(path)), mode, major, minor));
  return 0;
}

Result<long> sys_creat(const char* path, uint32_t mode) {
  return sys_openat(kAtFdcwd, path, static_cast<int>(fs::linux_abi::o_creat | fs::linux_abi::o_wronly | fs::linux_abi::o_trunc), mode);
}

Result<long> sys_fadvise64(int fd, int64_t, int64_t length, int advice) {
  RefPtr<fs::File> f = TRY(file(fd));
  // File data lives in memory, so there is nothing to read ahead or drop: the advice is
  // checked as Linux checks it (POSIX_FADV_NORMAL ... POSIX_FADV_NOREUSE) and accepted.
  if (f->vnode()->type() == fs::VnodeType::fifo || (f->ops() && f->ops()->as_pipe())) return error(Errno::espipe);
  if (length < 0 || advice < 0 || advice > 5) return error(Errno::einval);
  return 0;
}

// readahead(2): Linux's checks (a descriptor open for reading, on a regular file), then the
// advice is accepted as fadvise64's WILLNEED is: reads fill the page cache with their own
// readahead window.
Result<long> sys_readahead(int fd, int64_t, size_t) {
  RefPtr<fs::File> f = TRY(file(fd));
  if (f->is_path_only() || (f->flags() & fs::linux_abi::o_accmode) == fs::linux_abi::o_wronly)
    return error(Errno::ebadf);
  if (f->ops() || !f->vnode()->is_regular()) return error(Errno::einval);
  return 0;
}

Result<long> sys_rmdir(const char* path) { return sys_unlinkat(kAtFdcwd, path, static_cast<int>(kAtRemovedir)); }
Result<long> sys_unlink(const char* path) { return sys_unlinkat(kAtFdcwd, path, 0); }
Result<long> sys_unlinkat(int dirfd, const char* path, int flags) {
  UserPath p;
  TRY(fs::unlink(context(), dirfd, TRY(p.load(path)), static_cast<uint32_t>(flags)));
  return 0;
}

Result<long> sys_rename(const char* old_path, const char* new_path) {
  return sys_renameat2(kAtFdcwd, old_path, kAtFdcwd, new_path, 0);
}
Result<long> sys_renameat(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path) {
  return sys_renameat2(old_dirfd, old_path, new_dirfd, new_path, 0);
}
Result<long> sys_renameat2(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path, unsigned flags) {
  UserPath a, b;
  std::string_view from = TRY(a.load(old_path));
  std::string_view to = TRY(b.load(new_path));
  TRY(fs::rename(context(), old_dirfd, from, new_dirfd, to, flags));
  return 0;
}

Result<long> sys_symlink(const char* target, const char* path) { return sys_symlinkat(target, kAtFdcwd, path); }
Result<long> sys_symlinkat(const char* target, int dirfd, const char* path) {
  UserPath a, b;
  std::string_view to = TRY(a.load(target));
  std::string_view name = TRY(b.load(path));
  TRY(fs::symlink(context(), to, dirfd, name));
  return 0;
}

Result<long> sys_link(const char* old_path, const char* new_path) {
  return sys_linkat(kAtFdcwd, old_path, kAtFdcwd, new_path, 0);
}
Result<long> sys_linkat(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path, int flags) {
  UserPath a, b;
  std::string_view from = TRY(a.load(old_path));
  std::string_view to = TRY(b.load(new_path));
  TRY(fs::link(context(), old_dirfd, from, new_dirfd, to, static_cast<uint32_t>(flags)));
  return 0;
}

Result<long> sys_truncate(const char* path, int64_t length) {
  UserPath p;
  TRY(after_file_size_check(fs::truncate(context(), TRY(p.load(path)), length)));
  return 0;
}

Result<long> sys_ftruncate(int fd, int64_t length) {
  TRY(after_file_size_check(TRY(file(fd))->truncate(length)));
  return 0;
}

// fallocate(2): the checks of Linux's vfs_fallocate, in its order, then the file system's own
// (EOPNOTSUPP where it has none).
Result<long> sys_fallocate(int fd, int mode, int64_t offset, int64_t length) {
  using namespace fs::linux_abi;
  RefPtr<fs::File> f = TRY(file(fd));
  auto bits = static_cast<uint32_t>(mode);
  constexpr uint32_t kSupported = falloc_keep_size | falloc_punch_hole | falloc_collapse_range | falloc_zero_range |
                                  falloc_insert_range | falloc_unshare_range;
  if (offset < 0 || length <= 0) return error(Errno::einval);
  if (bits & ~kSupported) return error(Errno::eopnotsupp);
  if ((bits & falloc_punch_hole) && (bits & falloc_zero_range)) return error(Errno::eopnotsupp);
  if ((bits & falloc_punch_hole) && !(bits & falloc_keep_size)) return error(Errno::eopnotsupp);
  if ((bits & falloc_collapse_range) && (bits & ~falloc_collapse_range)) return error(Errno::einval);
  if ((bits & falloc_insert_range) && (bits & ~falloc_insert_range)) return error(Errno::einval);
  if ((bits & falloc_unshare_range) && (bits & ~(falloc_unshare_range | falloc_keep_size))) return error(Errno::einval);
  if (f->is_path_only() || !f->is_writable()) return error(Errno::ebadf);
  const RefPtr<fs::Vnode>& vnode = f->vnode();
  bool pipe = f->ops() && f->ops()->as_pipe();
  if (pipe || (vnode && vnode->type() == fs::VnodeType::fifo)) return error(Errno::espipe);
  if (vnode && vnode->is_directory()) return error(Errno::eisdir);
  if (!vnode || !vnode->is_regular()) return error(Errno::enodev);
  auto end = static_cast<uint64_t>(offset) + static_cast<uint64_t>(length);
  if (end > static_cast<uint64_t>(INT64_MAX)) return error(Errno::efbig);
  // A size that grows past RLIMIT_FSIZE is EFBIG with SIGXFSZ, as a write would be.
  if (!(bits & falloc_keep_size) && end > fs::file_size_limit() && end > vnode->stat().size)
    return after_file_size_check(Result<long>(error(Errno::efbig)));
  TRY(after_file_size_check(vnode->allocate(bits, static_cast<uint64_t>(offset), static_cast<uint64_t>(length))));
  return 0;
}

Result<long> sys_fsync(int fd) {
  // The whole file system's changes: ext4 writes every dirty block and flushes the disk.
  RefPtr<fs::File> opened = TRY(file(fd));
  if (const RefPtr<fs::Vnode>& vnode = opened->vnode()) TRY(vnode->fs().sync());
  return 0;
}
Result<long> sys_fdatasync(int fd) { return sys_fsync(fd); }
Result<long> sys_syncfs(int fd) { return sys_fsync(fd); }
Result<long> sys_sync_file_range(int fd, int64_t offset, int64_t length, unsigned flags) {
  constexpr unsigned kWaitBefore = 1, kWrite = 2, kWaitAfter = 4;  // SYNC_FILE_RANGE_*
  if (flags & ~(kWaitBefore | kWrite | kWaitAfter)) return error(Errno::einval);
  if (offset < 0 || length < 0 || (length && offset > INT64_MAX - length)) return error(Errno::einval);
  RefPtr<fs::File> opened = TRY(file(fd));
  const RefPtr<fs::Vnode>& vnode = opened->vnode();
  if (!vnode || vnode->type() == fs::VnodeType::fifo || vnode->type() == fs::VnodeType::socket)
    return error(Errno::espipe);
  // Writing the pages of the range means a commit of the volume here (ordered mode writes every
  // dirty page first anyway): more than Linux promises, never less.
  if (flags & (kWrite | kWaitAfter)) TRY(vnode->fs().sync());
  return 0;
}
Result<long> sys_sync() {
  sync_volumes();
  return 0;
}

Result<long> sys_umask(uint32_t mask) { return context().exchange_umask(mask); }

Result<long> sys_chmod(const char* path, uint32_t mode) { return sys_fchmodat(kAtFdcwd, path, mode); }
Result<long> sys_fchmodat(int dirfd, const char* path, uint32_t mode) {
  UserPath p;
  TRY(fs::chmod(context(), dirfd, TRY(p.load(path)), mode, 0));
  return 0;
}
Result<long> sys_fchmod(int fd, uint32_t mode) {
  TRY(fs::fchmod(context(), fd, mode));
  return 0;
}

Result<long> sys_chown(const char* path, uint32_t uid, uint32_t gid) { return sys_fchownat(kAtFdcwd, path, uid, gid, 0); }
Result<long> sys_lchown(const char* path, uint32_t uid, uint32_t gid) {
  return sys_fchownat(kAtFdcwd, path, uid, gid, static_cast<int>(kAtSymlinkNofollow));
}
Result<long> sys_fchownat(int dirfd, const char* path, uint32_t uid, uint32_t gid, int flags) {
  UserPath p;
  TRY(fs::chown(context(), dirfd, TRY(p.load(path)), uid, gid, static_cast<uint32_t>(flags)));
  return 0;
}
Result<long> sys_fchown(int fd, uint32_t uid, uint32_t gid) {
  TRY(fs::fchown(context(), fd, uid, gid));
  return 0;
}

Result<long> sys_utimensat(int dirfd, const char* path, const Timespec* times, int flags) {
  fs::TimeSpec copied[2];
  if (times) TRY(user::copy_from(copied, times, sizeof(copied)));
  std::optional<std::string_view> name;
  UserPath p;
  if (path) name = TRY(p.load(path));
  TRY(fs::utimens(context(), dirfd, name, times ? copied : nullptr, static_cast<uint32_t>(flags)));
  return 0;
}

Result<long> sys_statfs(const char* path, LinuxStatfs* out) {
  UserPath p;
  fs::StatFs s = TRY(fs::statfs(context(), TRY(p.load(path))));
  TRY(write_out(out, to_linux_statfs(s)));
  return 0;
}

Result<long> sys_fstatfs(int fd, LinuxStatfs* out) {
  fs::StatFs s = TRY(fs::fstatfs(context(), fd));
  TRY(write_out(out, to_linux_statfs(s)));
  return 0;
}

Result<long> sys_pipe(int* fds) { return sys_pipe2(fds, 0); }
Result<long> sys_pipe2(int* fds, int flags) {
  if (!user::writable(fds, 2 * sizeof(int))) return error(Errno::efault);
  auto ends = TRY(fs::pipe(context(), static_cast<uint32_t>(flags)));
  int pair[2] = {ends[0], ends[1]};
  if (auto written = user::copy_to(fds, pair, sizeof(pair)); !written) {
    // Gone meanwhile: as Linux, no descriptor is left behind.
    (void)file_context().fds().close(ends[0]);
    (void)file_context().fds().close(ends[1]);
    return error(written.error());
  }
  return 0;
}

Result<long> sys_sendfile(int out_fd, int in_fd, int64_t* offset, size_t count) {
  int64_t position = 0;
  if (offset) position = TRY(user::read(offset));
  auto sent = fs::sendfile(context(), out_fd, in_fd, offset ? &position : nullptr, count);
  if (offset) TRY(user::write(offset, position));
  return after_write(sent);
}

Result<long> sys_splice(int in_fd, int64_t* in_offset, int out_fd, int64_t* out_offset, size_t count,
                        unsigned flags) {
  int64_t in_position = 0, out_position = 0;
  if (in_offset) in_position = TRY(user::read(in_offset));
  if (out_offset) out_position = TRY(user::read(out_offset));
  auto moved = fs::splice(context(), in_fd, in_offset ? &in_position : nullptr, out_fd,
                          out_offset ? &out_position : nullptr, count, flags);
  if (moved && in_offset) TRY(user::write(in_offset, in_position));
  if (moved && out_offset) TRY(user::write(out_offset, out_position));
  return after_write(moved);
}

Result<long> sys_tee(int in_fd, int out_fd, size_t count, unsigned flags) {
  return after_write(fs::tee(context(), in_fd, out_fd, count, flags));
}

// vmsplice(2): the program's buffers into a pipe's write end, or out of its read end.
Result<long> sys_vmsplice(int fd, const IoVec* vectors, unsigned long count, unsigned flags) {
  constexpr unsigned kNonblock = 2, kKnown = 1 | 2 | 4 | 8;  // SPLICE_F_*
  if (flags & ~kKnown) return error(Errno::einval);
  if (count > 1024) return error(Errno::einval);  // UIO_MAXIOV
  RefPtr<fs::File> f = TRY(file(fd));
  fs::Pipe* pipe = f->ops() ? f->ops()->as_pipe() : nullptr;
  if (!pipe) return error(Errno::ebadf);
  bool to_pipe = f->is_writable();
  if (!to_pipe && !f->is_readable()) return error(Errno::ebadf);
  UserVectors v;
  TRY(load_vectors(v, vectors, static_cast<int>(count),
                   to_pipe ? UserVectors::Direction::out_of_program : UserVectors::Direction::into_program));
  if (to_pipe) {
    if (flags & kNonblock) TRY(pipe->wait_for_room(true));
    return after_write(f->writev(v.span()), *f);
  }
  if (flags & kNonblock) TRY(pipe->wait_for_data(true));
  return static_cast<long>(TRY(f->readv(v.span())));
}

Result<long> sys_close_range(unsigned first, unsigned last, unsigned flags) {
  TRY(context().fds().close_range(first, last, flags));
  return 0;
}

}  // namespace nimbus::linux
