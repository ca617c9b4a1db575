// Superblock and group descriptor parsing: geometry, features and checksums.
#include "kernel/fs/ext4/superblock.h"

#include <cstring>

#include "kernel/fs/ext4/ext4_format.h"
#include "kernel/lib/crc32c.h"

namespace nimbus::fs::ext4 {
namespace {

// CRC-16 (ANSI, reflected 0xa001) of the gdt_csum feature.
uint16_t crc16(uint16_t crc, const void* data, size_t length) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < length; i++) {
    crc ^= bytes[i];
    for (int bit = 0; bit < 8; bit++) crc = static_cast<uint16_t>((crc >> 1) ^ ((crc & 1) ? 0xa001 : 0));
  }
  return crc;
}

std::unexpected<Errno> fail(const char** problem, const char* why, Errno code = Errno::einval) {
  *problem = why;
  return error(code);
}

const char* unsupported_incompat(uint32_t incompat) {
  using namespace feature;
  if (incompat & kIncompatJournalDev) return "it is an external journal device";
  if (incompat & kIncompatMetaBg) return "the meta_bg feature is not supported";
  if (incompat & kIncompatInlineData) return "the inline_data feature is not supported";
  if (incompat & kIncompatEncrypt) return "the encrypt feature is not supported";
  if (incompat & kIncompatCasefold) return "the casefold feature is not supported";
  if (incompat & kIncompatMmp) return "the mmp feature is not supported";
  if (incompat & kIncompatDirData) return "the dirdata feature is not supported";
  if (incompat & kIncompatCompression) return "the compression feature is not supported";
  if (!(incompat & kIncompatFiletype)) return "directories without file types are not supported";
  return "it has an unknown incompatible feature";
}

bool power_of_two(uint64_t value) { return value && !(value & (value - 1)); }

// The descriptor's checksum: crc32c (metadata_csum, low 16 bits) or CRC-16 (gdt_csum) over
// the group number and the descriptor without its checksum field.
uint16_t descriptor_checksum(const Superblock& super, uint32_t group, const std::byte* p) {
  uint32_t group_le = group;  // x86 is little-endian, as the disk
  if (super.metadata_csum) {
    uint16_t zero = 0;
    uint32_t crc = crc32c(super.csum_seed, &group_le, sizeof(group_le));
    crc = crc32c(crc, p, gd::checksum);
    crc = crc32c(crc, &zero, sizeof(zero));
    crc = crc32c(crc, p + gd::checksum + 2, super.desc_size - gd::checksum - 2);
    return static_cast<uint16_t>(crc);
  }
  uint16_t crc = crc16(0xffff, super.uuid, sizeof(super.uuid));
  crc = crc16(crc, &group_le, sizeof(group_le));
  crc = crc16(crc, p, gd::checksum);
  if (super.desc_size > gd::checksum + 2) crc = crc16(crc, p + gd::checksum + 2, super.desc_size - gd::checksum - 2);
  return crc;
}

bool is_power_of(uint32_t value, uint32_t base) {
  while (value > 1 && value % base == 0) value /= base;
  return value == 1;
}

}  // namespace

