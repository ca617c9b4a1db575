// The file layer's facade: what the Linux syscall layer calls, one function per syscall
// family, with Linux's semantics and errno values.
//
// The pieces (kernel/fs/):
//   Vnode (vnode.h)        a file system object; RamFs (ramfs.h) implements it in memory.
//   Vfs (vfs.h)            the tree: the root ramfs (from the initrd, cpio.h), /dev (devfs.h)
//                          mounted on it (mount_table.h), the device registry, pipes' fs.
//   PathWalk (path_walk.h) Linux's path resolution: symlinks, "..", mounts, ELOOP.
//   File (file.h)          an open file description: offset, flags, read/write/lseek/
//                          getdents64/ioctl; devices and pipes plug in as FileOps.
//   FdTable (fd_table.h)   descriptors -> Files, FD_CLOEXEC, dup*, close_range, the limit.
//   FsContext (fs_context.h) a process's root, cwd, umask and FdTable: the syscall layer
//                          embeds one in its process and passes it to every call here.
//
// Conventions for the syscall layer:
//   - Paths arrive as string_views of at most PATH_MAX - 1 bytes, already copied out of
//     the application (a longer one is ENAMETOOLONG: the caller's copy stops there).
//   - `dirfd` is a descriptor or linux_abi::at_fdcwd; `at_flags` are the AT_* flags; an
//     unknown flag is EINVAL.
//   - Buffers (spans, IoVec arrays, ioctl arguments) point at memory the caller checked;
//     this layer copies into and out of them with plain memcpy.
//   - Everything returns Result: the dispatcher turns an Errno into -errno. EPIPE from a
//     write is where the dispatcher raises SIGPIPE.
//   - read/write/pread/pwrite/readv/writev/getdents64/ftruncate/fstat go through the File:
//     `TRY(context.fds().get(fd))->read(buffer)`; dup/dup2/dup3/close_range through
//     context.fds(). The functions below are the ones that need paths or several objects.
//   - The application runs as root: no permission checks, except access(X_OK) wanting an
//     execute bit, as for root on Linux.
//
// Boot: init_root() (kernel only, kernel_fs.cc) builds the kernel's Vfs from the initrd
// with the heap page allocator, the wall clock, KernelRandom and the given Console; vfs()
// returns it afterwards, for FsContext's constructor.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "kernel/fs/console.h"
#include "kernel/fs/cpio.h"
#include "kernel/fs/file.h"
#include "kernel/fs/fs_context.h"
#include "kernel/fs/linux_abi.h"
#include "kernel/fs/vfs.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"

