// ext4 directories: listing (linear, in block order) and name lookup (through the htree
// index when the directory has one, else linear), with every entry and checksum checked.
#pragma once

#include <cstdint>
#include <string_view>

#include "kernel/fs/ext4/inode.h"
#include "kernel/fs/ext4/volume.h"
#include "kernel/lib/result.h"

namespace nimbus::fs::ext4 {

struct DirectoryEntry {
  std::string_view name;
  uint32_t ino = 0;
  uint8_t file_type = 0;       // EXT4_FT_*: 1 file, 2 dir, 3 chr, 4 blk, 5 fifo, 6 sock, 7 symlink
  uint64_t next_position = 0;  // the position after this entry
};

// Called for each entry; false stops the listing before it (it is listed next time).
using EntryVisitor = bool (*)(void* context, const DirectoryEntry& entry);

// Lists the entries ("." and ".." included, as stored) from `*position` (a byte offset in
// the directory; 0 starts) on, advancing it past each entry visited. EIO on corruption.
Result<> list_directory(Volume& volume, const Inode& directory, uint64_t* position, EntryVisitor visit, void* context);

// Where the directory's logical block `logical` is on the device: EIO (reported) for a hole,
// which no directory may have.
Result<uint64_t> directory_block_address(Volume& volume, const Inode& directory, uint32_t logical);

// The entry called `name`: ENOENT if none, EIO on corruption.
Result<DirectoryEntry> find_entry(Volume& volume, const Inode& directory, std::string_view name);

struct LookupStatistics {
  uint64_t hashed = 0;  // lookups answered through the htree index
  uint64_t linear = 0;  // lookups that scanned the directory
};
LookupStatistics lookup_statistics();

}  // namespace nimbus::fs::ext4