Result<Superblock> parse_superblock(std::span<const std::byte> raw, uint64_t device_bytes, const char** problem) {
  using namespace feature;
  if (raw.size() < sb::kSize) return fail(problem, "the superblock is truncated");
  const std::byte* p = raw.data();
  if (le16(p + sb::magic) != sb::kMagic) return fail(problem, "no ext2/3/4 superblock (bad magic)");
  Superblock super;
  super.compat = le32(p + sb::feature_compat);
  super.incompat = le32(p + sb::feature_incompat);
  super.ro_compat = le32(p + sb::feature_ro_compat);
  super.metadata_csum = super.ro_compat & kRoCompatMetadataCsum;
  if (super.metadata_csum) {
    if (u8(p + sb::checksum_type) != sb::kChecksumCrc32c) return fail(problem, "unknown superblock checksum type");
    if (crc32c(~0u, p, sb::checksum) != le32(p + sb::checksum))
      return fail(problem, "the superblock checksum does not match", Errno::ebadmsg);
  }
  if (le32(p + sb::rev_level) < 1) return fail(problem, "revision 0 file systems are not supported", Errno::eopnotsupp);
  if (super.incompat & ~kIncompatSupported) return fail(problem, unsupported_incompat(super.incompat), Errno::eopnotsupp);
  if (!(super.incompat & kIncompatExtents)) {
    // Block-mapped files (ext2/ext3) are not read yet; refuse rather than fail file by file.
    return fail(problem, "files without extents (ext2/ext3 block maps) are not supported", Errno::eopnotsupp);
  }

  uint32_t log_block = le32(p + sb::log_block_size);
  if (log_block > 6) return fail(problem, "the block size is out of range");
  super.block_size = 1024u << log_block;
  if (le32(p + sb::log_cluster_size) != log_block && (super.ro_compat & kRoCompatBigalloc))
    return fail(problem, "the bigalloc feature is not supported", Errno::eopnotsupp);
  bool is_64bit = super.incompat & kIncompat64bit;
  super.block_count = le32(p + sb::blocks_count_lo) | (is_64bit ? uint64_t{le32(p + sb::blocks_count_hi)} << 32 : 0);
  super.free_blocks =
      le32(p + sb::free_blocks_count_lo) | (is_64bit ? uint64_t{le32(p + sb::free_blocks_count_hi)} << 32 : 0);
  super.reserved_blocks =
      le32(p + sb::r_blocks_count_lo) | (is_64bit ? uint64_t{le32(p + sb::r_blocks_count_hi)} << 32 : 0);
  super.inode_count = le32(p + sb::inodes_count);
  super.free_inodes = le32(p + sb::free_inodes_count);
  super.first_data_block = le32(p + sb::first_data_block);
  super.blocks_per_group = le32(p + sb::blocks_per_group);
  super.inodes_per_group = le32(p + sb::inodes_per_group);
  super.inode_size = le16(p + sb::inode_size);
  super.first_ino = le32(p + sb::first_ino);
  super.desc_size = is_64bit ? le16(p + sb::desc_size) : gd::kMinSize;
  super.min_extra_isize = le16(p + sb::min_extra_isize);

  if (super.block_count == 0 || super.block_count > device_bytes / super.block_size)
    return fail(problem, "the file system is larger than the device");
  if (super.first_data_block != (super.block_size == 1024 ? 1u : 0u))
    return fail(problem, "the first data block is inconsistent with the block size");
  if (super.blocks_per_group == 0 || super.blocks_per_group > 8 * super.block_size)
    return fail(problem, "the blocks per group are out of range");
  if (super.inodes_per_group == 0 || super.inodes_per_group > 8 * super.block_size)
    return fail(problem, "the inodes per group are out of range");
  if (super.inode_size < inode::kGoodOldSize || super.inode_size > super.block_size || !power_of_two(super.inode_size))
    return fail(problem, "the inode size is out of range");
  if (is_64bit && (super.desc_size < gd::kMinSize64bit || super.desc_size > gd::kMaxSize || !power_of_two(super.desc_size)))
    return fail(problem, "the group descriptor size is out of range");
  if (super.first_ino < 11 || super.first_ino > super.inode_count) return fail(problem, "the first inode is out of range");
  uint64_t groups = (super.block_count - super.first_data_block + super.blocks_per_group - 1) / super.blocks_per_group;
  if (groups == 0 || groups > UINT32_MAX) return fail(problem, "the group count is out of range");
  super.group_count = static_cast<uint32_t>(groups);
  if (uint64_t{super.group_count} * super.inodes_per_group != super.inode_count)
    return fail(problem, "the inode count does not match the groups");
  uint64_t table_blocks = (uint64_t{super.group_count} * super.desc_size + super.block_size - 1) / super.block_size;
  if (descriptor_table_block(super) + table_blocks > super.block_count)
    return fail(problem, "the group descriptors lie outside the file system");
  if (super.free_blocks > super.block_count || super.free_inodes > super.inode_count)
    return fail(problem, "the free counts are out of range");

  memcpy(super.uuid, p + sb::uuid, sizeof(super.uuid));
  super.gdt_csum = super.ro_compat & kRoCompatGdtCsum;
  super.huge_file = super.ro_compat & kRoCompatHugeFile;
  super.large_dir = super.incompat & kIncompatLargeDir;
  super.csum_seed = (super.incompat & kIncompatCsumSeed) ? le32(p + sb::checksum_seed)
                                                         : crc32c(~0u, super.uuid, sizeof(super.uuid));
  for (int i = 0; i < 4; i++) super.hash_seed[i] = le32(p + sb::hash_seed + 4 * i);
  super.default_hash_version = u8(p + sb::def_hash_version);
  super.unsigned_hash = le32(p + sb::flags) & sb::kFlagUnsignedHash;
  super.reserved_gdt_blocks = le16(p + sb::reserved_gdt_blocks);
  super.sparse_super = super.ro_compat & kRoCompatSparseSuper;
  super.has_journal = super.compat & kCompatHasJournal;
  super.journal_inum = le32(p + sb::journal_inum);
  if (super.has_journal && super.journal_inum == 0)
    return fail(problem, "the journal is on an external device (not supported)", Errno::eopnotsupp);
  if (super.has_journal && (super.journal_inum > super.inode_count || super.journal_inum < 3 ||
                            super.journal_inum >= super.first_ino))
    return fail(problem, "the journal inode number is out of range");
  if ((super.incompat & kIncompatRecover) && !super.has_journal)
    return fail(problem, "it needs journal recovery but has no journal");
  return super;
}

