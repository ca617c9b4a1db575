// Volume: a mounted ext4 file system's metadata access: the checked superblock and group
// descriptors, inodes by number, blocks through the block cache, and (writable mounts) the
// allocation of blocks and inodes in the group bitmaps. Callers serialize every call that
// changes anything (Ext4Fs holds its lock).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/block/block_cache.h"
#include "kernel/block/block_device.h"
#include "kernel/fs/ext4/inode.h"
#include "kernel/fs/ext4/superblock.h"
#include "kernel/lib/result.h"

namespace nimbus::fs::ext4 {

// Where corruption found after mount is reported (the kernel prints it); none by default.
using ProblemLogger = void (*)(const char* device, uint32_t ino, const char* problem);
void set_problem_logger(ProblemLogger logger);

class Journal;

// File data kept outside the block cache (the kernel's page cache), which its owner writes in
// place when asked: before every journal commit (ordered mode), so no committed metadata
// points at blocks whose data is not on the disk yet.
class FileDataWriter {
 public:
  virtual bool has_dirty_file_data() = 0;
  // Writes every dirty page in place (not flushed). Called with the file system's lock held.
  virtual Result<> write_dirty_file_data() = 0;

 protected:
  ~FileDataWriter() = default;
};

class Volume {
 public:
  // How much the block cache holds, in bytes.
  static constexpr size_t kCacheBytes = 4 << 20;

  // Reads and checks the superblock and every group descriptor, and opens the internal
  // journal; when the file system needs recovery, replays the journal first (on a writable
  // device, whatever the mount will be: as Linux does). On failure `*problem` says why (see
  // parse_superblock and Journal for the errors; EROFS: recovery needed on a read-only device).
  static Result<Volume*> try_open(block::BlockDevice& device, const char** problem);
  ~Volume();
  Volume(const Volume&) = delete;
  Volume& operator=(const Volume&) = delete;

  const Superblock& super() const { return m_super; }
  bool writable() const { return m_writable; }
  void set_writable(bool writable) { m_writable = writable; }
  uint32_t block_size() const { return m_super.block_size; }
  block::BlockCache& cache() { return *m_cache; }
  // The disk itself, for file data read straight into page-cache pages.
  block::BlockDevice& device() { return m_device; }

