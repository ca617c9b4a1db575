// The ext4 on-disk format: field offsets and constants (Linux's fs/ext4/ext4.h and the
// kernel.org "ext4 Data Structures and Algorithms" document), and little-endian readers.
// Every structure is read from raw bytes at these offsets, never by casting a pointer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace nimbus::fs::ext4 {

inline uint16_t le16(const std::byte* p) {
  uint16_t value;
  memcpy(&value, p, sizeof(value));
  return value;
}
inline uint32_t le32(const std::byte* p) {
  uint32_t value;
  memcpy(&value, p, sizeof(value));
  return value;
}
inline uint8_t u8(const std::byte* p) { return static_cast<uint8_t>(*p); }
inline void put16(std::byte* p, uint16_t value) { memcpy(p, &value, sizeof(value)); }
inline void put32(std::byte* p, uint32_t value) { memcpy(p, &value, sizeof(value)); }
inline void put8(std::byte* p, uint8_t value) { *p = static_cast<std::byte>(value); }

// The superblock: 1024 bytes at byte 1024 of the device.
namespace sb {
constexpr size_t kOffset = 1024, kSize = 1024;
constexpr size_t inodes_count = 0x0, blocks_count_lo = 0x4, r_blocks_count_lo = 0x8, free_blocks_count_lo = 0xc,
                 free_inodes_count = 0x10, first_data_block = 0x14, log_block_size = 0x18, log_cluster_size = 0x1c,
                 blocks_per_group = 0x20, clusters_per_group = 0x24, inodes_per_group = 0x28, magic = 0x38,
                 state = 0x3a, rev_level = 0x4c, first_ino = 0x54, inode_size = 0x58, feature_compat = 0x5c,
                 feature_incompat = 0x60, feature_ro_compat = 0x64, uuid = 0x68, hash_seed = 0xec,
                 def_hash_version = 0xfc, desc_size = 0xfe, reserved_gdt_blocks = 0xce, mtime = 0x2c, wtime = 0x30,
                 mnt_count = 0x34, kbytes_written = 0x178, wtime_hi = 0x274, mtime_hi = 0x275, first_meta_bg = 0x104, blocks_count_hi = 0x150,
                 r_blocks_count_hi = 0x154, free_blocks_count_hi = 0x158, min_extra_isize = 0x15c, flags = 0x160,
                 checksum_type = 0x175, checksum_seed = 0x270, checksum = 0x3fc, journal_inum = 0xe0, journal_dev = 0xe4;
constexpr uint16_t kMagic = 0xef53;
constexpr uint32_t kFlagUnsignedHash = 0x2;  // EXT2_FLAGS_UNSIGNED_HASH
constexpr uint8_t kChecksumCrc32c = 1;
}  // namespace sb

// Feature bits this implementation knows (the rest of each mask is unknown).
namespace feature {
// compat: none changes how the file system is read.
constexpr uint32_t kCompatHasJournal = 0x4;
// incompat: a reader that does not understand one must refuse the mount.
constexpr uint32_t kIncompatCompression = 0x1, kIncompatFiletype = 0x2, kIncompatRecover = 0x4,
                   kIncompatJournalDev = 0x8, kIncompatMetaBg = 0x10, kIncompatExtents = 0x40, kIncompat64bit = 0x80,
                   kIncompatMmp = 0x100, kIncompatFlexBg = 0x200, kIncompatEaInode = 0x400, kIncompatDirData = 0x1000,
                   kIncompatCsumSeed = 0x2000, kIncompatLargeDir = 0x4000, kIncompatInlineData = 0x8000,
                   kIncompatEncrypt = 0x10000, kIncompatCasefold = 0x20000;
// What this reader handles.
// (kIncompatRecover: the internal journal is replayed at mount.)
constexpr uint32_t kIncompatSupported = kIncompatFiletype | kIncompatExtents | kIncompat64bit | kIncompatFlexBg |
                                        kIncompatEaInode | kIncompatCsumSeed | kIncompatLargeDir | kIncompatRecover;
// ro_compat: unknown ones allow a read-only mount.
constexpr uint32_t kRoCompatSparseSuper = 0x1, kRoCompatLargeFile = 0x2, kRoCompatHugeFile = 0x8,
                   kRoCompatGdtCsum = 0x10, kRoCompatDirNlink = 0x20, kRoCompatExtraIsize = 0x40,
                   kRoCompatBigalloc = 0x200, kRoCompatMetadataCsum = 0x400;
}  // namespace feature

