// MountTable: which file system root covers which directory (/dev on the root ramfs...).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>

#include "kernel/fs/vnode.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs {

// Mounts are only ever added (there is no umount yet), so the path walk reads the table
// without a lock: an entry is complete before the count that publishes it grows.
class MountTable {
 public:
  static constexpr size_t kMaxMounts = 16;

  // Mounts the file system whose root is `root` on the directory `mount_point`. ENOTDIR
  // unless both are directories, EBUSY if something is mounted there already or `root`
  // is mounted elsewhere, ENOSPC when the table is full.
  Result<> mount(RefPtr<Vnode> mount_point, RefPtr<Vnode> root);

  // The root mounted on `directory`, or null.
  RefPtr<Vnode> mounted_on(const Vnode* directory) const;
  // The directory that `root` (a mounted file system's root) covers, or null.
  RefPtr<Vnode> covered_by(const Vnode* root) const;
  bool is_mount_point(const Vnode* directory) const { return bool(mounted_on(directory)); }
  size_t size() const { return m_count.load(std::memory_order_acquire); }

 private:
  struct Mount {
    RefPtr<Vnode> point;
    RefPtr<Vnode> root;
  };
  Mutex m_lock;  // serializes mount()
  std::array<Mount, kMaxMounts> m_mounts;
  std::atomic<size_t> m_count{0};
};

}  // namespace nimbus::fs
