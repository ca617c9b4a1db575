// Helpers the facade's files share: dirfd-relative lookups.
#pragma once

#include <string_view>

#include "kernel/fs/fs_context.h"
#include "kernel/fs/path_walk.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"

namespace nimbus::fs::detail {

// A walk from the context's root, over its mounts.
inline PathWalk walk_for(FsContext& context) { return PathWalk(context.vfs().mounts(), context.root()); }

// Where a dirfd-relative path starts: the cwd for AT_FDCWD, else the descriptor's vnode
// (EBADF if not open). An absolute path ignores dirfd, bad or not.
Result<RefPtr<Vnode>> start_of(FsContext& context, int dirfd, std::string_view path);

// The object `path` names relative to dirfd; an empty path is ENOENT unless `allow_empty`
// (AT_EMPTY_PATH), and then names dirfd's own vnode.
Result<RefPtr<Vnode>> lookup_at(FsContext& context, int dirfd, std::string_view path, PathWalk::Follow follow,
                                bool allow_empty);

// The directory and last component of a path about to be created or removed.
Result<ParentResult> parent_at(FsContext& context, PathWalk& walk, int dirfd, std::string_view path);

}  // namespace nimbus::fs::detail