Result<GroupDescriptor> parse_group_descriptor(const Superblock& super, uint32_t group, std::span<const std::byte> raw,
                                               const char** problem) {
  if (raw.size() < super.desc_size) return fail(problem, "a group descriptor is truncated");
  const std::byte* p = raw.data();
  if ((super.metadata_csum || super.gdt_csum) && descriptor_checksum(super, group, p) != le16(p + gd::checksum))
    return fail(problem, "a group descriptor checksum does not match", Errno::ebadmsg);
  bool wide = super.desc_size >= gd::kMinSize64bit;
  GroupDescriptor descriptor;
  descriptor.block_bitmap = le32(p + gd::block_bitmap_lo) | (wide ? uint64_t{le32(p + gd::block_bitmap_hi)} << 32 : 0);
  descriptor.inode_bitmap = le32(p + gd::inode_bitmap_lo) | (wide ? uint64_t{le32(p + gd::inode_bitmap_hi)} << 32 : 0);
  descriptor.inode_table = le32(p + gd::inode_table_lo) | (wide ? uint64_t{le32(p + gd::inode_table_hi)} << 32 : 0);
  descriptor.free_blocks = le16(p + gd::free_blocks_count_lo) | (wide ? uint32_t{le16(p + gd::free_blocks_count_hi)} << 16 : 0);
  descriptor.free_inodes = le16(p + gd::free_inodes_count_lo) | (wide ? uint32_t{le16(p + gd::free_inodes_count_hi)} << 16 : 0);
  descriptor.used_dirs = le16(p + gd::used_dirs_count_lo) | (wide ? uint32_t{le16(p + gd::used_dirs_count_hi)} << 16 : 0);
  descriptor.block_bitmap_csum =
      le16(p + gd::block_bitmap_csum_lo) | (wide ? uint32_t{le16(p + gd::block_bitmap_csum_hi)} << 16 : 0);
  descriptor.inode_bitmap_csum =
      le16(p + gd::inode_bitmap_csum_lo) | (wide ? uint32_t{le16(p + gd::inode_bitmap_csum_hi)} << 16 : 0);
  descriptor.flags = le16(p + gd::flags);
  descriptor.itable_unused = le16(p + gd::itable_unused_lo) | (wide ? uint32_t{le16(p + gd::itable_unused_hi)} << 16 : 0);
  uint64_t table_blocks = (uint64_t{super.inodes_per_group} * super.inode_size + super.block_size - 1) / super.block_size;
  auto inside = [&super](uint64_t block, uint64_t count) {
    return block > super.first_data_block && block < super.block_count && count <= super.block_count - block;
  };
  if (!inside(descriptor.block_bitmap, 1) || !inside(descriptor.inode_bitmap, 1) ||
      !inside(descriptor.inode_table, table_blocks))
    return fail(problem, "a group's bitmaps or inode table lie outside the file system");
  if (descriptor.itable_unused > super.inodes_per_group || descriptor.free_inodes > super.inodes_per_group)
    return fail(problem, "a group descriptor's inode counts are out of range");
  return descriptor;
}

