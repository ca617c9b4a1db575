// Ext4Fs: an ext4 volume mounted as a FileSystem (read-only or read-write), its inodes as
// Vnodes (one live vnode per inode, found in a table while anyone holds it).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "kernel/block/block_device.h"
#include "kernel/fs/ext4/volume.h"
#include "kernel/fs/growable_array.h"
#include "kernel/fs/page_cache.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs::ext4 {

class Ext4Vnode;

// A live vnode's place in its file system's table.
struct VnodeTableEntry {
  ListNode node;
  uint32_t ino = 0;
  Ext4Vnode* vnode = nullptr;
};

class Ext4Fs final : public FileSystem, public FileDataWriter {
 public:
  enum class Access : uint8_t { read_only, read_write };
  // How many dirty blocks the cache holds before they are written back without an fsync.
  static constexpr size_t kDirtyLimit = 512;

  // Mounts the ext4 file system on `device`. On failure `*problem` says why: EINVAL (not
  // ext4, or inconsistent), EBADMSG (a checksum), EOPNOTSUPP (a feature this implementation
  // does not handle; some only for writing: then EROFS), EIO (the device), ENOMEM.
  // With `page_cache`, file data is read, written and mapped through it (the block cache keeps
  // only metadata, directories and symlink targets); without (host tests) file data goes
  // through the block cache and files cannot be mapped shared.
  static Result<Ext4Fs*> try_mount(block::BlockDevice& device, ClockFunction clock, const char** problem,
                                   Access access = Access::read_only, PageCache* page_cache = nullptr);

  // The kernel never unmounts (file systems live as long as it); tests do, once every vnode
  // but the root is gone. A writable mount is synced first.
  ~Ext4Fs() override;

  RefPtr<Vnode> root() override { return m_root; }
  StatFs statfs() override;
  bool read_only() const override { return !m_volume->writable(); }
  // Writes everything changed and flushes the device (a journal commit): fsync, syncfs,
  // sync and the periodic write-back.
  Result<> sync() override;
  // A clean unmount without destroying anything (the VM's end): sync, then the journal is
  // emptied and the file system marked as not needing recovery. A later change undoes it.
  Result<> close();

  Volume& volume() { return *m_volume; }
  PageCache* page_cache() { return m_page_cache; }
  // The vnode of inode `ino` (the live one if there is one).
  Result<RefPtr<Vnode>> vnode_for(uint32_t ino);

  // --- for the vnodes (ext4_vnode.cc) ---
  // Guards the volume and every vnode's inode. Lock order: this, then the table lock, then
  // the block cache's own.
  Mutex& lock() { return m_lock; }
  Result<RefPtr<Ext4Vnode>> vnode_for_locked(uint32_t ino);
  // A new vnode for a just-made inode, entered in the table.
  Result<RefPtr<Ext4Vnode>> adopt_new_locked(const Inode& inode);
  // Called by a dying vnode: leaves the table; an unlinked inode is freed at the next change.
  void vnode_dying(Ext4Vnode& vnode, const Inode& inode);
  // Frees the inodes of unlinked files whose last user has gone.
  void reap_orphans_locked();
  // Writes back when too much is dirty.
  void limit_dirty_locked();
  Result<> sync_locked();
  // Writes dirty page-cache pages back once too many are dirty (not a commit).
  void limit_dirty_pages_locked();

  // FileDataWriter (page_writeback.cc): the volume's dirty page-cache pages, written in place
  // in large requests before every commit; under the lock.
  bool has_dirty_file_data() override;
  Result<> write_dirty_file_data() override;

 private:
  Ext4Fs(ClockFunction clock, Volume* volume, PageCache* page_cache)
      : FileSystem(clock), m_volume(volume), m_page_cache(page_cache) {}
  // The inode `ino` as it is now: the live vnode's copy, else the inode table's. EIO (and
  // ENOENT-like failures of read_inode) when the inode is gone.
  Result<Inode> current_inode_locked(uint32_t ino);
  // Writes one batch of dirty pages (sorted by file and index) in place.
  Result<> write_pages_locked(DirtyPage* pages, size_t count);
  using Bucket = IntrusiveList<VnodeTableEntry, &VnodeTableEntry::node>;
  static constexpr size_t kBuckets = 128;

  Volume* m_volume;
  PageCache* m_page_cache;
  uint64_t m_write_back_passes = 0;
  RefPtr<Vnode> m_root;
  Mutex m_lock;
  Mutex m_table_lock;  // guards m_table and m_orphans (a dying vnode may hold m_lock or not)
  Bucket m_table[kBuckets];
  GrowableArray<Inode> m_orphans;
};

}  // namespace nimbus::fs::ext4
