// The facade's namespace side: creating, removing, renaming and linking names, attributes,
// truncate, statfs, and the process's cwd and root.
#include <cstring>

#include "kernel/fs/fs.h"
#include "kernel/fs/fs_internal.h"

namespace nimbus::fs {

using namespace linux_abi;
using Follow = PathWalk::Follow;
using detail::lookup_at;
using detail::parent_at;

namespace {

// Linux's filename_create(): the last component must be a plain name that does not exist
// yet; a trailing slash is only fine for directories.
Result<ParentResult> parent_for_create(FsContext& context, PathWalk& walk, int dirfd, std::string_view path,
                                       bool directory) {
  ParentResult last = TRY(parent_at(context, walk, dirfd, path));
  if (last.kind != LastKind::normal) return error(Errno::eexist);
  if (last.trailing_slash && !directory) {
    if (last.parent->lookup(last.name)) return error(Errno::eexist);
    return error(Errno::enoent);
  }
  // An existing name is EEXIST even on a read-only file system, as in Linux (the lookup comes
  // before the write check): fio and `mkdir -p` make every directory of a path, so
  // mkdir("/data") under a volume mounted on a read-only root must say EEXIST, not EROFS.
  if (last.parent->fs().read_only()) {
    if (last.parent->lookup(last.name)) return error(Errno::eexist);
    return error(Errno::erofs);
  }
  return last;
}

Result<> set_attributes(const RefPtr<Vnode>& vnode, const SetAttributes& attributes) {
  if (vnode->fs().read_only()) return error(Errno::erofs);
  return vnode->set_attributes(attributes);
}

SetAttributes owner_change(uint32_t uid, uint32_t gid) {
  SetAttributes change;
  if (uid != UINT32_MAX) {
    change.mask |= SetAttributes::uid;
    change.uid_value = uid;
  }
  if (gid != UINT32_MAX) {
    change.mask |= SetAttributes::gid;
    change.gid_value = gid;
  }
  return change;
}

SetAttributes mode_change(uint32_t mode) {
  SetAttributes change;
  change.mask = SetAttributes::mode;
  change.mode_bits = mode & kPermissionMask;
  return change;
}

// A descriptor whose file's attributes change: O_PATH ones cannot (EBADF).
Result<RefPtr<Vnode>> vnode_of_open_file(FsContext& context, int fd) {
  RefPtr<File> file = TRY(context.fds().get(fd));
  if (file->is_path_only()) return error(Errno::ebadf);
  return file->vnode();
}

}  // namespace

Result<> mkdir(FsContext& context, int dirfd, std::string_view path, uint32_t mode) {
  PathWalk walk = detail::walk_for(context);
  ParentResult last = TRY(parent_for_create(context, walk, dirfd, path, true));
  NewNode node{VnodeType::directory, mode & 01777 & ~context.umask(), context.uid(), context.gid()};
  TRY(last.parent->create(last.name, node));
  return {};
}

Result<> mknod(FsContext& context, int dirfd, std::string_view path, uint32_t mode, uint32_t major,
               uint32_t minor) {
  VnodeType type = VnodeType::regular;
  if ((mode & s_ifmt) != 0 && !type_from_mode(mode, &type)) return error(Errno::einval);
  if (type == VnodeType::directory) return error(Errno::eperm);
  if (type == VnodeType::symlink) return error(Errno::einval);
  PathWalk walk = detail::walk_for(context);
  ParentResult last = TRY(parent_for_create(context, walk, dirfd, path, false));
  NewNode node{type, mode & kPermissionMask & ~context.umask(), context.uid(), context.gid()};
  if (type == VnodeType::character_device || type == VnodeType::block_device) {
    node.rdev_major = major;
    node.rdev_minor = minor;
  }
  TRY(last.parent->create(last.name, node));
  return {};
}

Result<> unlink(FsContext& context, int dirfd, std::string_view path, uint32_t at_flags) {
  if (at_flags & ~at_removedir) return error(Errno::einval);
  PathWalk walk = detail::walk_for(context);
  ParentResult last = TRY(parent_at(context, walk, dirfd, path));
  if (at_flags & at_removedir) {
    switch (last.kind) {
      case LastKind::dot: return error(Errno::einval);
      case LastKind::dotdot: return error(Errno::enotempty);
      case LastKind::root: return error(Errno::ebusy);
      case LastKind::normal: break;
    }
    // The directory itself, not what may be mounted on it.
    RefPtr<Vnode> child = TRY(last.parent->lookup(last.name));
    if (!child->is_directory()) return error(Errno::enotdir);
    if (context.vfs().mounts().is_mount_point(child.get()) || child == context.root()) {
      return error(Errno::ebusy);
    }
    return last.parent->rmdir(last.name);
  }
  if (last.kind != LastKind::normal) return error(Errno::eisdir);
  if (last.trailing_slash) {
    RefPtr<Vnode> child = TRY(last.parent->lookup(last.name));
    return error(child->is_directory() ? Errno::eisdir : Errno::enotdir);
  }
  return last.parent->unlink(last.name);
}

Result<> rename(FsContext& context, int old_dirfd, std::string_view old_path, int new_dirfd,
                std::string_view new_path, uint32_t flags) {
  if (flags & ~(rename_noreplace | rename_exchange | rename_whiteout)) return error(Errno::einval);
  if ((flags & rename_whiteout) || ((flags & rename_noreplace) && (flags & rename_exchange))) {
    return error(Errno::einval);
  }
  PathWalk old_walk = detail::walk_for(context);
  PathWalk new_walk = detail::walk_for(context);
  ParentResult from = TRY(parent_at(context, old_walk, old_dirfd, old_path));
  ParentResult to = TRY(parent_at(context, new_walk, new_dirfd, new_path));
  if (&from.parent->fs() != &to.parent->fs()) return error(Errno::exdev);
  if (from.kind != LastKind::normal) return error(Errno::ebusy);
  if (to.kind != LastKind::normal) return error((flags & rename_noreplace) ? Errno::eexist : Errno::ebusy);

  RefPtr<Vnode> moving = TRY(from.parent->lookup(from.name));
  auto replaced = to.parent->lookup(to.name);
  MountTable& mounts = context.vfs().mounts();
  if (mounts.is_mount_point(moving.get()) || moving == context.root()) return error(Errno::ebusy);
  if (replaced && (mounts.is_mount_point(replaced->get()) || *replaced == context.root())) {
    return error(Errno::ebusy);
  }
  if (!moving->is_directory()) {
    if (from.trailing_slash) return error(Errno::enotdir);
    if (!(flags & rename_exchange) && to.trailing_slash) return error(Errno::enotdir);
  }
  if (from.parent->fs().read_only()) return error(Errno::erofs);
  return from.parent->rename(from.name, *to.parent, to.name, flags);
}

Result<> link(FsContext& context, int old_dirfd, std::string_view old_path, int new_dirfd,
              std::string_view new_path, uint32_t at_flags) {
  if (at_flags & ~(at_symlink_follow | at_empty_path)) return error(Errno::einval);
  Follow follow = (at_flags & at_symlink_follow) ? Follow::yes : Follow::no;
  RefPtr<Vnode> target = TRY(lookup_at(context, old_dirfd, old_path, follow, at_flags & at_empty_path));
  if (target->is_directory()) return error(Errno::eperm);
  PathWalk walk = detail::walk_for(context);
  ParentResult last = TRY(parent_for_create(context, walk, new_dirfd, new_path, false));
  if (&last.parent->fs() != &target->fs()) return error(Errno::exdev);
  return last.parent->link(last.name, *target);
}

Result<> symlink(FsContext& context, std::string_view target, int dirfd, std::string_view path) {
  if (target.empty()) return error(Errno::enoent);
  PathWalk walk = detail::walk_for(context);
  ParentResult last = TRY(parent_for_create(context, walk, dirfd, path, false));
  TRY(last.parent->symlink(last.name, target, context.uid(), context.gid()));
  return {};
}

Result<> chmod(FsContext& context, int dirfd, std::string_view path, uint32_t mode, uint32_t at_flags) {
  if (at_flags & ~(at_symlink_nofollow | at_empty_path)) return error(Errno::einval);
  Follow follow = (at_flags & at_symlink_nofollow) ? Follow::no : Follow::yes;
  RefPtr<Vnode> vnode = TRY(lookup_at(context, dirfd, path, follow, at_flags & at_empty_path));
  // Symlinks' modes mean nothing and Linux refuses to set them.
  if (vnode->is_symlink()) return error(Errno::enotsup);
  return set_attributes(vnode, mode_change(mode));
}

Result<> fchmod(FsContext& context, int fd, uint32_t mode) {
  RefPtr<Vnode> vnode = TRY(vnode_of_open_file(context, fd));
  return set_attributes(vnode, mode_change(mode));
}

Result<> chown(FsContext& context, int dirfd, std::string_view path, uint32_t uid, uint32_t gid,
               uint32_t at_flags) {
  if (at_flags & ~(at_symlink_nofollow | at_empty_path)) return error(Errno::einval);
  Follow follow = (at_flags & at_symlink_nofollow) ? Follow::no : Follow::yes;
  RefPtr<Vnode> vnode = TRY(lookup_at(context, dirfd, path, follow, at_flags & at_empty_path));
  return set_attributes(vnode, owner_change(uid, gid));
}

Result<> fchown(FsContext& context, int fd, uint32_t uid, uint32_t gid) {
  RefPtr<Vnode> vnode = TRY(vnode_of_open_file(context, fd));
  return set_attributes(vnode, owner_change(uid, gid));
}

Result<> utimens(FsContext& context, int dirfd, std::optional<std::string_view> path, const TimeSpec* times,
                 uint32_t at_flags) {
  if (at_flags & ~(at_symlink_nofollow | at_empty_path)) return error(Errno::einval);
  SetAttributes change;
  change.mask = SetAttributes::atime | SetAttributes::mtime;
  int64_t now = context.vfs().clock() ? context.vfs().clock()() : 0;
  int64_t* values[2] = {&change.atime_ns, &change.mtime_ns};
  for (int i = 0; i < 2; i++) {
    if (!times || times[i].nanoseconds == utime_now) {
      *values[i] = now;
      continue;
    }
    if (times[i].nanoseconds == utime_omit) {
      change.mask &= ~(i == 0 ? SetAttributes::atime : SetAttributes::mtime);
      continue;
    }
    if (times[i].nanoseconds < 0 || times[i].nanoseconds >= 1'000'000'000) return error(Errno::einval);
    int64_t nanoseconds;
    if (__builtin_mul_overflow(times[i].seconds, int64_t{1'000'000'000}, &nanoseconds) ||
        __builtin_add_overflow(nanoseconds, times[i].nanoseconds, &nanoseconds)) {
      nanoseconds = times[i].seconds < 0 ? INT64_MIN : INT64_MAX;
    }
    *values[i] = nanoseconds;
  }
  // Both omitted: nothing to do, and Linux does not even look the file up.
  if (!change.mask) return {};
  RefPtr<Vnode> vnode;
  if (!path) {
    // futimens(): dirfd is the file.
    if (at_flags) return error(Errno::einval);
    if (dirfd == at_fdcwd) return error(Errno::efault);
    vnode = TRY(vnode_of_open_file(context, dirfd));
  } else {
    Follow follow = (at_flags & at_symlink_nofollow) ? Follow::no : Follow::yes;
    vnode = TRY(lookup_at(context, dirfd, *path, follow, at_flags & at_empty_path));
  }
  return set_attributes(vnode, change);
}

Result<> truncate(FsContext& context, std::string_view path, int64_t length) {
  if (length < 0) return error(Errno::einval);
  RefPtr<Vnode> vnode = TRY(lookup_at(context, at_fdcwd, path, Follow::yes, false));
  if (vnode->is_directory()) return error(Errno::eisdir);
  if (!vnode->is_regular()) return error(Errno::einval);
  if (vnode->fs().read_only()) return error(Errno::erofs);
  if (static_cast<uint64_t>(length) > file_size_limit()) return error(Errno::efbig);
  return vnode->truncate(static_cast<uint64_t>(length));
}

Result<StatFs> statfs(FsContext& context, std::string_view path) {
  RefPtr<Vnode> vnode = TRY(lookup_at(context, at_fdcwd, path, Follow::yes, false));
  return vnode->fs().statfs();
}

Result<StatFs> fstatfs(FsContext& context, int fd) {
  RefPtr<File> file = TRY(context.fds().get(fd));
  return file->vnode()->fs().statfs();
}

Result<> chdir(FsContext& context, std::string_view path) {
  RefPtr<Vnode> vnode = TRY(lookup_at(context, at_fdcwd, path, Follow::yes, false));
  if (!vnode->is_directory()) return error(Errno::enotdir);
  context.set_cwd(std::move(vnode));
  return {};
}

Result<> fchdir(FsContext& context, int fd) {
  RefPtr<File> file = TRY(context.fds().get(fd));
  if (!file->vnode()->is_directory()) return error(Errno::enotdir);
  context.set_cwd(file->vnode());
  return {};
}

Result<> chroot(FsContext& context, std::string_view path) {
  RefPtr<Vnode> vnode = TRY(lookup_at(context, at_fdcwd, path, Follow::yes, false));
  if (!vnode->is_directory()) return error(Errno::enotdir);
  context.set_root(std::move(vnode));
  return {};
}

Result<size_t> getcwd(FsContext& context, std::span<char> buffer) { return path_of(context, context.cwd(), buffer); }

Result<size_t> path_of(FsContext& context, RefPtr<Vnode> node, std::span<char> buffer) {
  RefPtr<Vnode> root = context.root();
  MountTable& mounts = context.vfs().mounts();
  // The path is built backwards from the buffer's end, then moved to its start.
  size_t start = buffer.size();
  auto prepend = [&](std::string_view text) -> Result<> {
    if (text.size() > start) return error(Errno::erange);
    start -= text.size();
    memcpy(buffer.data() + start, text.data(), text.size());
    return {};
  };
  TRY(prepend(std::string_view("", 1)));
  bool reached_root = false;
  while (true) {
    while (node != root) {
      RefPtr<Vnode> covered = mounts.covered_by(node.get());
      if (!covered) break;
      node = std::move(covered);
    }
    if (node == root) {
      reached_root = true;
      break;
    }
    RefPtr<Vnode> parent = TRY(node->lookup(".."));
    // The top of a file system that is not our root: the cwd is outside the chroot.
    if (parent == node) break;
    char name[name_max];
    size_t length = TRY(parent->child_name(*node, name));
    TRY(prepend(std::string_view(name, length)));
    TRY(prepend("/"));
    node = std::move(parent);
  }
  if (start == buffer.size() - 1) TRY(prepend("/"));
  if (!reached_root) TRY(prepend("(unreachable)"));
  size_t length = buffer.size() - start;
  memmove(buffer.data(), buffer.data() + start, length);
  return length;
}

}  // namespace nimbus::fs
