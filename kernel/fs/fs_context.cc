// FsContext: root and cwd under a lock.
#include "kernel/fs/fs_context.h"

namespace nimbus::fs {

FsContext::FsContext(Vfs& vfs) : m_vfs(vfs), m_root(vfs.root()), m_cwd(vfs.root()) {}

Result<FsContext*> FsContext::try_copy() const {
  auto* copy = new (kNoThrow) FsContext(m_vfs);
  if (!copy) return error(Errno::enomem);
  copy->set_root(root());
  copy->set_cwd(cwd());
  copy->m_umask.store(umask());
  copy->set_owner(uid(), gid());
  if (auto copied = copy->m_fds.copy_from(m_fds); !copied) {
    copy->destroy();
    return error(copied.error());
  }
  return copy;
}

void FsContext::destroy() { delete this; }

RefPtr<Vnode> FsContext::root() const {
  MutexGuard guard(m_lock);
  return m_root;
}

RefPtr<Vnode> FsContext::cwd() const {
  MutexGuard guard(m_lock);
  return m_cwd;
}

void FsContext::set_root(RefPtr<Vnode> root) {
  RefPtr<Vnode> old;  // released after the lock
  MutexGuard guard(m_lock);
  old = std::move(m_root);
  m_root = std::move(root);
}

void FsContext::set_cwd(RefPtr<Vnode> cwd) {
  RefPtr<Vnode> old;
  MutexGuard guard(m_lock);
  old = std::move(m_cwd);
  m_cwd = std::move(cwd);
}

}  // namespace nimbus::fs
