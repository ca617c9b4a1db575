// fallocate(2) on ext4: preallocation as unwritten extents (read as zeros, made written by the
// first write of each block), hole punching (whole blocks freed, partial ones zeroed) and
// zero ranges (blocks made unwritten again). As Linux's fs/ext4/extents.c ext4_fallocate.
#include <cstring>

#include "kernel/fs/ext4/ext4_vnode.h"
#include "kernel/fs/ext4/extent_tree.h"
#include "kernel/fs/ext4/file_write.h"
#include "kernel/fs/linux_abi.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs::ext4 {
namespace {

using namespace linux_abi;

// A run of logical blocks: a hole to fill, or a written run to make unwritten.
struct Run {
  uint32_t logical;
  uint32_t length;
  uint64_t physical;
};
using RunList = GrowableArray<Run>;

// The holes in logical blocks [first, end).
Result<> find_holes(const ExtentList& extents, uint32_t first, uint64_t end, RunList& holes) {
  uint64_t at = first;
  for (const Extent& e : extents) {
    if (e.logical_end() <= at) continue;
    if (e.logical >= end) break;
    if (e.logical > at) TRY(holes.push_back(Run{static_cast<uint32_t>(at), static_cast<uint32_t>(e.logical - at), 0}));
    at = e.logical_end();
  }
  if (at < end) TRY(holes.push_back(Run{static_cast<uint32_t>(at), static_cast<uint32_t>(end - at), 0}));
  return {};
}

// Where a new run for logical block `logical` should go on the disk: after the extent before
// it, or at the start of the inode's group.
uint64_t allocation_goal(const Volume& volume, const ExtentList& extents, uint32_t logical, uint32_t ino) {
  uint64_t goal = 0;
  for (const Extent& e : extents) {
    if (e.logical >= logical) break;
    goal = e.physical + e.length;
  }
  if (goal) return goal;
  const Superblock& super = volume.super();
  return super.first_data_block + uint64_t{(ino - 1) / super.inodes_per_group} * super.blocks_per_group;
}

// Gives every hole in logical blocks [first, end) new unwritten blocks. All or nothing: on
// ENOSPC what this call took is given back and the list is as before.
Result<> preallocate(Volume& volume, Inode& file, ExtentList& extents, uint32_t first, uint64_t end) {
  RunList holes, added;
  TRY(find_holes(extents, first, end, holes));
  uint64_t sectors_per_block = volume.block_size() / 512;
  Result<> outcome;
  for (const Run& hole : holes) {
    uint32_t done = 0;
    while (outcome && done < hole.length) {
      uint32_t wanted = hole.length - done;
      if (wanted > extent::kMaxInitializedLength - 1u) wanted = extent::kMaxInitializedLength - 1u;
      uint32_t logical = hole.logical + done;
      uint32_t got = 0;
      auto physical = volume.allocate_blocks(allocation_goal(volume, extents, logical, file.ino), wanted, &got);
      if (!physical) {
        outcome = error(physical.error());
        break;
      }
      if (auto pushed = added.push_back(Run{logical, got, *physical}); !pushed) {
        (void)volume.free_blocks(*physical, got);
        outcome = pushed;
        break;
      }
      if (auto mapped = set_mapping(extents, logical, got, *physical, true); !mapped) {
        outcome = mapped;
        break;
      }
      file.sectors += got * sectors_per_block;
      done += got;
    }
    if (!outcome) break;
  }
  if (!outcome) {
    for (const Run& run : added) {
      (void)unmap_range(extents, run.logical, uint64_t{run.logical} + run.length, nullptr, nullptr);
      (void)volume.free_blocks(run.physical, run.length);
      file.sectors -= run.length * sectors_per_block;
    }
  }
  return outcome;
}

// Zeroes bytes [from, to) of the file, which lie inside one block, if that block holds written
// data (a hole or an unwritten block reads as zeros already).
Result<> zero_within_block(Volume& volume, const ExtentList& extents, uint64_t from, uint64_t to) {
  uint32_t block_size = volume.block_size();
  auto logical = static_cast<uint32_t>(from / block_size);
  for (const Extent& e : extents) {
    if (e.logical_end() <= logical) continue;
    if (e.logical > logical || e.unwritten) return {};
    block::CachedBlock cached = TRY(volume.write_block(e.physical + (logical - e.logical)));
    memset(cached.mutable_data().data() + from % block_size, 0, to - from);
    cached.mark_dirty_data();
    return {};
  }
  return {};
}

// Zeroes the partial blocks at the edges of [offset, end); the whole blocks between are the
// caller's.
Result<> zero_partial_blocks(Volume& volume, const ExtentList& extents, uint64_t offset, uint64_t end) {
  uint32_t block_size = volume.block_size();
  uint64_t first_whole = (offset + block_size - 1) / block_size * block_size;
  uint64_t last_whole = end / block_size * block_size;
  if (first_whole > last_whole) return zero_within_block(volume, extents, offset, end);  // one block
  if (offset < first_whole) TRY(zero_within_block(volume, extents, offset, first_whole));
  if (last_whole < end) TRY(zero_within_block(volume, extents, last_whole, end));
  return {};
}

struct Freed {
  Volume* volume;
  uint64_t blocks = 0;
};

Result<> free_run(void* context, uint64_t physical, uint32_t length) {
  auto* freed = static_cast<Freed*>(context);
  TRY(freed->volume->free_blocks(physical, length));
  freed->blocks += length;
  return {};
}

// FALLOC_FL_PUNCH_HOLE: nothing past the end of the file (Linux stops at the page holding the
// last byte, so preallocated blocks after it stay).
Result<> punch_hole(Volume& volume, Inode& file, ExtentList& extents, uint64_t offset, uint64_t end) {
  if (offset >= file.size) return {};
  uint64_t size_page_end = (file.size + 4095) / 4096 * 4096;
  if (end > size_page_end) end = size_page_end;
  uint32_t block_size = volume.block_size();
  TRY(zero_partial_blocks(volume, extents, offset, end));
  uint64_t first = (offset + block_size - 1) / block_size, stop = end / block_size;
  if (first < stop) {
    Freed freed{&volume};
    auto unmapped = unmap_range(extents, static_cast<uint32_t>(first), stop, free_run, &freed);
    file.sectors -= freed.blocks * (block_size / 512);
    TRY(unmapped);
  }
  return {};
}

// FALLOC_FL_ZERO_RANGE: the blocks of the range, partial ones included, are allocated (holes
// become unwritten); whole written blocks become unwritten, and partial ones are zeroed.
Result<> zero_range(Volume& volume, Inode& file, ExtentList& extents, uint64_t offset, uint64_t end) {
  uint32_t block_size = volume.block_size();
  TRY(preallocate(volume, file, extents, static_cast<uint32_t>(offset / block_size),
                  (end + block_size - 1) / block_size));
  TRY(zero_partial_blocks(volume, extents, offset, end));
  uint64_t first = (offset + block_size - 1) / block_size, stop = end / block_size;
  RunList written;
  for (const Extent& e : extents) {
    if (e.unwritten || e.logical_end() <= first || e.logical >= stop) continue;
    uint64_t from = e.logical < first ? first : e.logical;
    uint64_t to = e.logical_end() < stop ? e.logical_end() : stop;
    TRY(written.push_back(
        Run{static_cast<uint32_t>(from), static_cast<uint32_t>(to - from), e.physical + (from - e.logical)}));
  }
  for (const Run& run : written) TRY(set_mapping(extents, run.logical, run.length, run.physical, true));
  return {};
}

constexpr uint64_t kPageUnit = 4096;  // the page cache's unit

}  // namespace

