// Files with no file system of their own (epoll, eventfd, timerfd, signalfd), as Linux's
// anon_inode: an inode on the pipe file system's device, I/O through the object's FileOps.
#pragma once

#include "kernel/fs/file.h"
#include "kernel/fs/linux_abi.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/linux/file_syscalls.h"

namespace nimbus::linux {

Result<RefPtr<fs::Vnode>> make_anonymous_inode();

// A new descriptor for `ops`; `flags` may hold O_NONBLOCK and O_CLOEXEC.
template <typename Ops>
Result<long> install_anonymous_file(RefPtr<Ops> ops, uint32_t flags) {
  using namespace fs::linux_abi;
  RefPtr<fs::Vnode> inode = TRY(make_anonymous_inode());
  auto file = TRY(fs::File::try_create_owned(inode, o_rdwr | (flags & o_nonblock), ops));
  return TRY(file_context().fds().install(file, flags & o_cloexec));
}

// The ops behind descriptor `fd` if they are of type Ops (EBADF, else EINVAL); `holder`
// keeps the file open while the caller uses them.
template <typename Ops>
Result<Ops*> anonymous_file_ops(int fd, RefPtr<fs::File>& holder) {
  holder = TRY(file_context().fds().get(fd));
  fs::FileOps* ops = holder->ops();
  if (!ops || ops->type_tag() != &Ops::kTypeTag) return error(Errno::einval);
  return static_cast<Ops*>(ops);
}

}  // namespace nimbus::linux