  // Inode `ino`, checked. EIO (with the reason logged once per call) when it is out of
  // range, in an uninitialized part of its group's table, unused, or corrupt.
  Result<Inode> read_inode(uint32_t ino);
  // The inode table block holding inode `ino` (a valid number), and where in it the inode's
  // bytes start: for its in-inode extended attributes, which Inode does not hold. A writer
  // marks the block dirty and then stores the inode (its checksum covers those bytes).
  Result<block::CachedBlock> inode_table_block(uint32_t ino, size_t* offset);
  // File system block `number`, which must lie after the superblock and inside the file
  // system (EIO otherwise: a corrupt pointer).
  Result<block::CachedBlock> read_block(uint64_t number);
  // Whether `count` blocks from `first` lie inside the file system's data area.
  bool blocks_valid(uint64_t first, uint64_t count) const {
    return first > m_super.first_data_block && first < m_super.block_count && count <= m_super.block_count - first;
  }
  // --- writing (allocator.cc) ---
  // Block `number` to change: the caller writes mutable_data() and calls mark_dirty().
  Result<block::CachedBlock> write_block(uint64_t number);
  // A newly allocated block `number`, zeroed, without reading it.
  Result<block::CachedBlock> new_block(uint64_t number);
  // The same for a block of file data (written in place before the commit, never logged).
  Result<block::CachedBlock> new_data_block(uint64_t number);
  // Stores `node` into its place in the inode table (checksum included); `deleted_at`
  // (seconds) marks a freed inode.
  Result<> write_inode(const Inode& node, uint32_t deleted_at = 0);
  // A free inode, marked used, near `parent`'s group: a zeroed Inode with its number,
  // generation and checksum seed; the caller fills it and calls write_inode. ENOSPC.
  Result<Inode> allocate_inode(uint32_t parent, bool directory, int64_t now_ns);
  // Returns inode `ino` to its group (its blocks must be freed already).
  Result<> free_inode(uint32_t ino, bool directory);
  // Up to `wanted` consecutive free blocks, marked used, at `goal` or as near after it as
  // possible; `*got` says how many (at least 1). ENOSPC when none is free.
  Result<uint64_t> allocate_blocks(uint64_t goal, uint32_t wanted, uint32_t* got);
  Result<> free_blocks(uint64_t first, uint64_t count);
  // Writes the superblock's counts and every dirty block; with `flushed`, the device's cache
  // too. What fsync, the periodic write-back and power-off call. With a journal, every call
  // is a journal commit (always durable).
  Result<> sync(block::BlockCache::Durability durability, int64_t now_ns);
  // Where file data outside the block cache is written back from (Ext4Fs, with a page cache).
  void set_file_data_writer(FileDataWriter* writer) { m_file_data_writer = writer; }
  // Writes all dirty file data in place, not flushed: the data writer's, then the block
  // cache's blocks of file data (slow symlinks, mounts without a page cache).
  Result<> write_back_file_data();
  // The internal journal, or null (a file system made without one).
  Journal* journal() { return m_journal; }
  // Sets (a writable mount begins) or clears (a clean unmount ends) INCOMPAT_RECOVER on the
  // disk, durably; the cache must hold nothing else dirty.
  Result<> set_needs_recovery(bool recover);
  // A clean unmount: commits, empties the journal, clears INCOMPAT_RECOVER. A later change
  // sets it again first.
  Result<> close(int64_t now_ns);
  // How many journal transactions the mount replayed.
  uint32_t replayed_transactions() const { return m_replayed; }

  // Notes a corruption found while reading (kept for tests, and logged).
  void report(const char* problem, uint32_t ino);
  const char* last_problem() const { return m_last_problem; }
  uint64_t problems() const { return m_problem_count; }

 private:
  Volume(block::BlockDevice& device, const Superblock& super) : m_device(device), m_super(super) {}
  // try_open without the journal.
  static Result<Volume*> open_plain(block::BlockDevice& device, const char** problem);
  // Reads and checks every group descriptor into m_groups.
  Result<> load_group_descriptors(const char** problem);
  // Writes m_groups[group] back into the descriptor table.
  Result<> store_descriptor(uint32_t group);
  // A group's block or inode bitmap, made first when the group's flags say it was never
  // written (BLOCK_UNINIT / INODE_UNINIT).
  Result<block::CachedBlock> block_bitmap(uint32_t group);
  Result<block::CachedBlock> inode_bitmap(uint32_t group);
  // Marks the blocks of the group's own metadata (superblock and descriptor copies, and the
  // bitmaps and inode tables of any group placed in it) in a new block bitmap.
  void mark_group_metadata(uint32_t group, std::byte* bitmap);
  uint32_t bitmap_checksum(const std::byte* bitmap, uint32_t bits) const;
  uint32_t blocks_in_group(uint32_t group) const;
  // Looks for free blocks in one group from bit `from` on.
  Result<uint64_t> allocate_in_group(uint32_t group, uint32_t from, uint32_t wanted, uint32_t* got);

  block::BlockDevice& m_device;
  Superblock m_super;
  GroupDescriptor* m_groups = nullptr;
  block::BlockCache* m_cache = nullptr;
  bool m_writable = false;
  Journal* m_journal = nullptr;
  FileDataWriter* m_file_data_writer = nullptr;
  bool m_marked_recovering = false;  // INCOMPAT_RECOVER is set on the disk by this mount
  uint32_t m_replayed = 0;
  bool m_super_dirty = false;  // the counts changed since the superblock was last stored
  const char* m_last_problem = nullptr;
  uint64_t m_problem_count = 0;
};

}  // namespace nimbus::fs::ext4
