// Writing a file's (or directory's, or slow symlink's) blocks: allocation of the blocks a
// write or a directory's growth needs, data copied into cached blocks, and truncation.
// Callers hold the file system's lock and store the inode afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/fs/ext4/inode.h"
#include "kernel/fs/ext4/volume.h"
#include "kernel/lib/result.h"

namespace nimbus::fs::ext4 {

// The largest file size: 2^32 blocks (an extent's logical block is 32 bits).
inline uint64_t max_file_size(uint32_t block_size) { return (uint64_t{UINT32_MAX} + 1) * block_size; }

// Writes `data` at `offset`, allocating blocks for holes (and converting preallocated
// extents), and extends inode.size when the write ends past it. EFBIG past the largest
// size, ENOSPC when the disk is full (what was written before stays).
Result<size_t> write_file_data(Volume& volume, Inode& file, uint64_t offset, std::span<const std::byte> data);

// The page cache's half of a write: maps [offset, offset + length) as write_file_data does
// (allocating holes, converting preallocated extents, extending inode.size) without touching
// any data; the caller puts the bytes into its pages. How many bytes are mapped (fewer on
// ENOSPC, ending at a block boundary).
Result<size_t> map_file_range(Volume& volume, Inode& file, uint64_t offset, size_t length);

// Sets the size: blocks past a smaller size are freed and (with `zero_tail`: the data is in
// the block cache) the last block's tail zeroed; a larger size is a hole.
Result<> truncate_file_data(Volume& volume, Inode& file, uint64_t size, bool zero_tail = true);

// Gives logical block `logical` (a hole) a new, zeroed disk block and returns its number:
// for a directory's new block. inode.sectors grows; inode.size does not change.
Result<uint64_t> append_block(Volume& volume, Inode& file, uint32_t logical);

// An empty extent tree in i_block, for a new file.
void init_extent_root(Inode& file);

}  // namespace nimbus::fs::ext4
