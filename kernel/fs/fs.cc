// The facade's descriptor side: open, pipes, fcntl, ioctl, lseek, sendfile, stat, access,
// readlink, and the dirfd helpers.
#include "kernel/fs/fs.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "kernel/fs/fs_internal.h"
#include "kernel/fs/path_walk.h"

namespace nimbus::fs {

using namespace linux_abi;
using Follow = PathWalk::Follow;

namespace detail {

Result<RefPtr<Vnode>> start_of(FsContext& context, int dirfd, std::string_view path) {
  if (!path.empty() && path[0] == '/') return context.root();
  if (dirfd == at_fdcwd) return context.cwd();
  RefPtr<File> file = TRY(context.fds().get(dirfd));
  return file->vnode();
}

Result<RefPtr<Vnode>> lookup_at(FsContext& context, int dirfd, std::string_view path, Follow follow,
                                bool allow_empty) {
  if (path.empty() && !allow_empty) return error(Errno::enoent);
  RefPtr<Vnode> start = TRY(start_of(context, dirfd, path));
  if (path.empty()) return start;
  PathWalk walk = walk_for(context);
  return walk.resolve(start, path, follow);
}

Result<ParentResult> parent_at(FsContext& context, PathWalk& walk, int dirfd, std::string_view path) {
  if (path.empty()) return error(Errno::enoent);
  RefPtr<Vnode> start = TRY(start_of(context, dirfd, path));
  return walk.resolve_parent(start, path);
}

}  // namespace detail

using detail::lookup_at;
using detail::parent_at;

namespace {

// __O_TMPFILE without its O_DIRECTORY companion.
constexpr uint32_t kTmpfileBit = o_tmpfile & ~o_directory;
// What O_PATH keeps of the other flags.
constexpr uint32_t kPathFlags = o_path | o_directory | o_nofollow | o_cloexec;

// O_CREAT's walk: the existing object, or a new regular file. A dangling symlink as the
// last component is followed and its target created, as Linux does (without O_EXCL).
Result<RefPtr<Vnode>> open_or_create(FsContext& context, int dirfd, std::string_view path, uint32_t flags,
                                     uint32_t mode, bool* created, RefPtr<Vnode>* found_in) {
  PathWalk walk = detail::walk_for(context);
  ParentResult last = TRY(parent_at(context, walk, dirfd, path));
  RefPtr<Vnode> link;  // keeps the target `last.name` may point into alive
  while (true) {
    if (last.kind != LastKind::normal) return error(Errno::eisdir);
    auto existing = walk.step_into(last.parent, last.name);
    if (existing) {
      if (flags & o_excl) return error(Errno::eexist);
      if ((*existing)->is_symlink()) {
        if (flags & o_nofollow) return error(Errno::eloop);
        TRY(walk.count_link());
        if (RefPtr<Vnode> object = (*existing)->magic_link_target()) return object;
        link = std::move(*existing);
        std::string_view target = TRY(link->link_target());
        last = TRY(walk.resolve_parent(last.parent, target));
        continue;
      }
      if (last.trailing_slash && !(*existing)->is_directory()) return error(Errno::enotdir);
      *found_in = last.parent;
      return std::move(*existing);
    }
    if (existing.error() != Errno::enoent) return error(existing.error());
    if (last.trailing_slash) return error(Errno::eisdir);
    NewNode node{VnodeType::regular, mode & kPermissionMask & ~context.umask(), context.uid(), context.gid()};
    auto made = last.parent->create(last.name, node);
    if (made) {
      *created = true;
      *found_in = last.parent;
      return std::move(*made);
    }
    // Someone else created it meanwhile: without O_EXCL, open theirs.
    if (made.error() != Errno::eexist || (flags & o_excl)) return error(made.error());
  }
}

Result<RefPtr<File>> open_special(FsContext& context, const RefPtr<Vnode>& vnode, uint32_t flags) {
  if (FileOps* ops = vnode->stream_ops()) return File::try_create(vnode, flags, ops);
  switch (vnode->type()) {
    case VnodeType::character_device: {
      Stat stat = vnode->stat();
      FileOps* ops = context.vfs().devices().find(stat.rdev_major, stat.rdev_minor);
      if (!ops) return error(Errno::enxio);
      return File::try_create(vnode, flags, ops);
    }
    case VnodeType::fifo: {
      RefPtr<Pipe> pipe = TRY(context.vfs().fifo_pipe(*vnode));
      return Pipe::open_fifo(pipe, vnode, flags);
    }
    default:
      // Block devices and sockets have nothing behind them here.
      return error(Errno::enxio);
  }
}

// O_TMPFILE: an unnamed file in the directory `path` names, as Linux's do_tmpfile. It must be
// opened for writing, with O_DIRECTORY's bit (part of O_TMPFILE) and without O_CREAT; O_EXCL
// keeps linkat from ever naming it.
Result<RefPtr<File>> open_tmpfile(FsContext& context, int dirfd, std::string_view path, uint32_t flags,
                                  uint32_t mode) {
  if ((flags & (kTmpfileBit | o_directory | o_creat)) != (kTmpfileBit | o_directory)) return error(Errno::einval);
  uint32_t access_mode = flags & o_accmode;
  if (access_mode != o_wronly && access_mode != o_rdwr) return error(Errno::einval);
  RefPtr<Vnode> directory = TRY(lookup_at(context, dirfd, path, Follow::yes, false));
  if (!directory->is_directory()) return error(Errno::enotdir);
  if (directory->fs().read_only()) return error(Errno::erofs);
  NewNode node{VnodeType::regular, mode & kPermissionMask & ~context.umask(), context.uid(), context.gid()};
  RefPtr<Vnode> file = TRY(directory->create_unnamed(node, !(flags & o_excl)));
  return File::try_create(std::move(file), flags & ~(o_excl | o_trunc));
}

// The File for an object open_file found or made: its access checks, O_TRUNC, devices and FIFOs.
Result<RefPtr<File>> open_opened(FsContext& context, const RefPtr<Vnode>& vnode, uint32_t flags, bool created) {
  if (flags & o_path) return File::try_create(vnode, flags);

  uint32_t access_mode = flags & o_accmode;
  bool wants_write = access_mode == o_wronly || access_mode == o_rdwr || (flags & o_trunc);
  if (vnode->is_directory() && wants_write) return error(Errno::eisdir);
  if (wants_write && vnode->fs().read_only() && (vnode->is_regular() || vnode->is_directory())) {
    return error(Errno::erofs);
  }
  if (vnode->is_regular() || vnode->is_directory()) {
    // O_TRUNC truncates even with O_RDONLY, as on Linux.
    if (vnode->is_regular() && (flags & o_trunc) && !created) TRY(vnode->truncate(0));
    return File::try_create(vnode, flags);
  }
  return open_special(context, vnode, flags);
}

}  // namespace

Result<RefPtr<File>> open_file(FsContext& context, int dirfd, std::string_view path, uint32_t flags,
                               uint32_t mode) {
  if (flags & kTmpfileBit) return open_tmpfile(context, dirfd, path, flags, mode);
  if (flags & o_path) flags &= kPathFlags;
  if ((flags & o_creat) && (flags & o_directory)) return error(Errno::einval);
  RefPtr<Vnode> vnode;
  RefPtr<Vnode> found_in;
  bool created = false;
  if (flags & o_creat) {
    vnode = TRY(open_or_create(context, dirfd, path, flags, mode, &created, &found_in));
    if (vnode->is_directory()) return error(Errno::eisdir);
  } else {
    if (path.empty()) return error(Errno::enoent);
    RefPtr<Vnode> start = TRY(detail::start_of(context, dirfd, path));
    PathWalk walk = detail::walk_for(context);
    vnode = TRY(walk.resolve(start, path, (flags & o_nofollow) ? Follow::no : Follow::yes));
    found_in = walk.found_in();
  }
  if (vnode->is_symlink() && !(flags & o_path)) return error(Errno::eloop);
  if ((flags & o_directory) && !vnode->is_directory()) return error(Errno::enotdir);
  RefPtr<File> file = TRY(open_opened(context, vnode, flags, created));
  file->set_found_in(std::move(found_in));
  return file;
}

Result<int> open(FsContext& context, int dirfd, std::string_view path, uint32_t flags, uint32_t mode) {
  RefPtr<File> file = TRY(open_file(context, dirfd, path, flags, mode));
  return context.fds().install(std::move(file), flags & o_cloexec);
}

Result<> close(FsContext& context, int fd) { return context.fds().close(fd); }

Result<std::array<int, 2>> pipe(FsContext& context, uint32_t flags) {
  PipeEnds ends = TRY(make_pipe(context.vfs().pipe_fs(), flags));
  bool cloexec = flags & o_cloexec;
  int read_fd = TRY(context.fds().install(std::move(ends.read), cloexec));
  auto write_fd = context.fds().install(std::move(ends.write), cloexec);
  if (!write_fd) {
    (void)context.fds().close(read_fd);
    return error(write_fd.error());
  }
  return std::array<int, 2>{read_fd, *write_fd};
}

Result<int64_t> fcntl(FsContext& context, int fd, int command, uint64_t argument) {
  FdTable& fds = context.fds();
  switch (command) {
    case f_dupfd:
    case f_dupfd_cloexec:
      if (argument > INT32_MAX) return error(Errno::einval);
      return TRY(fds.dup_at_least(fd, static_cast<int>(argument), command == f_dupfd_cloexec));
    case f_getfd: return TRY(fds.descriptor_flags(fd));
    case f_setfd:
      TRY(fds.set_descriptor_flags(fd, static_cast<uint32_t>(argument)));
      return 0;
    case f_getfl: return TRY(fds.get(fd))->flags();
    default: break;
  }
  RefPtr<File> file = TRY(fds.get(fd));
  // O_PATH descriptors only answer the commands above.
  if (file->is_path_only()) return error(Errno::ebadf);
  switch (command) {
    case f_setfl:
      TRY(file->set_status_flags(static_cast<uint32_t>(argument), fd));
      return 0;
    case f_getpipe_sz:
    case f_setpipe_sz: {
      Pipe* pipe = file->ops() ? file->ops()->as_pipe() : nullptr;
      if (!pipe) return error(Errno::ebadf);
      if (command == f_getpipe_sz) return static_cast<int64_t>(pipe->capacity());
      if (argument > INT32_MAX) return error(Errno::einval);
      return static_cast<int64_t>(TRY(pipe->set_capacity(static_cast<size_t>(argument))));
    }
    default: return error(Errno::einval);
  }
}

Result<int64_t> ioctl(FsContext& context, int fd, uint32_t request, uintptr_t argument) {
  if (request == fioclex || request == fionclex) {
    TRY(context.fds().set_descriptor_flags(fd, request == fioclex ? fd_cloexec : 0));
    return 0;
  }
  RefPtr<File> file = TRY(context.fds().get(fd));
  if (request == fioasync && !file->is_path_only()) {
    int enable;
    memcpy(&enable, reinterpret_cast<const void*>(argument), sizeof(enable));
    uint32_t current = file->flags();
    // A change on a file that cannot signal is ENOTTY (Linux's ioctl_fioasync).
    if (bool(enable) != bool(current & o_async) && !file->takes_async()) return error(Errno::enotty);
    TRY(file->set_status_flags(enable ? current | o_async : current & ~o_async, fd));
    return 0;
  }
  return file->ioctl(request, argument);
}

Result<int64_t> lseek(FsContext& context, int fd, int64_t offset, int whence) {
  RefPtr<File> file = TRY(context.fds().get(fd));
  return file->seek(offset, whence);
}

Result<size_t> sendfile(FsContext& context, int out_fd, int in_fd, int64_t* offset, size_t count) {
  RefPtr<File> in = TRY(context.fds().get(in_fd));
  RefPtr<File> out = TRY(context.fds().get(out_fd));
  if (!in->is_readable() || !out->is_writable()) return error(Errno::ebadf);
  if (offset && *offset < 0) return error(Errno::einval);
  if (out->flags() & o_append) return error(Errno::einval);
  count = std::min(count, kMaxIoCount);
  constexpr size_t kChunk = 64 * 1024;
  auto* bounce = static_cast<std::byte*>(::operator new(std::min(count, kChunk) + 1, kNoThrow));
  if (!bounce) return error(Errno::enomem);
  size_t total = 0;
  Result<size_t> outcome = 0;
  while (total < count) {
    std::span<std::byte> chunk(bounce, std::min(count - total, kChunk));
    auto got = offset ? in->pread(chunk, *offset) : in->read(chunk);
    if (!got || *got == 0) {
      if (!got) outcome = got;
      break;
    }
    auto put = out->write(chunk.first(*got));
    size_t written = put ? *put : 0;
    if (offset) {
      *offset += static_cast<int64_t>(written);
    } else if (written < *got) {
      // Give back what was read but not sent, so the input position stays exact.
      (void)in->seek(-static_cast<int64_t>(*got - written), seek_cur);
    }
    total += written;
    if (!put) outcome = put;
    if (!put || written < *got) break;
  }
  ::operator delete(bounce);
  if (total == 0 && !outcome) return error(outcome.error());
  return total;
}

Result<Stat> stat(FsContext& context, int dirfd, std::string_view path, uint32_t at_flags) {
  if (at_flags & ~(at_symlink_nofollow | at_empty_path | at_no_automount | at_statx_sync_type)) {
    return error(Errno::einval);
  }
  Follow follow = (at_flags & at_symlink_nofollow) ? Follow::no : Follow::yes;
  RefPtr<Vnode> vnode = TRY(lookup_at(context, dirfd, path, follow, at_flags & at_empty_path));
  return vnode->stat();
}

Result<Stat> fstat(FsContext& context, int fd) {
  RefPtr<File> file = TRY(context.fds().get(fd));
  return file->stat();
}

Result<> access(FsContext& context, int dirfd, std::string_view path, uint32_t mode, uint32_t at_flags) {
  if (at_flags & ~(at_eaccess | at_symlink_nofollow | at_empty_path)) return error(Errno::einval);
  if (mode & ~(r_ok | w_ok | x_ok)) return error(Errno::einval);
  Follow follow = (at_flags & at_symlink_nofollow) ? Follow::no : Follow::yes;
  RefPtr<Vnode> vnode = TRY(lookup_at(context, dirfd, path, follow, at_flags & at_empty_path));
  if ((mode & w_ok) && vnode->fs().read_only()) return error(Errno::erofs);
  // Root may execute only what has an execute bit somewhere (directories: always search).
  if ((mode & x_ok) && !vnode->is_directory() && !(vnode->stat().mode & 0111)) return error(Errno::eacces);
  return {};
}

Result<size_t> readlink(FsContext& context, int dirfd, std::string_view path, std::span<char> buffer) {
  if (buffer.empty()) return error(Errno::einval);
  RefPtr<Vnode> vnode = TRY(lookup_at(context, dirfd, path, Follow::no, true));
  if (!vnode->is_symlink()) return error(path.empty() ? Errno::enoent : Errno::einval);
  std::string_view target = TRY(vnode->link_target());
  size_t length = std::min(target.size(), buffer.size());
  memcpy(buffer.data(), target.data(), length);
  return length;
}

}  // namespace nimbus::fs
