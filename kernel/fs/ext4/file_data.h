// Reading a regular file's (or slow symlink's) bytes: the one path file data takes, through
// the block cache today and through the page cache later.
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
// SEEK_DATA / SEEK_HOLE: the first byte at or after `offset` in data (or in a hole); ENXIO
// at or past the end of the file. The end of the file counts as a hole.
Result<uint64_t> next_data_offset(Volume& volume, const Inode& file, uint64_t offset);
Result<uint64_t> next_hole_offset(Volume& volume, const Inode& file, uint64_t offset);

}  // namespace nimbus::fs::ext4
