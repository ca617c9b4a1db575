// Inode parsing: the checksum over the whole on-disk inode, 32-bit ids, 64-bit sizes and
// block counts, and nanosecond timestamps from the extra fields.
#include "kernel/fs/ext4/inode.h"

#include <cstring>

#include "kernel/lib/crc32c.h"

namespace nimbus::fs::ext4 {
namespace {

std::unexpected<Errno> fail(const char** problem, const char* why, Errno code = Errno::eio) {
  *problem = why;
  return error(code);
}

// Whether a field of `size` bytes at `offset` lies within the inode's extra space.
bool fits(size_t offset, size_t size, uint32_t extra_isize) { return offset + size <= inode::kGoodOldSize + extra_isize; }

// Seconds are signed 32 bits; the extra word adds two epoch bits above them and 30 bits of
// nanoseconds (Linux's ext4_decode_extra_time).
int64_t decode_time(const std::byte* p, size_t seconds_offset, size_t extra_offset, uint32_t extra_isize) {
  int64_t seconds = static_cast<int32_t>(le32(p + seconds_offset));
  int64_t nanoseconds = 0;
  if (fits(extra_offset, 4, extra_isize)) {
    uint32_t extra = le32(p + extra_offset);
    seconds += static_cast<int64_t>(extra & 3) << 32;
    nanoseconds = extra >> 2;
    if (nanoseconds > 999'999'999) nanoseconds = 999'999'999;
  }
  return seconds * 1'000'000'000 + nanoseconds;
}

// crc32c over the whole on-disk inode with its checksum fields as zeros (the high half only
// when the extra space holds it; otherwise the result is 16 bits).
uint32_t inode_checksum(const Superblock& super, uint32_t seed, const std::byte* p, bool has_high) {
  uint16_t zero = 0;
  uint32_t crc = crc32c(seed, p, inode::checksum_lo);
  crc = crc32c(crc, &zero, sizeof(zero));
  crc = crc32c(crc, p + inode::checksum_lo + 2, inode::kGoodOldSize - inode::checksum_lo - 2);
  if (super.inode_size > inode::kGoodOldSize) {
    crc = crc32c(crc, p + inode::kGoodOldSize, inode::checksum_hi - inode::kGoodOldSize);
    size_t offset = inode::checksum_hi;
    if (has_high) {
      crc = crc32c(crc, &zero, sizeof(zero));
      offset += 2;
    }
    crc = crc32c(crc, p + offset, super.inode_size - offset);
  }
  return has_high ? crc : (crc & 0xffff);
}

// The inverse of decode_time: seconds in the base field, epoch bits and nanoseconds in the
// extra word when there is room for it.
void encode_time(std::byte* p, int64_t ns, size_t seconds_offset, size_t extra_offset, uint32_t extra_isize) {
  int64_t seconds = ns / 1'000'000'000;
  int64_t nanoseconds = ns % 1'000'000'000;
  if (nanoseconds < 0) {
    nanoseconds += 1'000'000'000;
    seconds--;
  }
  put32(p + seconds_offset, static_cast<uint32_t>(seconds));
  if (fits(extra_offset, 4, extra_isize)) {
    uint32_t epoch = static_cast<uint32_t>(((seconds - static_cast<int32_t>(seconds)) >> 32) & 3);
    put32(p + extra_offset, epoch | static_cast<uint32_t>(nanoseconds) << 2);
  }
}

}  // namespace

uint32_t inode_csum_seed(const Superblock& super, uint32_t ino, uint32_t generation) {
  uint32_t ino_le = ino, generation_le = generation;
  uint32_t seed = crc32c(super.csum_seed, &ino_le, sizeof(ino_le));
  return crc32c(seed, &generation_le, sizeof(generation_le));
}

void store_inode(const Superblock& super, const Inode& node, std::span<std::byte> raw, uint32_t deleted_at) {
  std::byte* p = raw.data();
  uint32_t extra_isize = node.extra_isize;
  if (super.inode_size > inode::kGoodOldSize) put16(p + inode::extra_isize, node.extra_isize);
  put16(p + inode::mode, node.mode);
  put16(p + inode::uid, static_cast<uint16_t>(node.uid));
  put16(p + inode::uid_high, static_cast<uint16_t>(node.uid >> 16));
  put16(p + inode::gid, static_cast<uint16_t>(node.gid));
  put16(p + inode::gid_high, static_cast<uint16_t>(node.gid >> 16));
  put32(p + inode::size_lo, static_cast<uint32_t>(node.size));
  put32(p + inode::size_high, static_cast<uint32_t>(node.size >> 32));
  put16(p + inode::links_count, node.links);
  uint32_t flags = node.flags;
  uint64_t blocks = node.sectors;
  if (blocks > 0xffffffffffffull) {
    // huge_file: count in file system blocks instead (EXT4_HUGE_FILE_FL).
    blocks /= super.block_size / 512;
    flags |= inode::kFlagHugeFile;
  } else {
    flags &= ~inode::kFlagHugeFile;
  }
  put32(p + inode::blocks_lo, static_cast<uint32_t>(blocks));
  put16(p + inode::blocks_high, static_cast<uint16_t>(blocks >> 32));
  put32(p + inode::flags, flags);
  put32(p + inode::generation, node.generation);
  put32(p + inode::file_acl_lo, static_cast<uint32_t>(node.xattr_block));
  put16(p + inode::file_acl_high, static_cast<uint16_t>(node.xattr_block >> 32));
  put32(p + inode::dtime, deleted_at);
  encode_time(p, node.atime_ns, inode::atime, inode::atime_extra, extra_isize);
  encode_time(p, node.mtime_ns, inode::mtime, inode::mtime_extra, extra_isize);
  encode_time(p, node.ctime_ns, inode::ctime, inode::ctime_extra, extra_isize);
  if (fits(inode::crtime, 4, extra_isize)) encode_time(p, node.btime_ns, inode::crtime, inode::crtime_extra, extra_isize);
  memcpy(p + inode::block, node.block, sizeof(node.block));
  if (super.metadata_csum) {
    bool has_high = super.inode_size > inode::kGoodOldSize && fits(inode::checksum_hi, 2, extra_isize);
    uint32_t crc = inode_checksum(super, node.csum_seed, p, has_high);
    put16(p + inode::checksum_lo, static_cast<uint16_t>(crc));
    if (has_high) put16(p + inode::checksum_hi, static_cast<uint16_t>(crc >> 16));
  }
}

Result<Inode> parse_inode(const Superblock& super, uint32_t ino, std::span<const std::byte> raw, const char** problem) {
  if (raw.size() < super.inode_size) return fail(problem, "the inode is truncated");
  const std::byte* p = raw.data();
  uint32_t extra_isize = 0;
  if (super.inode_size > inode::kGoodOldSize) {
    extra_isize = le16(p + inode::extra_isize);
    if (extra_isize > super.inode_size - inode::kGoodOldSize || extra_isize % 4)
      return fail(problem, "the inode's extra size is out of range");
  }
  Inode node;
  node.ino = ino;
  node.generation = le32(p + inode::generation);
  node.extra_isize = static_cast<uint16_t>(extra_isize);
  if (super.metadata_csum) {
    node.csum_seed = inode_csum_seed(super, ino, node.generation);
    bool has_high = super.inode_size > inode::kGoodOldSize && fits(inode::checksum_hi, 2, extra_isize);
    uint32_t crc = inode_checksum(super, node.csum_seed, p, has_high);
    uint32_t stored = le16(p + inode::checksum_lo) | (has_high ? uint32_t{le16(p + inode::checksum_hi)} << 16 : 0);
    if (crc != stored) return fail(problem, "an inode checksum does not match", Errno::ebadmsg);
  }
  node.mode = le16(p + inode::mode);
  node.uid = le16(p + inode::uid) | uint32_t{le16(p + inode::uid_high)} << 16;
  node.gid = le16(p + inode::gid) | uint32_t{le16(p + inode::gid_high)} << 16;
  node.size = le32(p + inode::size_lo) | uint64_t{le32(p + inode::size_high)} << 32;
  if (node.size > INT64_MAX) return fail(problem, "an inode's size is out of range");
  node.links = le16(p + inode::links_count);
  node.flags = le32(p + inode::flags);
  uint64_t blocks = le32(p + inode::blocks_lo) | uint64_t{le16(p + inode::blocks_high)} << 32;
  // huge_file: with EXT4_HUGE_FILE_FL the count is in file system blocks, not sectors.
  if (super.huge_file && (node.flags & inode::kFlagHugeFile)) blocks *= super.block_size / 512;
  node.sectors = blocks;
  node.atime_ns = decode_time(p, inode::atime, inode::atime_extra, extra_isize);
  node.mtime_ns = decode_time(p, inode::mtime, inode::mtime_extra, extra_isize);
  node.ctime_ns = decode_time(p, inode::ctime, inode::ctime_extra, extra_isize);
  if (fits(inode::crtime, 4, extra_isize)) node.btime_ns = decode_time(p, inode::crtime, inode::crtime_extra, extra_isize);
  memcpy(node.block, p + inode::block, sizeof(node.block));
  node.xattr_block = le32(p + inode::file_acl_lo) | uint64_t{le16(p + inode::file_acl_high)} << 32;
  return node;
}

}  // namespace nimbus::fs::ext4