// Group descriptors: 32 bytes, or s_desc_size (at least 64) with the 64bit feature.
namespace gd {
constexpr size_t block_bitmap_lo = 0x0, inode_bitmap_lo = 0x4, inode_table_lo = 0x8, free_blocks_count_lo = 0xc,
                 free_inodes_count_lo = 0xe, used_dirs_count_lo = 0x10, flags = 0x12, block_bitmap_csum_lo = 0x18,
                 inode_bitmap_csum_lo = 0x1a, itable_unused_lo = 0x1c, checksum = 0x1e, block_bitmap_hi = 0x20,
                 inode_bitmap_hi = 0x24, inode_table_hi = 0x28, free_blocks_count_hi = 0x2c,
                 free_inodes_count_hi = 0x2e, used_dirs_count_hi = 0x30, itable_unused_hi = 0x32,
                 block_bitmap_csum_hi = 0x38, inode_bitmap_csum_hi = 0x3a;
constexpr size_t kMinSize = 32, kMinSize64bit = 64, kMaxSize = 1024;
constexpr uint16_t kFlagInodeUninit = 0x1;  // EXT4_BG_INODE_UNINIT: the inode table holds nothing yet
constexpr uint16_t kFlagBlockUninit = 0x2;  // EXT4_BG_BLOCK_UNINIT: the block bitmap is not written yet
}  // namespace gd

// Inodes: 128 bytes, then i_extra_isize bytes of extra fields, within s_inode_size.
namespace inode {
constexpr size_t mode = 0x0, uid = 0x2, size_lo = 0x4, atime = 0x8, ctime = 0xc, mtime = 0x10, dtime = 0x14, gid = 0x18,
                 links_count = 0x1a, blocks_lo = 0x1c, flags = 0x20, block = 0x28, generation = 0x64,
                 file_acl_lo = 0x68, size_high = 0x6c, blocks_high = 0x74, file_acl_high = 0x76, uid_high = 0x78, gid_high = 0x7a, checksum_lo = 0x7c,
                 extra_isize = 0x80, checksum_hi = 0x82, ctime_extra = 0x84, mtime_extra = 0x88, atime_extra = 0x8c,
                 crtime = 0x90, crtime_extra = 0x94;
constexpr size_t kGoodOldSize = 128;
constexpr size_t kBlockBytes = 60;  // i_block: 15 words
constexpr uint32_t kFlagIndex = 0x1000, kFlagEncrypt = 0x800, kFlagHugeFile = 0x40000, kFlagExtents = 0x80000,
                   kFlagEaInode = 0x200000, kFlagInlineData = 0x10000000;
constexpr uint32_t kRootIno = 2;
constexpr uint16_t kWantExtraIsize = 32;  // what Linux and mke2fs give new inodes
}  // namespace inode

// Extent trees: a 12-byte header, then 12-byte index or leaf entries; in a tree block, a
// 4-byte checksum follows the eh_max'th entry.
namespace extent {
constexpr uint16_t kMagic = 0xf30a;
constexpr size_t kHeaderSize = 12, kEntrySize = 12;
constexpr size_t magic = 0, entries = 2, max = 4, depth = 6;
constexpr size_t leaf_block = 0, leaf_len = 4, leaf_start_hi = 6, leaf_start_lo = 8;
constexpr size_t index_block = 0, index_leaf_lo = 4, index_leaf_hi = 8;
constexpr uint16_t kMaxInitializedLength = 32768;  // longer: an unwritten extent of len - 32768
constexpr uint16_t kMaxDepth = 5;                  // EXT4_MAX_EXTENT_DEPTH
}  // namespace extent

// Directory entries (ext4_dir_entry_2) and the htree index (dx_root, dx_node).
namespace dir {
constexpr size_t inode = 0, rec_len = 4, name_len = 6, file_type = 7, name = 8;
constexpr size_t kHeaderSize = 8;
constexpr size_t kTailSize = 12;          // ext4_dir_entry_tail: holds a leaf block's checksum
constexpr uint8_t kTailFileType = 0xde;   // EXT4_FT_DIR_CSUM
constexpr size_t kNameMax = 255;
// dx_root: "." (12 bytes), ".." (its rec_len covers the block), then dx_root_info.
constexpr size_t root_info = 24, root_hash_version = 28, root_info_length = 29, root_indirect_levels = 30,
                 root_entries = 32;
constexpr size_t node_entries = 8;  // after an empty 8-byte entry spanning the block
constexpr size_t kEntrySize = 8;    // dx_entry: hash, block (the first's hash slot holds limit, count)
constexpr size_t kTailSize8 = 8;    // dx_tail: reserved, checksum
constexpr uint8_t kMaxLevels = 2, kMaxLevelsLargeDir = 3;
}  // namespace dir

// Directory hash versions (dx_root_info.hash_version).
enum class HashVersion : uint8_t {
  legacy = 0,
  half_md4 = 1,
  tea = 2,
  legacy_unsigned = 3,
  half_md4_unsigned = 4,
  tea_unsigned = 5,
};

}  // namespace nimbus::fs::ext4
