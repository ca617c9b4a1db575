// PathWalk: turning a path into a vnode the way Linux's namei does (symlinks, "..", mounts).
#pragma once

#include <cstdint>
#include <string_view>

#include "kernel/fs/mount_table.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"

namespace nimbus::fs {

// What the last component of a path is, for the operations that create or remove it.
enum class LastKind : uint8_t {
  normal,
  dot,     // "a/."
  dotdot,  // "a/.."
  root,    // "/" (only slashes)
};

struct ParentResult {
  RefPtr<Vnode> parent;   // the directory holding the last component
  // The last component, a view into the walked path (a last component is never taken from
  // a symlink target, since the last symlink is not followed); empty for LastKind::root.
  std::string_view name;
  LastKind kind = LastKind::normal;
  bool trailing_slash = false;  // "name/": it must be (or become) a directory
};

// One path lookup, with Linux's rules:
//  - an absolute path starts at the walk's root, a relative one at the given directory;
//    runs of slashes count as one;
//  - "." stays, ".." goes to the parent, and stays put at the root (so a chroot holds);
//    ".." from the root of a mounted file system first crosses back to the directory it
//    covers; a lookup that lands on a mount point crosses into the mounted root;
//  - a symlink in the middle of a path is always followed, the last component only when
//    asked or when a trailing slash follows it; targets are read relative to the directory
//    holding the link, or from the root when absolute; ELOOP after 40 links in one walk
//    (shared by every call on one PathWalk, as for open(O_CREAT) through a dangling link);
//  - a component longer than NAME_MAX, or a path of PATH_MAX bytes or more, is
//    ENAMETOOLONG; an empty path or symlink target is ENOENT; looking up in a
//    non-directory is ENOTDIR, and so is a trailing slash after one.
// Search permission is not checked: the application runs as root.
class PathWalk {
 public:
  PathWalk(const MountTable& mounts, RefPtr<Vnode> root) : m_mounts(mounts), m_root(std::move(root)) {}

  enum class Follow : uint8_t { no, yes };
  // The object `path` names (relative to `start`).
  Result<RefPtr<Vnode>> resolve(const RefPtr<Vnode>& start, std::string_view path, Follow follow);
  // The directory holding the last component, and that component, which is not looked up.
  Result<ParentResult> resolve_parent(const RefPtr<Vnode>& start, std::string_view path);

  // One step down, crossing into a file system mounted there.
  Result<RefPtr<Vnode>> step_into(const RefPtr<Vnode>& directory, std::string_view name);
  // One step up, as ".." does.
  Result<RefPtr<Vnode>> step_up(const RefPtr<Vnode>& directory);
  // Counts one more symlink against the limit of 40.
  Result<> count_link();

  const RefPtr<Vnode>& root() const { return m_root; }
  // The directory in which resolve() found what it returned (after symlinks): where an
  // opened file is linked, for /proc/self/fd. Null if the path named a directory's "." or
  // "..", or only slashes.
  const RefPtr<Vnode>& found_in() const { return m_found_in; }
  const MountTable& mounts() const { return m_mounts; }

 private:
  struct Outcome {
    RefPtr<Vnode> node;  // what the path names (when walking to the end)
    ParentResult parent;  // where the last component is (when stopping before it)
  };
  Result<Outcome> walk(const RefPtr<Vnode>& start, std::string_view path, bool stop_before_last,
                       Follow follow);

  const MountTable& m_mounts;
  RefPtr<Vnode> m_root;
  int m_links = 0;
  RefPtr<Vnode> m_found_in;
};

}  // namespace nimbus::fs
