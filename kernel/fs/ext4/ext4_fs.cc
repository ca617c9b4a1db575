// Ext4Fs: mounting (read-only, or read-write when every feature is one this code writes),
// the table of live vnodes, unlinked inodes freed when their last user goes, statfs, sync.
#include "kernel/fs/ext4/ext4_fs.h"

#include "kernel/fs/ext4/ext4_vnode.h"
#include "kernel/fs/ext4/file_write.h"
#include "kernel/fs/ext4/journal.h"
#include "kernel/fs/ext4/xattr.h"

namespace nimbus::fs::ext4 {
namespace {

constexpr uint64_t kExt4Magic = 0xef53;  // EXT4_SUPER_MAGIC
constexpr uint64_t kStatFsReadOnly = 1;  // ST_RDONLY

// The ro_compat features this code keeps right when it writes.
constexpr uint32_t kRoCompatWritable = feature::kRoCompatSparseSuper | feature::kRoCompatLargeFile |
                                       feature::kRoCompatHugeFile | feature::kRoCompatGdtCsum |
                                       feature::kRoCompatDirNlink | feature::kRoCompatExtraIsize |
                                       feature::kRoCompatMetadataCsum;

// Why a volume cannot be written, or null.
const char* unwritable_reason(const Superblock& super) {
  if (super.ro_compat & ~kRoCompatWritable) return "it has a read-only-compatible feature this implementation does not write";
  if (super.incompat & feature::kIncompatEaInode) return "the ea_inode feature is not written";
  if (super.gdt_csum && !super.metadata_csum) return "uninit_bg without metadata_csum is not written";
  return nullptr;
}

}  // namespace

Result<Ext4Fs*> Ext4Fs::try_mount(block::BlockDevice& device, ClockFunction clock, const char** problem, Access access,
                                  PageCache* page_cache) {
  Volume* volume = TRY(Volume::try_open(device, problem));
  if (access == Access::read_write) {
    if (device.info().read_only) {
      delete volume;
      *problem = "the device is read-only";
      return error(Errno::erofs);
    }
    if (const char* reason = unwritable_reason(volume->super())) {
      delete volume;
      *problem = reason;
      return error(Errno::erofs);
    }
    volume->set_writable(true);
    // While mounted read-write the journal may hold a transaction at any moment.
    if (volume->journal()) {
      if (auto marked = volume->set_needs_recovery(true); !marked) {
        delete volume;
        *problem = "the superblock cannot be written";
        return error(marked.error());
      }
    }
  }
  auto* fs = new (kNoThrow) Ext4Fs(clock, volume, page_cache);
  if (!fs) {
    delete volume;
    *problem = "out of memory";
    return error(Errno::enomem);
  }
  auto root = fs->vnode_for(inode::kRootIno);
  if (!root || !(*root)->is_directory()) {
    *problem = volume->last_problem() ? volume->last_problem() : "the root inode is not a directory";
    root = error(Errno::einval);
    volume->set_writable(false);  // nothing to write back
    delete fs;
    return error(Errno::einval);
  }
  fs->m_root = *root;
  if (page_cache) volume->set_file_data_writer(fs);
  return fs;
}

Ext4Fs::~Ext4Fs() {
  m_root = nullptr;
  (void)close();
  delete m_volume;
}

Result<> Ext4Fs::close() {
  MutexGuard guard(m_lock);
  reap_orphans_locked();
  return m_volume->close(now());
}

Result<RefPtr<Vnode>> Ext4Fs::vnode_for(uint32_t ino) {
  MutexGuard guard(m_lock);
  return TRY(vnode_for_locked(ino));
}

Result<RefPtr<Ext4Vnode>> Ext4Fs::vnode_for_locked(uint32_t ino) {
  {
    MutexGuard table(m_table_lock);
    Bucket& bucket = m_table[ino % kBuckets];
    for (VnodeTableEntry* entry = bucket.front(); entry; entry = bucket.next(entry)) {
      // A vnode whose count reached zero is dying: its successor is read from the disk.
      if (entry->ino == ino && entry->vnode->try_ref()) return adopt_ref(entry->vnode);
    }
  }
  Inode inode = TRY(m_volume->read_inode(ino));
  return adopt_new_locked(inode);
}

Result<RefPtr<Ext4Vnode>> Ext4Fs::adopt_new_locked(const Inode& inode) {
  auto* vnode = new (kNoThrow) Ext4Vnode(*this, inode);
  if (!vnode) return error(Errno::enomem);
  {
    MutexGuard table(m_table_lock);
    m_table[inode.ino % kBuckets].push_back(&vnode->table_entry());
  }
  RefPtr<Ext4Vnode> reference = adopt_ref(vnode);
  TRY(vnode->load());
  return reference;
}

void Ext4Fs::vnode_dying(Ext4Vnode& vnode, const Inode& inode) {
  MutexGuard table(m_table_lock);
  m_table[inode.ino % kBuckets].remove(&vnode.table_entry());
  if (inode.links == 0 && m_volume->writable()) {
    if (!m_orphans.push_back(inode)) m_volume->report("an unlinked inode is lost (out of memory)", inode.ino);
  }
}

void Ext4Fs::reap_orphans_locked() {
  for (;;) {
    Inode orphan;
    {
      MutexGuard table(m_table_lock);
      if (m_orphans.empty()) return;
      orphan = m_orphans[m_orphans.size() - 1];
      m_orphans.truncate(m_orphans.size() - 1);
    }
    bool directory = (orphan.mode & 0xf000) == 0x4000;
    bool has_blocks = orphan.has_extents();
    // Its pages, dirty ones included, die with it (before its blocks can be reused).
    if (m_page_cache) m_page_cache->forget(CachedFileKey{m_volume, orphan.ino}, 0);
    if (has_blocks && !truncate_file_data(*m_volume, orphan, 0)) {
      m_volume->report("the blocks of an unlinked inode cannot be freed", orphan.ino);
      continue;
    }
    if (!release_xattr_block(*m_volume, orphan)) {
      m_volume->report("the extended attribute block of an unlinked inode cannot be freed", orphan.ino);
      continue;
    }
    orphan.size = 0;
    orphan.ctime_ns = now();
    if (!m_volume->write_inode(orphan, static_cast<uint32_t>(now() / 1'000'000'000))) continue;
    (void)m_volume->free_inode(orphan.ino, directory);
  }
}

void Ext4Fs::limit_dirty_locked() {
  size_t limit = kDirtyLimit;
  // A transaction must fit in the journal, with room for what one more operation dirties.
  if (Journal* journal = m_volume->journal(); journal && journal->capacity() / 2 < limit) limit = journal->capacity() / 2;
  if (m_volume->cache().dirty_count() < limit) return;
  (void)m_volume->sync(block::BlockCache::Durability::written, now());
}

void Ext4Fs::limit_dirty_pages_locked() {
  if (!m_page_cache || !m_page_cache->over_dirty_limit()) return;
  (void)write_dirty_file_data();
}

Result<> Ext4Fs::sync_locked() {
  reap_orphans_locked();
  return m_volume->sync(block::BlockCache::Durability::flushed, now());
}

Result<> Ext4Fs::sync() {
  MutexGuard guard(m_lock);
  return sync_locked();
}

StatFs Ext4Fs::statfs() {
  MutexGuard guard(m_lock);
  const Superblock& super = m_volume->super();
  StatFs result;
  result.type = kExt4Magic;
  result.block_size = super.block_size;
  result.blocks = super.block_count;
  result.blocks_free = super.free_blocks;
  result.blocks_available = super.free_blocks > super.reserved_blocks ? super.free_blocks - super.reserved_blocks : 0;
  result.files = super.inode_count;
  result.files_free = super.free_inodes;
  result.dev_minor = device_minor();
  result.flags = read_only() ? kStatFsReadOnly : 0;
  return result;
}

}  // namespace nimbus::fs::ext4
