// Extent trees: which disk blocks hold a file's logical blocks (ext4 "extents" feature), and
// (writable mounts) the flat list of a file's extents read out of the tree and written back
// as a new tree of the least depth.
#pragma once

#include <cstdint>

#include "kernel/fs/ext4/inode.h"
#include "kernel/fs/growable_array.h"
#include "kernel/fs/ext4/volume.h"
#include "kernel/lib/result.h"

namespace nimbus::fs::ext4 {

// What logical block `logical` and the `length` blocks after it map to, all alike.
struct BlockRun {
  uint64_t physical = 0;  // the first one's disk block (when mapped)
  uint32_t length = 0;    // at least 1
  bool mapped = false;    // false: a hole, or an unwritten (preallocated) extent: reads zeros
};

// Looks up `logical` in the inode's extent tree, checking every node it passes (magic,
// counts, depth, order, checksum, block ranges). EIO on corruption (reported to the volume).
Result<BlockRun> map_block(Volume& volume, const Inode& inode, uint32_t logical);

// One extent: `length` logical blocks from `logical` on at `physical` on the disk.
struct Extent {
  uint32_t logical = 0;
  uint32_t length = 0;
  uint64_t physical = 0;
  bool unwritten = false;  // preallocated: reads zeros
  uint64_t logical_end() const { return uint64_t{logical} + length; }
};
using ExtentList = GrowableArray<Extent>;
using BlockList = GrowableArray<uint64_t>;

// Where logical block `logical` falls in `extents` (in logical order): the index of the first
// extent ending after it, which holds it or follows the hole it is in; extents.size() past
// the last one. A binary search.
size_t extent_position(const ExtentList& extents, uint64_t logical);

// Every extent of the file in logical order, and the disk blocks of its tree nodes (index
// and leaf blocks; none when the tree fits in i_block). Checks as map_block does.
Result<> read_extents(Volume& volume, const Inode& inode, ExtentList& extents, BlockList& tree_blocks);

// Rewrites the inode's tree (i_block and tree blocks) to hold `extents`, reusing
// `tree_blocks` and allocating or freeing nodes as needed; inode.sectors follows the change
// in tree blocks. The caller stores the inode.
Result<> write_extents(Volume& volume, Inode& inode, const ExtentList& extents, BlockList& tree_blocks);

// Maps `length` blocks from `logical` on to `physical` on (written, or preallocated with
// `unwritten`), splitting or replacing what the list had there and merging with neighbours.
Result<> set_mapping(ExtentList& extents, uint32_t logical, uint32_t length, uint64_t physical,
                     bool unwritten = false);

// Removes every mapping at or after logical block `from`, calling `release` for each disk
// run that was mapped (to free it).
using ReleaseRun = Result<> (*)(void* context, uint64_t physical, uint32_t length);
// Removes the mappings of logical blocks [logical, end) (a punched hole), calling `release`
// (when not null) for each disk run that was mapped there.
Result<> unmap_range(ExtentList& extents, uint32_t logical, uint64_t end, ReleaseRun release, void* context);
Result<> unmap_from(ExtentList& extents, uint32_t from, ReleaseRun release, void* context);

}  // namespace nimbus::fs::ext4
