// MountTable: append-only, read without locks.
#include "kernel/fs/mount_table.h"

namespace nimbus::fs {

Result<> MountTable::mount(RefPtr<Vnode> mount_point, RefPtr<Vnode> root) {
  if (!mount_point->is_directory() || !root->is_directory()) return error(Errno::enotdir);
  MutexGuard guard(m_lock);
  size_t count = m_count.load(std::memory_order_relaxed);
  for (size_t i = 0; i < count; i++) {
    if (m_mounts[i].point == mount_point || m_mounts[i].root == root) return error(Errno::ebusy);
  }
  if (count == kMaxMounts) return error(Errno::enospc);
  m_mounts[count] = Mount{std::move(mount_point), std::move(root)};
  m_count.store(count + 1, std::memory_order_release);
  return {};
}

RefPtr<Vnode> MountTable::mounted_on(const Vnode* directory) const {
  size_t count = m_count.load(std::memory_order_acquire);
  for (size_t i = 0; i < count; i++) {
    if (m_mounts[i].point.get() == directory) return m_mounts[i].root;
  }
  return nullptr;
}

RefPtr<Vnode> MountTable::covered_by(const Vnode* root) const {
  size_t count = m_count.load(std::memory_order_acquire);
  for (size_t i = 0; i < count; i++) {
    if (m_mounts[i].root.get() == root) return m_mounts[i].point;
  }
  return nullptr;
}

}  // namespace nimbus::fs
