// Reading a regular file's (or slow symlink's) bytes: through the block cache (read_file_data,
// for symlinks and mounts without a page cache) or whole pages for the page cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/fs/ext4/inode.h"
#include "kernel/fs/ext4/volume.h"
#include "kernel/lib/result.h"

namespace nimbus::fs::ext4 {

// Reads from `offset` up to the end of the file; holes and unwritten extents read as zeros.
Result<size_t> read_file_data(Volume& volume, const Inode& file, uint64_t offset, std::span<std::byte> buffer);
// The page cache's read: whole 4 KiB pages of the file from page `first` on, read from the disk
// straight into `pages` (direct-map memory) with one request per run of blocks, all submitted
// together; holes, unwritten extents and bytes past the end of the file are zeros. File data
// does not pass through the block cache (metadata, the extent tree included, does).
Result<> read_file_pages(Volume& volume, const Inode& file, uint64_t first, std::span<std::byte* const> pages);
// SEEK_DATA / SEEK_HOLE: the first byte at or after `offset` in data (or in a hole); ENXIO
// at or past the end of the file. The end of the file counts as a hole.
Result<uint64_t> next_data_offset(Volume& volume, const Inode& file, uint64_t offset);
Result<uint64_t> next_hole_offset(Volume& volume, const Inode& file, uint64_t offset);

}  // namespace nimbus::fs::ext4