void store_group_descriptor(const Superblock& super, uint32_t group, const GroupDescriptor& descriptor,
                            std::span<std::byte> raw) {
  std::byte* p = raw.data();
  bool wide = super.desc_size >= gd::kMinSize64bit;
  put16(p + gd::free_blocks_count_lo, static_cast<uint16_t>(descriptor.free_blocks));
  put16(p + gd::free_inodes_count_lo, static_cast<uint16_t>(descriptor.free_inodes));
  put16(p + gd::used_dirs_count_lo, static_cast<uint16_t>(descriptor.used_dirs));
  put16(p + gd::itable_unused_lo, static_cast<uint16_t>(descriptor.itable_unused));
  put16(p + gd::flags, descriptor.flags);
  if (super.metadata_csum) {
    put16(p + gd::block_bitmap_csum_lo, static_cast<uint16_t>(descriptor.block_bitmap_csum));
    put16(p + gd::inode_bitmap_csum_lo, static_cast<uint16_t>(descriptor.inode_bitmap_csum));
  }
  if (wide) {
    put16(p + gd::free_blocks_count_hi, static_cast<uint16_t>(descriptor.free_blocks >> 16));
    put16(p + gd::free_inodes_count_hi, static_cast<uint16_t>(descriptor.free_inodes >> 16));
    put16(p + gd::used_dirs_count_hi, static_cast<uint16_t>(descriptor.used_dirs >> 16));
    put16(p + gd::itable_unused_hi, static_cast<uint16_t>(descriptor.itable_unused >> 16));
    if (super.metadata_csum) {
      put16(p + gd::block_bitmap_csum_hi, static_cast<uint16_t>(descriptor.block_bitmap_csum >> 16));
      put16(p + gd::inode_bitmap_csum_hi, static_cast<uint16_t>(descriptor.inode_bitmap_csum >> 16));
    }
  }
  if (super.metadata_csum || super.gdt_csum) put16(p + gd::checksum, descriptor_checksum(super, group, p));
}

void store_superblock(const Superblock& super, std::span<std::byte> raw, int64_t now_seconds) {
  std::byte* p = raw.data();
  bool is_64bit = super.incompat & feature::kIncompat64bit;
  put32(p + sb::free_blocks_count_lo, static_cast<uint32_t>(super.free_blocks));
  if (is_64bit) put32(p + sb::free_blocks_count_hi, static_cast<uint32_t>(super.free_blocks >> 32));
  put32(p + sb::free_inodes_count, super.free_inodes);
  if (now_seconds > 0) {
    put32(p + sb::wtime, static_cast<uint32_t>(now_seconds));
    put8(p + sb::wtime_hi, static_cast<uint8_t>(now_seconds >> 32));
  }
  if (super.metadata_csum) put32(p + sb::checksum, crc32c(~0u, p, sb::checksum));
}

void store_recover_flag(const Superblock& super, std::span<std::byte> raw, bool recover) {
  std::byte* p = raw.data();
  uint32_t incompat = le32(p + sb::feature_incompat);
  incompat = recover ? incompat | feature::kIncompatRecover : incompat & ~feature::kIncompatRecover;
  put32(p + sb::feature_incompat, incompat);
  if (super.metadata_csum) put32(p + sb::checksum, crc32c(~0u, p, sb::checksum));
}

bool group_has_super(const Superblock& super, uint32_t group) {
  if (group <= 1 || !super.sparse_super) return true;
  return is_power_of(group, 3) || is_power_of(group, 5) || is_power_of(group, 7);
}

}  // namespace nimbus::fs::ext4
