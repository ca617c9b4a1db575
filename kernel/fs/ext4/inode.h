// An ext4 inode, parsed from its on-disk bytes and checked (checksum, sizes, flags).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/fs/ext4/ext4_format.h"
#include "kernel/fs/ext4/superblock.h"
#include "kernel/lib/result.h"

namespace nimbus::fs::ext4 {

struct Inode {
  uint32_t ino = 0;
  uint16_t mode = 0;  // S_IF* type and permission bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint16_t links = 0;
  uint64_t sectors = 0;  // 512-byte units allocated (st_blocks)
  uint32_t flags = 0;
  uint32_t generation = 0;
  int64_t atime_ns = 0, mtime_ns = 0, ctime_ns = 0, btime_ns = 0;
  std::byte block[inode::kBlockBytes] = {};  // i_block: the extent tree's root, or a fast symlink
  uint32_t csum_seed = 0;  // for the checksums of this inode's extent and directory blocks
  uint16_t extra_isize = 0;
  uint64_t xattr_block = 0;  // i_file_acl: the block of extended attributes (0: none)

  bool has_extents() const { return flags & inode::kFlagExtents; }
  bool is_hashed_directory() const { return flags & inode::kFlagIndex; }
};

// Parses inode `ino` from its inode_size bytes. EBADMSG on a checksum mismatch, EUCLEAN-like
// corruption as EIO; `*problem` says which.
Result<Inode> parse_inode(const Superblock& super, uint32_t ino, std::span<const std::byte> raw, const char** problem);

// Writes the inode's fields into its inode_size raw bytes (keeping what this implementation
// does not model, such as in-inode extended attributes) and updates the checksum. A new
// inode's bytes are zeroed first by the caller; `deleted_at` (seconds) sets i_dtime.
void store_inode(const Superblock& super, const Inode& node, std::span<std::byte> raw, uint32_t deleted_at = 0);

// The checksum seed of inode `ino` of `generation` (metadata_csum).
uint32_t inode_csum_seed(const Superblock& super, uint32_t ino, uint32_t generation);

}  // namespace nimbus::fs::ext4
