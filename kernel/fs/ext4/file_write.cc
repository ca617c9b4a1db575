// File writes: the extent list read once per call, holes filled with newly allocated runs
// (as long as possible, next to the previous extent), data copied through the block cache,
// and the tree written back once when the mapping changed.
#include "kernel/fs/ext4/file_write.h"

#include <cstring>

#include "kernel/fs/ext4/extent_tree.h"

namespace nimbus::fs::ext4 {
namespace {

// Where logical block `logical` is: the extent holding it (index), or the hole up to the
// next one.
struct Lookup {
  const Extent* extent = nullptr;  // null: a hole
  uint64_t hole_end = 0;           // for a hole: the next extent's first block (or the limit)
  uint64_t previous_end_physical = 0;  // the disk block after the extent before (allocation goal)
};

Lookup find(const ExtentList& extents, uint32_t logical) {
  Lookup result;
  result.hole_end = uint64_t{UINT32_MAX} + 1;
  size_t low = extent_position(extents, logical);
  if (low > 0) result.previous_end_physical = extents[low - 1].physical + extents[low - 1].length;
  if (low < extents.size()) {
    if (extents[low].logical <= logical) {
      result.extent = &extents[low];
    } else {
      result.hole_end = extents[low].logical;
    }
  }
  return result;
}

// The first block of the inode's group: where a file with no blocks yet starts looking.
uint64_t group_goal(const Volume& volume, uint32_t ino) {
  const Superblock& super = volume.super();
  uint32_t group = (ino - 1) / super.inodes_per_group;
  return super.first_data_block + uint64_t{group} * super.blocks_per_group;
}

Result<> release_run(void* context, uint64_t physical, uint32_t length) {
  auto* volume = static_cast<Volume*>(context);
  return volume->free_blocks(physical, length);
}

}  // namespace

void init_extent_root(Inode& file) {
  memset(file.block, 0, sizeof(file.block));
  put16(file.block + extent::magic, extent::kMagic);
  put16(file.block + extent::max, (inode::kBlockBytes - extent::kHeaderSize) / extent::kEntrySize);
  file.flags |= inode::kFlagExtents;
}

namespace {

// write_file_data (`data` given: copied into cached blocks) and map_file_range (`data` null:
// only the blocks are mapped, the caller keeps the bytes elsewhere).
Result<size_t> write_or_map(Volume& volume, Inode& file, uint64_t offset, size_t length, const std::byte* data) {
  uint32_t block_size = volume.block_size();
  if (length == 0) return 0;
  if (offset >= max_file_size(block_size) || length > max_file_size(block_size) - offset) return error(Errno::efbig);
  ExtentList extents;
  BlockList tree_blocks;
  TRY(read_extents(volume, file, extents, tree_blocks));
  bool remapped = false;
  uint64_t fresh_from = 0, fresh_to = 0;  // the logical blocks this call allocated last
  size_t done = 0;
  Result<> outcome;
  while (done < length) {
    uint64_t position = offset + done;
    auto logical = static_cast<uint32_t>(position / block_size);
    size_t within = position % block_size;
    size_t chunk = block_size - within;
    if (chunk > length - done) chunk = length - done;
    Lookup where = find(extents, logical);
    if (!data && where.extent && !where.extent->unwritten) {
      // Already mapped: nothing to do up to the end of the extent.
      uint64_t extent_bytes = (where.extent->logical_end() - logical) * uint64_t{block_size} - within;
      done += extent_bytes < length - done ? extent_bytes : length - done;
      continue;
    }
    uint64_t physical = 0;
    // A block whose old contents do not count (new, or preallocated) starts as zeros.
    bool fresh = logical >= fresh_from && logical < fresh_to;
    if (where.extent && !where.extent->unwritten) {
      physical = where.extent->physical + (logical - where.extent->logical);
    } else if (where.extent) {
      physical = where.extent->physical + (logical - where.extent->logical);
      if (auto mapped = set_mapping(extents, logical, 1, physical); !mapped) {
        outcome = mapped;
        break;
      }
      remapped = true;
      fresh = true;
    } else {
      // A hole: allocate as much of the rest of the write as fits before the next extent.
      uint64_t last = (offset + length - 1) / block_size;
      uint64_t span = (last < where.hole_end ? last + 1 : where.hole_end) - logical;
      uint32_t wanted = span > 32768 ? 32768 : static_cast<uint32_t>(span);
      uint64_t goal = where.previous_end_physical ? where.previous_end_physical : group_goal(volume, file.ino);
      uint32_t got = 0;
      auto allocated = volume.allocate_blocks(goal, wanted, &got);
      if (!allocated) {
        outcome = error(allocated.error());
        break;
      }
      if (auto mapped = set_mapping(extents, logical, got, *allocated); !mapped) {
        (void)volume.free_blocks(*allocated, got);
        outcome = mapped;
        break;
      }
      file.sectors += uint64_t{got} * (block_size / 512);
      remapped = true;
      physical = *allocated;
      fresh = true;
      fresh_from = logical;
      fresh_to = uint64_t{logical} + got;
    }
    if (!data) {
      done += chunk;
      continue;
    }
    // A whole block is written without reading it first; so is a fresh one (zeros around).
    auto cached =
        (fresh || chunk == block_size) ? volume.new_data_block(physical) : volume.write_block(physical);
    if (!cached) {
      outcome = error(cached.error());
      break;
    }
    memcpy(cached->mutable_data().data() + within, data + done, chunk);
    cached->mark_dirty_data();  // ordered mode: written before the commit, never logged
    done += chunk;
  }
  if (remapped) {
    // Even after a failure part-way: what was mapped must be recorded (or it leaks).
    if (auto stored = write_extents(volume, file, extents, tree_blocks); !stored && outcome) outcome = stored;
  }
  if (offset + done > file.size) file.size = offset + done;
  if (done == 0 && !outcome) return error(outcome.error());
  return done;
}

}  // namespace

Result<size_t> write_file_data(Volume& volume, Inode& file, uint64_t offset, std::span<const std::byte> data) {
  return write_or_map(volume, file, offset, data.size(), data.data());
}

Result<size_t> map_file_range(Volume& volume, Inode& file, uint64_t offset, size_t length) {
  return write_or_map(volume, file, offset, length, nullptr);
}

Result<> truncate_file_data(Volume& volume, Inode& file, uint64_t size, bool zero_tail) {
  uint32_t block_size = volume.block_size();
  if (size > max_file_size(block_size)) return error(Errno::efbig);
  if (size < file.size) {
    ExtentList extents;
    BlockList tree_blocks;
    TRY(read_extents(volume, file, extents, tree_blocks));
    uint64_t keep_blocks = (size + block_size - 1) / block_size;
    uint64_t before = 0;
    for (const Extent& e : extents) before += e.length;
    if (keep_blocks <= UINT32_MAX) {
      TRY(unmap_from(extents, static_cast<uint32_t>(keep_blocks), release_run, &volume));
    }
    uint64_t after = 0;
    for (const Extent& e : extents) after += e.length;
    file.sectors -= (before - after) * (block_size / 512);
    TRY(write_extents(volume, file, extents, tree_blocks));
    // The rest of the last block reads as zeros if the file grows again.
    if (zero_tail && size % block_size) {
      Lookup where = find(extents, static_cast<uint32_t>(size / block_size));
      if (where.extent && !where.extent->unwritten) {
        uint64_t physical = where.extent->physical + (size / block_size - where.extent->logical);
        block::CachedBlock cached = TRY(volume.write_block(physical));
        memset(cached.mutable_data().data() + size % block_size, 0, block_size - size % block_size);
        cached.mark_dirty_data();
      }
    }
  }
  file.size = size;
  return {};
}

Result<uint64_t> append_block(Volume& volume, Inode& file, uint32_t logical) {
  ExtentList extents;
  BlockList tree_blocks;
  TRY(read_extents(volume, file, extents, tree_blocks));
  Lookup where = find(extents, logical);
  if (where.extent) return error(Errno::eexist);
  uint64_t goal = where.previous_end_physical ? where.previous_end_physical : group_goal(volume, file.ino);
  uint32_t got = 0;
  uint64_t physical = TRY(volume.allocate_blocks(goal, 1, &got));
  if (auto mapped = set_mapping(extents, logical, 1, physical); !mapped) {
    (void)volume.free_blocks(physical, 1);
    return error(mapped.error());
  }
  file.sectors += volume.block_size() / 512;
  TRY(write_extents(volume, file, extents, tree_blocks));
  TRY(volume.new_block(physical));
  return physical;
}

}  // namespace nimbus::fs::ext4