namespace nimbus::fs {

// --- boot (kernel only) ---

// Builds the kernel's tree (see Vfs::init) from the initrd's bytes, which must stay mapped
// and unchanged for good (files borrow them); `console` serves /dev/console and /dev/tty.
// On a malformed archive: Errno::einval and `*cpio_error` says where and why. With
// `disk_root`, that is the tree's root (see Vfs::init).
Result<> init_root(std::span<const std::byte> initrd, Console& console, CpioError* cpio_error = nullptr,
                   RefPtr<Vnode> disk_root = nullptr);
// The tree init_root built.
Vfs& vfs();

// --- opening and closing ---

// openat(2) without installing a descriptor: O_CREAT (mode & ~umask), O_EXCL, O_TRUNC,
// O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_PATH, O_NONBLOCK; device nodes open their device
// (ENXIO if none), named FIFOs their pipe. O_TMPFILE makes an unnamed file in the directory
// `path` names (EOPNOTSUPP where its file system cannot).
Result<RefPtr<File>> open_file(FsContext& context, int dirfd, std::string_view path, uint32_t flags,
                               uint32_t mode);
// openat(2): open_file and the lowest free descriptor (FD_CLOEXEC from O_CLOEXEC).
Result<int> open(FsContext& context, int dirfd, std::string_view path, uint32_t flags, uint32_t mode);
Result<> close(FsContext& context, int fd);
// pipe2(2): {read end, write end}; flags O_CLOEXEC, O_NONBLOCK, O_DIRECT.
Result<std::array<int, 2>> pipe(FsContext& context, uint32_t flags);

// --- descriptors ---

// fcntl(2): F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL (O_ASYNC through
// `fd`), F_GETPIPE_SZ and F_SETPIPE_SZ. Record locks (F_GETLK...) and the signal owner
// (F_SETOWN, F_SETSIG and their kin) need the application's structs or its processes and are
// the syscall layer's (over file_locks.h and File's owner); anything else here is EINVAL.
Result<int64_t> fcntl(FsContext& context, int fd, int command, uint64_t argument);
// ioctl(2): FIOCLEX, FIONCLEX and FIOASYNC (through `fd`) here, FIONBIO and FIONREAD for every file, the rest by the
// file's device (terminal requests on the console); ENOTTY otherwise.
Result<int64_t> ioctl(FsContext& context, int fd, uint32_t request, uintptr_t argument);
Result<int64_t> lseek(FsContext& context, int fd, int64_t offset, int whence);
// sendfile(2): from in_fd (at *offset, which advances, when given; else at its own
// position) to out_fd, at most `count` bytes.
Result<size_t> sendfile(FsContext& context, int out_fd, int in_fd, int64_t* offset, size_t count);
// splice(2): at most `count` bytes from in_fd to out_fd, one of which is a pipe; the offsets
// (when given) are the other file's position and advance. tee(2): copies at most `count`
// bytes waiting in one pipe to another without taking them out. Both in kernel/fs/splice.cc.
Result<size_t> splice(FsContext& context, int in_fd, int64_t* in_offset, int out_fd, int64_t* out_offset,
                      size_t count, uint32_t flags);
Result<size_t> tee(FsContext& context, int in_fd, int out_fd, size_t count, uint32_t flags);

// --- metadata ---

// newfstatat(2)/statx(2): AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH (the dirfd itself),
// AT_NO_AUTOMOUNT and the AT_STATX_SYNC_* bits (both ignored).
Result<Stat> stat(FsContext& context, int dirfd, std::string_view path, uint32_t at_flags);
Result<Stat> fstat(FsContext& context, int fd);
// faccessat2(2): F_OK/R_OK/W_OK/X_OK as root; AT_EACCESS, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH.
Result<> access(FsContext& context, int dirfd, std::string_view path, uint32_t mode, uint32_t at_flags);
// readlinkat(2): the target's bytes (not NUL-terminated, truncated to the buffer); an
// empty path reads the symlink that dirfd (O_PATH | O_NOFOLLOW) names.
Result<size_t> readlink(FsContext& context, int dirfd, std::string_view path, std::span<char> buffer);
// fchmodat(2) (AT_SYMLINK_NOFOLLOW on a symlink: EOPNOTSUPP) and fchmod(2).
Result<> chmod(FsContext& context, int dirfd, std::string_view path, uint32_t mode, uint32_t at_flags);
Result<> fchmod(FsContext& context, int fd, uint32_t mode);
// fchownat(2) and fchown(2); UINT32_MAX leaves an id unchanged.
Result<> chown(FsContext& context, int dirfd, std::string_view path, uint32_t uid, uint32_t gid,
               uint32_t at_flags);
Result<> fchown(FsContext& context, int fd, uint32_t uid, uint32_t gid);

// struct timespec, for utimensat.
struct TimeSpec {
  int64_t seconds;
  int64_t nanoseconds;  // or UTIME_NOW / UTIME_OMIT
};
// utimensat(2): `path` nullopt means dirfd itself (futimens); `times` null means now.
Result<> utimens(FsContext& context, int dirfd, std::optional<std::string_view> path, const TimeSpec* times,
                 uint32_t at_flags);
// truncate(2) (follows symlinks; ftruncate is File::truncate).
Result<> truncate(FsContext& context, std::string_view path, int64_t length);
Result<StatFs> statfs(FsContext& context, std::string_view path);
Result<StatFs> fstatfs(FsContext& context, int fd);

// --- the namespace ---

Result<> mkdir(FsContext& context, int dirfd, std::string_view path, uint32_t mode);
// mknodat(2): regular files, FIFOs, sockets and device nodes (type bits in `mode`).
Result<> mknod(FsContext& context, int dirfd, std::string_view path, uint32_t mode, uint32_t major,
               uint32_t minor);
// unlinkat(2); AT_REMOVEDIR makes it rmdir(2).
Result<> unlink(FsContext& context, int dirfd, std::string_view path, uint32_t at_flags);
// renameat2(2): RENAME_NOREPLACE, RENAME_EXCHANGE; EXDEV across file systems, EBUSY for
// mount points.
Result<> rename(FsContext& context, int old_dirfd, std::string_view old_path, int new_dirfd,
                std::string_view new_path, uint32_t flags);
// linkat(2): AT_SYMLINK_FOLLOW, AT_EMPTY_PATH.
Result<> link(FsContext& context, int old_dirfd, std::string_view old_path, int new_dirfd,
              std::string_view new_path, uint32_t at_flags);
// symlinkat(2).
Result<> symlink(FsContext& context, std::string_view target, int dirfd, std::string_view path);

// --- where the process is ---

Result<> chdir(FsContext& context, std::string_view path);
Result<> fchdir(FsContext& context, int fd);
Result<> chroot(FsContext& context, std::string_view path);
// getcwd(2): writes the NUL-terminated path, returns its length with the NUL; ERANGE if the
// buffer is too small, ENOENT if the cwd was removed.
Result<size_t> getcwd(FsContext& context, std::span<char> buffer);
// The absolute path of `directory` as getcwd would write it (NUL-terminated, the length with
// the NUL); ERANGE if it does not fit.
Result<size_t> path_of(FsContext& context, RefPtr<Vnode> directory, std::span<char> buffer);

}  // namespace nimbus::fs
