// FsContext: a process's file system state (root, cwd, umask, descriptors), for the
// syscall layer to embed in its process.
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/fs/fd_table.h"
#include "kernel/fs/vfs.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs {

class FsContext {
 public:
  // Root and cwd start at the Vfs's root (which must be initialized); umask 022.
  explicit FsContext(Vfs& vfs);
  FsContext(const FsContext&) = delete;
  // fork: a new context with the same root, cwd, umask, owner and descriptors (the Files
  // shared), on the heap; freed by destroy().
  Result<FsContext*> try_copy() const;
  void destroy();
  FsContext& operator=(const FsContext&) = delete;

  Vfs& vfs() const { return m_vfs; }
  FdTable& fds() { return m_fds; }

  RefPtr<Vnode> root() const;
  RefPtr<Vnode> cwd() const;
  void set_root(RefPtr<Vnode> root);
  void set_cwd(RefPtr<Vnode> cwd);

  uint32_t umask() const { return m_umask.load(std::memory_order_relaxed); }
  // umask(2): sets the 0777 bits, returns the old mask.
  uint32_t exchange_umask(uint32_t mask) { return m_umask.exchange(mask & 0777, std::memory_order_relaxed); }

  // The owner new files get (the fsuid/fsgid; 0 unless the application changed them).
  uint32_t uid() const { return m_uid.load(std::memory_order_relaxed); }
  uint32_t gid() const { return m_gid.load(std::memory_order_relaxed); }
  void set_owner(uint32_t uid, uint32_t gid) {
    m_uid.store(uid, std::memory_order_relaxed);
    m_gid.store(gid, std::memory_order_relaxed);
  }

 private:
  Vfs& m_vfs;
  mutable Mutex m_lock;  // guards m_root and m_cwd
  RefPtr<Vnode> m_root;
  RefPtr<Vnode> m_cwd;
  std::atomic<uint32_t> m_umask{022};
  std::atomic<uint32_t> m_uid{0};
  std::atomic<uint32_t> m_gid{0};
  FdTable m_fds;
};

}  // namespace nimbus::fs