Result<> Ext4Vnode::allocate(uint32_t mode, uint64_t offset, uint64_t length) {
  if (is_directory()) return error(Errno::eisdir);
  if (!is_regular()) return error(Errno::enodev);
  // Moving blocks (collapse, insert) and unsharing are not implemented.
  if (mode & ~(falloc_keep_size | falloc_punch_hole | falloc_zero_range)) return error(Errno::eopnotsupp);
  MutexGuard guard(ext4().lock());
  if (!volume().writable()) return error(Errno::erofs);
  ext4().reap_orphans_locked();
  uint32_t block_size = volume().block_size();
  uint64_t end = offset + length;
  if (end > max_file_size(block_size) || end < offset) return error(Errno::efbig);
  // Punching and zeroing change file data in place through the block cache, which the page
  // cache's copies do not see: the file's dirty pages are written first and its pages from
  // the range on dropped, and the zeroed blocks are written in place after, so the next read
  // (a page-cache miss reads the disk) finds what the disk holds.
  PageCache* cache = ext4().page_cache();
  bool rewrites_data = mode & (falloc_punch_hole | falloc_zero_range);
  if (cache && rewrites_data) {
    TRY(volume().write_back_file_data());
    cache->forget(cache_key(), offset / kPageUnit);
  }
  ExtentList extents;
  BlockList tree_blocks;
  TRY(read_extents(volume(), m_inode, extents, tree_blocks));
  Result<> changed;
  Touch touch = Touch::modify;
  if (mode & falloc_punch_hole) {
    changed = punch_hole(volume(), m_inode, extents, offset, end);
  } else if (mode & falloc_zero_range) {
    changed = zero_range(volume(), m_inode, extents, offset, end);
  } else {
    changed = preallocate(volume(), m_inode, extents, static_cast<uint32_t>(offset / block_size),
                          (end + block_size - 1) / block_size);
    // Linux changes mtime only when the size grows.
    if (changed && ((mode & falloc_keep_size) || end <= m_inode.size)) touch = Touch::change;
  }
  // What was changed before a failure part-way is recorded (freed blocks must leave the tree).
  Result<> stored = write_extents(volume(), m_inode, extents, tree_blocks);
  if (changed && stored && !(mode & falloc_keep_size) && end > m_inode.size) m_inode.size = end;
  TRY(store_locked(touch));
  if (cache && rewrites_data) TRY(volume().write_back_file_data());
  ext4().limit_dirty_locked();
  TRY(changed);
  return stored;
}

}  // namespace nimbus::fs::ext4
