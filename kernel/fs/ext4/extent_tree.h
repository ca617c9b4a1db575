// Extent trees: which disk blocks hold a file's logical blocks (ext4 "extents" feature).
#pragma once

#include <cstdint>

#include "kernel/fs/ext4/inode.h"
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

}  // namespace nimbus::fs::ext4
