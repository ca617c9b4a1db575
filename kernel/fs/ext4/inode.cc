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

}  // namespace

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
  if (super.metadata_csum) {
    uint32_t ino_le = ino, generation_le = node.generation;
    uint32_t seed = crc32c(super.csum_seed, &ino_le, sizeof(ino_le));
    seed = crc32c(seed, &generation_le, sizeof(generation_le));
    node.csum_seed = seed;
    uint16_t zero = 0;
    uint32_t crc = crc32c(seed, p, inode::checksum_lo);
    crc = crc32c(crc, &zero, sizeof(zero));
    crc = crc32c(crc, p + inode::checksum_lo + 2, inode::kGoodOldSize - inode::checksum_lo - 2);
    bool has_high = super.inode_size > inode::kGoodOldSize && fits(inode::checksum_hi, 2, extra_isize);
    if (super.inode_size > inode::kGoodOldSize) {
      crc = crc32c(crc, p + inode::kGoodOldSize, inode::checksum_hi - inode::kGoodOldSize);
      size_t offset = inode::checksum_hi;
      if (has_high) {
        crc = crc32c(crc, &zero, sizeof(zero));
        offset += 2;
      }
      crc = crc32c(crc, p + offset, super.inode_size - offset);
    }
    uint32_t stored = le16(p + inode::checksum_lo) | (has_high ? uint32_t{le16(p + inode::checksum_hi)} << 16 : 0);
    if (!has_high) crc &= 0xffff;
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
  return node;
}

}  // namespace nimbus::fs::ext4
