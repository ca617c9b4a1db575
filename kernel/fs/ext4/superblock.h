// The ext4 superblock and group descriptors, parsed and checked: every value later code
// relies on (sizes, counts, locations, checksums) is validated here once, at mount.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/lib/result.h"

namespace nimbus::fs::ext4 {

struct Superblock {
  uint32_t block_size = 0;
  uint64_t block_count = 0;
  uint64_t free_blocks = 0;
  uint64_t reserved_blocks = 0;
  uint32_t inode_count = 0;
  uint32_t free_inodes = 0;
  uint32_t first_data_block = 0;
  uint32_t blocks_per_group = 0;
  uint32_t inodes_per_group = 0;
  uint32_t inode_size = 0;
  uint32_t first_ino = 0;
  uint32_t group_count = 0;
  uint32_t desc_size = 0;
  uint32_t compat = 0, incompat = 0, ro_compat = 0;
  bool metadata_csum = false;
  bool gdt_csum = false;  // the older CRC16 group descriptor checksums
  bool huge_file = false;
  bool large_dir = false;
  uint32_t csum_seed = 0;  // crc32c of the UUID, or s_checksum_seed
  uint8_t uuid[16] = {};
  uint32_t hash_seed[4] = {};
  uint8_t default_hash_version = 0;
  bool unsigned_hash = false;
  uint16_t min_extra_isize = 0;
  uint16_t reserved_gdt_blocks = 0;  // room kept after the descriptor table for resizing
  bool sparse_super = false;         // superblock backups only in groups 0, 1 and powers of 3, 5, 7
  bool has_journal = false;          // an internal jbd2 journal in inode journal_inum
  uint32_t journal_inum = 0;
};

// Parses the 1024 superblock bytes of a device holding `device_bytes`. On failure `*problem`
// says why, for the mount error message (EINVAL: not ext4 or inconsistent; EBADMSG: a bad
// checksum; EOPNOTSUPP: a feature this reader does not handle).
Result<Superblock> parse_superblock(std::span<const std::byte> raw, uint64_t device_bytes, const char** problem);

struct GroupDescriptor {
  uint64_t block_bitmap = 0;
  uint64_t inode_bitmap = 0;
  uint64_t inode_table = 0;
  uint32_t free_blocks = 0;
  uint32_t free_inodes = 0;
  uint16_t flags = 0;
  uint32_t itable_unused = 0;
  uint32_t used_dirs = 0;
  uint32_t block_bitmap_csum = 0;
  uint32_t inode_bitmap_csum = 0;
};

// Parses and checks descriptor `group` from its raw bytes (desc_size of them): its checksum
// and that its bitmaps and inode table lie inside the file system.
Result<GroupDescriptor> parse_group_descriptor(const Superblock& super, uint32_t group, std::span<const std::byte> raw,
                                               const char** problem);

// Writes the fields a writer changes (counts, flags, unused inodes, bitmap checksums) into
// descriptor `group`'s raw bytes and updates its checksum.
void store_group_descriptor(const Superblock& super, uint32_t group, const GroupDescriptor& descriptor,
                            std::span<std::byte> raw);

// Writes the free block and inode counts and the write time into the 1024 superblock bytes
// and updates its checksum.
void store_superblock(const Superblock& super, std::span<std::byte> raw, int64_t now_seconds);

// Sets or clears INCOMPAT_RECOVER ("the journal may hold transactions to replay") in the
// 1024 superblock bytes and updates the checksum.
void store_recover_flag(const Superblock& super, std::span<std::byte> raw, bool recover);

// Whether group `group` holds a copy of the superblock and descriptor table.
bool group_has_super(const Superblock& super, uint32_t group);
// How many blocks the descriptor table takes.
inline uint64_t descriptor_table_blocks(const Superblock& super) {
  return (uint64_t{super.group_count} * super.desc_size + super.block_size - 1) / super.block_size;
}

// The block holding the descriptor table's first block (the one after the superblock's).
inline uint64_t descriptor_table_block(const Superblock& super) { return uint64_t{super.first_data_block} + 1; }

}  // namespace nimbus::fs::ext4
