// The jbd2 journal's on-disk format (Linux's include/linux/jbd2.h and the kernel.org "ext4
// Data Structures and Algorithms" document, section Journal): unlike the rest of ext4, every
// field is big-endian. Read and written from raw bytes at these offsets.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus::fs::ext4::jbd2 {

inline uint32_t be32(const std::byte* p) {
  return uint32_t{static_cast<uint8_t>(p[0])} << 24 | uint32_t{static_cast<uint8_t>(p[1])} << 16 |
         uint32_t{static_cast<uint8_t>(p[2])} << 8 | uint32_t{static_cast<uint8_t>(p[3])};
}
inline uint16_t be16(const std::byte* p) {
  return static_cast<uint16_t>(uint16_t{static_cast<uint8_t>(p[0])} << 8 | uint16_t{static_cast<uint8_t>(p[1])});
}
inline uint64_t be64(const std::byte* p) { return uint64_t{be32(p)} << 32 | be32(p + 4); }
inline void put_be32(std::byte* p, uint32_t value) {
  p[0] = std::byte(value >> 24);
  p[1] = std::byte(value >> 16);
  p[2] = std::byte(value >> 8);
  p[3] = std::byte(value);
}
inline void put_be16(std::byte* p, uint16_t value) {
  p[0] = std::byte(value >> 8);
  p[1] = std::byte(value);
}
inline void put_be64(std::byte* p, uint64_t value) {
  put_be32(p, static_cast<uint32_t>(value >> 32));
  put_be32(p + 4, static_cast<uint32_t>(value));
}

// Every journal metadata block starts with this header (journal_header_t).
constexpr uint32_t kMagic = 0xc03b3998;
constexpr size_t h_magic = 0x0, h_blocktype = 0x4, h_sequence = 0x8, kHeaderSize = 12;
enum BlockType : uint32_t { descriptor = 1, commit = 2, superblock_v1 = 3, superblock_v2 = 4, revoke = 5 };

// The journal superblock (journal_superblock_t), in the journal's first block.
namespace super {
constexpr size_t blocksize = 0xc, maxlen = 0x10, first = 0x14, sequence = 0x18, start = 0x1c, error_number = 0x20,
                 feature_compat = 0x24, feature_incompat = 0x28, feature_ro_compat = 0x2c, uuid = 0x30,
                 nr_users = 0x40, checksum_type = 0x50, checksum = 0xfc;
constexpr size_t kSize = 1024;  // what its checksum covers
}  // namespace super

constexpr uint32_t kCompatChecksum = 0x1;  // the old crc32 of whole transactions (not handled)
constexpr uint32_t kIncompatRevoke = 0x1, kIncompat64bit = 0x2, kIncompatAsyncCommit = 0x4, kIncompatCsumV2 = 0x8,
                   kIncompatCsumV3 = 0x10, kIncompatFastCommit = 0x20;
constexpr uint32_t kIncompatKnown = kIncompatRevoke | kIncompat64bit | kIncompatCsumV2 | kIncompatCsumV3;
constexpr uint8_t kChecksumCrc32c = 4;  // JBD2_CRC32C_CHKSUM

// Block tags in a descriptor block. Without csum_v3: blocknr, a 16-bit checksum (csum_v2),
// 16-bit flags, blocknr_high (64bit only). With csum_v3: blocknr, 32-bit flags, blocknr_high,
// a 32-bit checksum. Either way the flags' low 16 bits sit at byte 6. A tag without
// kFlagSameUuid is followed by the 16-byte UUID.
namespace tag {
constexpr size_t blocknr = 0x0, checksum16 = 0x4, flags16 = 0x6, blocknr_high = 0x8;
constexpr size_t v3_flags = 0x4, v3_blocknr_high = 0x8, v3_checksum = 0xc;
constexpr size_t kV3Size = 16, kUuidSize = 16;
constexpr uint16_t kFlagEscape = 0x1, kFlagSameUuid = 0x2, kFlagDeleted = 0x4, kFlagLastTag = 0x8;
}  // namespace tag

// Descriptor and revoke blocks end with a 4-byte checksum with csum_v2/v3 (jbd2_journal_block_tail).
constexpr size_t kTailSize = 4;

// The revoke block: after the header, the bytes used (header included), then 4- or 8-byte
// block numbers.
constexpr size_t revoke_count = 0xc, kRevokeHeaderSize = 16;

// The commit block (commit_header).
namespace commit_block {
constexpr size_t chksum_type = 0xc, chksum_size = 0xd, chksum = 0x10, commit_sec = 0x30, commit_nsec = 0x38;
}  // namespace commit_block

}  // namespace nimbus::fs::ext4::jbd2
