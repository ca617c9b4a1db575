// Journal: opening the internal jbd2 journal, replaying it at mount (three passes over the
// log, as Linux's fs/jbd2/recovery.c does: find the end, collect revoke records, write the
// blocks), and the ordered-mode commit with its checkpoint.
#include "kernel/fs/ext4/journal.h"

#include <cstring>
#include <new>

#include "kernel/block/block_io.h"
#include "kernel/fs/ext4/ext4_format.h"
#include "kernel/fs/ext4/jbd2_format.h"
#include "kernel/fs/ext4/volume.h"
#include "kernel/lib/crc32c.h"
#include "kernel/lib/ref_ptr.h"

namespace nimbus::fs::ext4 {
namespace {

std::unexpected<Errno> fail(const char** problem, const char* why, Errno code) {
  *problem = why;
  return error(code);
}

// A buffer of whole blocks, freed with its owner.
struct Blocks {
  std::byte* bytes = nullptr;
  ~Blocks() { delete[] bytes; }
  bool allocate(size_t size) {
    bytes = new (kNoThrow) std::byte[size];
    return bytes != nullptr;
  }
};

// Whether sequence `a` is at or after `b`, modulo wrap-around (tid_geq).
bool sequence_at_or_after(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }

}  // namespace

Result<Journal*> Journal::open(Volume& volume, const char** problem) {
  const Superblock& fs = volume.super();
  Result<Inode> inode = volume.read_inode(fs.journal_inum);
  if (!inode) return fail(problem, "the journal inode cannot be read", Errno::einval);
  if (!inode->has_extents()) return fail(problem, "a journal without extents (ext3 block map) is not supported",
                                         Errno::eopnotsupp);
  auto* journal = new (kNoThrow) Journal(volume);
  if (!journal) return fail(problem, "out of memory", Errno::enomem);
  auto failed = [&](const char* why, Errno code) -> std::unexpected<Errno> {
    delete journal;
    return fail(problem, why, code);
  };
  BlockList tree_blocks;
  if (!read_extents(volume, *inode, journal->m_extents, tree_blocks))
    return failed("the journal inode's extent tree is corrupt", Errno::einval);
  journal->m_block_size = fs.block_size;
  journal->m_super = new (kNoThrow) std::byte[fs.block_size];
  if (!journal->m_super) return failed("out of memory", Errno::enomem);
  journal->m_maxlen = 1;  // enough for physical(0) until the superblock says more
  if (auto read = journal->read_log(0, journal->m_super); !read)
    return failed("the journal superblock cannot be read", read.error());

  const std::byte* p = journal->m_super;
  if (jbd2::be32(p + jbd2::h_magic) != jbd2::kMagic) return failed("the journal superblock has a bad magic", Errno::einval);
  uint32_t type = jbd2::be32(p + jbd2::h_blocktype);
  if (type == jbd2::superblock_v1) return failed("version 1 journals are not supported", Errno::eopnotsupp);
  if (type != jbd2::superblock_v2) return failed("the journal superblock has an unknown type", Errno::einval);
  if (jbd2::be32(p + jbd2::super::blocksize) != fs.block_size)
    return failed("the journal's block size differs from the file system's", Errno::einval);
  uint32_t incompat = jbd2::be32(p + jbd2::super::feature_incompat);
  if (incompat & jbd2::kIncompatFastCommit) return failed("the journal uses fast commits (not supported)", Errno::eopnotsupp);
  if (incompat & jbd2::kIncompatAsyncCommit)
    return failed("the journal uses asynchronous commits (not supported)", Errno::eopnotsupp);
  if (incompat & ~jbd2::kIncompatKnown) return failed("the journal has an unknown incompatible feature", Errno::eopnotsupp);
  if (jbd2::be32(p + jbd2::super::feature_compat) & jbd2::kCompatChecksum)
    return failed("the journal uses version 1 checksums (not supported)", Errno::eopnotsupp);
  if ((incompat & jbd2::kIncompatCsumV2) && (incompat & jbd2::kIncompatCsumV3))
    return failed("the journal claims both checksum versions", Errno::einval);
  journal->m_incompat = incompat;
  journal->m_csum = incompat & (jbd2::kIncompatCsumV2 | jbd2::kIncompatCsumV3);
  journal->m_csum_v3 = incompat & jbd2::kIncompatCsumV3;
  journal->m_64bit = incompat & jbd2::kIncompat64bit;
  if (journal->m_csum) {
    if (u8(p + jbd2::super::checksum_type) != jbd2::kChecksumCrc32c)
      return failed("the journal superblock has an unknown checksum type", Errno::einval);
    uint32_t stored = jbd2::be32(p + jbd2::super::checksum);
    std::byte copy[jbd2::super::kSize];
    memcpy(copy, p, sizeof(copy));
    memset(copy + jbd2::super::checksum, 0, 4);
    if (crc32c(~0u, copy, sizeof(copy)) != stored)
      return failed("the journal superblock checksum does not match", Errno::ebadmsg);
  }
  journal->m_csum_seed = crc32c(~0u, p + jbd2::super::uuid, jbd2::tag::kUuidSize);

  uint64_t file_blocks = 0;
  for (const Extent& extent : journal->m_extents) {
    if (extent.logical_end() > file_blocks) file_blocks = extent.logical_end();
  }
  uint32_t maxlen = jbd2::be32(p + jbd2::super::maxlen);
  uint32_t first = jbd2::be32(p + jbd2::super::first);
  uint32_t start = jbd2::be32(p + jbd2::super::start);
  if (maxlen > file_blocks || maxlen < 16) return failed("the journal's length does not match its inode", Errno::einval);
  if (first == 0 || first >= maxlen) return failed("the journal's first log block is out of range", Errno::einval);
  if (start != 0 && (start < first || start >= maxlen))
    return failed("the journal's log start is out of range", Errno::einval);
  journal->m_maxlen = maxlen;
  journal->m_first = first;
  journal->m_start = start;
  journal->m_sequence = jbd2::be32(p + jbd2::super::sequence);
  // Every log block must be mapped (a hole would send writes anywhere).
  for (uint32_t block = 0; block < maxlen;) {
    const Extent* found = nullptr;
    for (const Extent& extent : journal->m_extents)
      if (extent.logical <= block && block < extent.logical_end()) found = &extent;
    if (!found || !volume.blocks_valid(found->physical, found->length))
      return failed("the journal file has a hole or lies outside the file system", Errno::einval);
    block = static_cast<uint32_t>(found->logical_end());
  }
  return journal;
}

Journal::~Journal() { delete[] m_super; }

Result<uint64_t> Journal::physical(uint32_t log_block) const {
  if (log_block >= m_maxlen) return error(Errno::eio);
  for (const Extent& extent : m_extents)
    if (extent.logical <= log_block && log_block < extent.logical_end()) return extent.physical + (log_block - extent.logical);
  return error(Errno::eio);
}

Result<> Journal::read_log(uint32_t log_block, std::byte* buffer) {
  uint64_t block = TRY(physical(log_block));
  uint32_t sectors = m_block_size / block::kSectorSize;
  return block::transfer(m_volume.device(), block::Operation::read, block * sectors, sectors, {buffer, m_block_size});
}

Result<> Journal::write_log(uint32_t log_block, std::byte* buffer) {
  uint64_t block = TRY(physical(log_block));
  uint32_t sectors = m_block_size / block::kSectorSize;
  return block::transfer(m_volume.device(), block::Operation::write, block * sectors, sectors, {buffer, m_block_size});
}

uint32_t Journal::checksum(const std::byte* data, size_t length, uint32_t seed) const { return crc32c(seed, data, length); }

size_t Journal::tag_bytes() const {
  if (m_csum_v3) return jbd2::tag::kV3Size;
  size_t size = 12;  // journal_block_tag_t: blocknr, checksum16, flags16, blocknr_high
  if (m_csum) size += 2;
  return m_64bit ? size : size - 4;
}

size_t Journal::capacity() const {
  size_t tail = m_csum ? jbd2::kTailSize : 0;
  size_t per_descriptor = (m_block_size - jbd2::kHeaderSize - tail - jbd2::tag::kUuidSize) / tag_bytes();
  size_t log = m_maxlen - m_first;
  // n copies need ceil(n / per_descriptor) descriptors and one commit block.
  size_t n = (log - 1) * per_descriptor / (per_descriptor + 1);
  while (n && n + (n + per_descriptor - 1) / per_descriptor + 1 > log) n--;
  return n;
}

Result<> Journal::write_superblock(uint32_t start) {
  std::byte* p = m_super;
  jbd2::put_be32(p + jbd2::super::start, start);
  jbd2::put_be32(p + jbd2::super::sequence, m_sequence);
  jbd2::put_be32(p + jbd2::super::feature_incompat, m_incompat);
  jbd2::put_be32(p + jbd2::super::error_number, 0);
  if (m_csum) {
    put8(p + jbd2::super::checksum_type, jbd2::kChecksumCrc32c);
    memset(p + jbd2::super::checksum, 0, 4);
    jbd2::put_be32(p + jbd2::super::checksum, crc32c(~0u, p, jbd2::super::kSize));
  }
  TRY(write_log(0, m_super));
  m_start = start;
  return {};
}

// --- recovery ---

Result<> Journal::pass(Pass which, const char** problem) {
  Blocks buffer, copy;
  if (!buffer.allocate(m_block_size) || !copy.allocate(m_block_size)) return fail(problem, "out of memory", Errno::enomem);
  const size_t tail = m_csum ? jbd2::kTailSize : 0;
  const size_t tag_size = tag_bytes();
  const Superblock& fs = m_volume.super();
  uint32_t sequence = m_sequence;
  uint32_t log_block = m_start;
  bool bad_block_seen = false;  // a descriptor or revoke block failed its checksum (scan)
  uint64_t last_commit_time = 0;
  bool data_error = false;
  // A log longer than the journal is a loop: stop there.
  for (uint32_t visited = 0; visited <= m_maxlen; visited++) {
    if (which != Pass::scan && sequence_at_or_after(sequence, m_end_transaction)) break;
    if (auto read = read_log(log_block, buffer.bytes); !read) return fail(problem, "the journal cannot be read", read.error());
    log_block = next(log_block);
    const std::byte* b = buffer.bytes;
    if (jbd2::be32(b + jbd2::h_magic) != jbd2::kMagic || jbd2::be32(b + jbd2::h_sequence) != sequence) break;
    uint32_t type = jbd2::be32(b + jbd2::h_blocktype);
    auto block_checksum_ok = [&]() {
      if (!m_csum) return true;
      memcpy(copy.bytes, b, m_block_size);
      uint32_t stored = jbd2::be32(copy.bytes + m_block_size - jbd2::kTailSize);
      memset(copy.bytes + m_block_size - jbd2::kTailSize, 0, jbd2::kTailSize);
      return checksum(copy.bytes, m_block_size, m_csum_seed) == stored;
    };
    if (type == jbd2::descriptor) {
      if (!block_checksum_ok()) {
        // Linux: stale blocks can look like this after lazy journal initialization; the
        // commit time decides (below). Outside the scan it is corruption.
        if (which != Pass::scan) return fail(problem, "a journal descriptor block's checksum does not match", Errno::ebadmsg);
        bad_block_seen = true;
      }
      // The tags, and (replay) the blocks they describe.
      size_t offset = jbd2::kHeaderSize;
      memcpy(copy.bytes, b, m_block_size);  // the descriptor: `buffer` is reused for the copies
      const std::byte* descriptor = copy.bytes;
      while (offset + tag_size <= m_block_size - tail) {
        const std::byte* t = descriptor + offset;
        uint16_t flags = jbd2::be16(t + jbd2::tag::flags16);
        uint32_t here = log_block;
        log_block = next(log_block);
        if (which == Pass::replay) {
          uint64_t target = jbd2::be32(t + jbd2::tag::blocknr);
          if (m_64bit) target |= uint64_t{jbd2::be32(t + jbd2::tag::blocknr_high)} << 32;
          bool revoked = false;
          for (const Revoked& r : m_revoked)
            if (r.block == target && sequence_at_or_after(r.sequence, sequence)) revoked = true;
          if (!revoked) {
            if (target >= fs.block_count) return fail(problem, "the journal names a block outside the file system", Errno::einval);
            if (auto read = read_log(here, buffer.bytes); !read)
              return fail(problem, "the journal cannot be read", read.error());
            bool good = true;
            if (m_csum) {
              std::byte sequence_be[4];
              jbd2::put_be32(sequence_be, sequence);
              uint32_t sum = checksum(buffer.bytes, m_block_size, checksum(sequence_be, 4, m_csum_seed));
              good = m_csum_v3 ? jbd2::be32(t + jbd2::tag::v3_checksum) == sum
                               : jbd2::be16(t + jbd2::tag::checksum16) == static_cast<uint16_t>(sum);
            }
            if (!good) {
              data_error = true;  // Linux skips the block and fails the recovery at the end
            } else {
              if (flags & jbd2::tag::kFlagEscape) jbd2::put_be32(buffer.bytes, jbd2::kMagic);
              uint32_t sectors = m_block_size / block::kSectorSize;
              if (auto written = block::transfer(m_volume.device(), block::Operation::write, target * sectors, sectors,
                                                 {buffer.bytes, m_block_size});
                  !written)
                return fail(problem, "a replayed block cannot be written", written.error());
              m_replayed_blocks++;
            }
          }
        }
        offset += tag_size;
        if (!(flags & jbd2::tag::kFlagSameUuid)) offset += jbd2::tag::kUuidSize;
        if (flags & jbd2::tag::kFlagLastTag) break;
      }
      continue;
    }
    if (type == jbd2::commit) {
      uint64_t commit_time = jbd2::be64(b + jbd2::commit_block::commit_sec);
      if (which == Pass::scan) {
        if (bad_block_seen) {
          // A later commit than the last good one: a real transaction was corrupted.
          if (commit_time >= last_commit_time)
            return fail(problem, "a journal transaction has a bad checksum", Errno::ebadmsg);
          break;  // stale blocks of an older use of the journal: the log ends here
        }
        if (m_csum) {
          memcpy(copy.bytes, b, m_block_size);
          uint32_t stored = jbd2::be32(copy.bytes + jbd2::commit_block::chksum);
          memset(copy.bytes + jbd2::commit_block::chksum, 0, 4);
          if (checksum(copy.bytes, m_block_size, m_csum_seed) != stored) {
            // A torn or unwritten commit: this transaction did not happen; the log ends.
            break;
          }
        }
        last_commit_time = commit_time;
      }
      sequence++;
      continue;
    }
    if (type == jbd2::revoke) {
      if (which == Pass::scan) {
        if (!block_checksum_ok()) bad_block_seen = true;
        continue;
      }
      if (which != Pass::revoke) continue;
      uint32_t used = jbd2::be32(b + jbd2::revoke_count);
      if (used > m_block_size - tail) return fail(problem, "a journal revoke block is corrupt", Errno::einval);
      size_t record = m_64bit ? 8 : 4;
      for (size_t offset = jbd2::kRevokeHeaderSize; offset + record <= used; offset += record) {
        uint64_t block = m_64bit ? jbd2::be64(b + offset) : jbd2::be32(b + offset);
        bool found = false;
        for (Revoked& r : m_revoked) {
          if (r.block != block) continue;
          found = true;
          if (sequence_at_or_after(sequence, r.sequence)) r.sequence = sequence;
        }
        if (!found && !m_revoked.push_back({block, sequence})) return fail(problem, "out of memory", Errno::enomem);
      }
      continue;
    }
    break;  // an unknown block type ends the log
  }
  if (which == Pass::scan) {
    m_end_transaction = sequence;
  } else if (sequence != m_end_transaction) {
    return fail(problem, "the journal changed between recovery passes", Errno::eio);
  }
  if (data_error) return fail(problem, "a journal data block's checksum does not match", Errno::ebadmsg);
  return {};
}

Result<uint32_t> Journal::recover(const char** problem) {
  if (m_start == 0) {
    // Nothing logged: the next transaction is the one after the superblock's.
    return 0;
  }
  m_revoked.clear();
  m_replayed_blocks = 0;
  TRY(pass(Pass::scan, problem));
  TRY(pass(Pass::revoke, problem));
  TRY(pass(Pass::replay, problem));
  if (m_volume.device().info().flush) {
    if (auto flushed = block::transfer(m_volume.device(), block::Operation::flush, 0, 0); !flushed)
      return fail(problem, "the device cannot be flushed", flushed.error());
  }
  uint32_t replayed = m_end_transaction - m_sequence;
  m_sequence = m_end_transaction + 1;
  if (auto written = write_superblock(0); !written) return fail(problem, "the journal superblock cannot be written", written.error());
  m_revoked.clear();
  return replayed;
}

Result<> Journal::wipe() {
  if (m_start == 0) return {};
  const char* ignored = nullptr;
  TRY(pass(Pass::scan, &ignored));
  m_sequence = m_end_transaction + 1;
  return write_superblock(0);
}

// --- commit ---

Result<> Journal::commit(int64_t now_ns) {
  block::BlockCache& cache = m_volume.cache();
  block::BlockDevice& device = m_volume.device();
  bool flush = device.info().flush;
  // The checksum features this journal writes with: Linux turns csum_v3 on for metadata_csum
  // file systems and 64bit on for 64bit ones when it mounts them.
  const Superblock& fs = m_volume.super();
  if (!m_csum && fs.metadata_csum) m_incompat |= jbd2::kIncompatCsumV3;
  if (fs.incompat & feature::kIncompat64bit) m_incompat |= jbd2::kIncompat64bit;
  m_csum = m_incompat & (jbd2::kIncompatCsumV2 | jbd2::kIncompatCsumV3);
  m_csum_v3 = m_incompat & jbd2::kIncompatCsumV3;
  m_64bit = m_incompat & jbd2::kIncompat64bit;

  size_t count = cache.dirty_metadata(nullptr, 0);
  size_t limit = capacity();
  if (count == 0) {
    // Only file data (or nothing): no metadata changes, nothing to log.
    TRY(m_volume.write_back_file_data());
    if (flush) TRY(block::transfer(device, block::Operation::flush, 0, 0));
    return {};
  }
  if (count > limit) {
    // More than the journal holds (one huge operation): written in place without the
    // journal's atomicity, data first. Rare: Ext4Fs commits long before the journal fills.
    TRY(m_volume.write_back_file_data());
    if (flush) TRY(block::transfer(device, block::Operation::flush, 0, 0));
    return cache.write_back(block::BlockCache::Durability::flushed);
  }
  auto* numbers = new (kNoThrow) uint64_t[count];
  if (!numbers) return error(Errno::enomem);
  count = cache.dirty_metadata(numbers, count);  // the same set: the caller's lock keeps it

  // 1. File data in place first (ordered mode: no committed metadata points at stale data).
  Result<> result = m_volume.write_back_file_data();

  // 2. The log: descriptors and copies, from the first log block, laid out in one buffer.
  const size_t tail = m_csum ? jbd2::kTailSize : 0;
  const size_t tag_size = tag_bytes();
  const size_t per_descriptor = (m_block_size - jbd2::kHeaderSize - tail - jbd2::tag::kUuidSize) / tag_size;
  const size_t descriptors = (count + per_descriptor - 1) / per_descriptor;
  const size_t log_blocks = count + descriptors;
  Blocks log;
  Blocks commit_block;
  block::Request* requests = nullptr;
  if (result && (!log.allocate(log_blocks * m_block_size) || !commit_block.allocate(m_block_size))) result = error(Errno::enomem);
  if (result) {
    requests = new (kNoThrow) block::Request[log_blocks];
    if (!requests) result = error(Errno::enomem);
  }
  const uint32_t sequence = m_sequence;
  std::byte sequence_be[4];
  jbd2::put_be32(sequence_be, sequence);
  const uint32_t sequence_seed = crc32c(m_csum_seed, sequence_be, 4);
  if (result) {
    memset(log.bytes, 0, log_blocks * m_block_size);
    size_t slot = 0;  // log block index within the transaction
    for (size_t d = 0; d < descriptors && result; d++) {
      std::byte* descriptor = log.bytes + slot * m_block_size;
      slot++;
      jbd2::put_be32(descriptor + jbd2::h_magic, jbd2::kMagic);
      jbd2::put_be32(descriptor + jbd2::h_blocktype, jbd2::descriptor);
      jbd2::put_be32(descriptor + jbd2::h_sequence, sequence);
      size_t offset = jbd2::kHeaderSize;
      size_t first = d * per_descriptor;
      size_t last = first + per_descriptor < count ? first + per_descriptor : count;
      for (size_t i = first; i < last; i++) {
        auto cached = cache.get(numbers[i]);
        if (!cached) {
          result = error(cached.error());
          break;
        }
        std::byte* copy = log.bytes + slot * m_block_size;
        slot++;
        memcpy(copy, cached->data().data(), m_block_size);
        uint16_t flags = 0;
        if (jbd2::be32(copy) == jbd2::kMagic) {
          // A block that would look like a journal block is logged with its magic zeroed.
          memset(copy, 0, 4);
          flags |= jbd2::tag::kFlagEscape;
        }
        if (i != first) flags |= jbd2::tag::kFlagSameUuid;
        if (i + 1 == last) flags |= jbd2::tag::kFlagLastTag;
        std::byte* t = descriptor + offset;
        jbd2::put_be32(t + jbd2::tag::blocknr, static_cast<uint32_t>(numbers[i]));
        uint32_t sum = m_csum ? crc32c(sequence_seed, copy, m_block_size) : 0;
        if (m_csum_v3) {
          jbd2::put_be32(t + jbd2::tag::v3_flags, flags);
          jbd2::put_be32(t + jbd2::tag::v3_blocknr_high, static_cast<uint32_t>(numbers[i] >> 32));
          jbd2::put_be32(t + jbd2::tag::v3_checksum, sum);
        } else {
          jbd2::put_be16(t + jbd2::tag::checksum16, static_cast<uint16_t>(sum));
          jbd2::put_be16(t + jbd2::tag::flags16, flags);
          if (m_64bit) jbd2::put_be32(t + jbd2::tag::blocknr_high, static_cast<uint32_t>(numbers[i] >> 32));
        }
        offset += tag_size;
        if (i == first) {
          memcpy(descriptor + offset, m_super + jbd2::super::uuid, jbd2::tag::kUuidSize);
          offset += jbd2::tag::kUuidSize;
        }
      }
      if (m_csum) jbd2::put_be32(descriptor + m_block_size - tail, crc32c(m_csum_seed, descriptor, m_block_size));
    }
  }
  if (result) {
    uint32_t sectors = m_block_size / block::kSectorSize;
    for (size_t i = 0; i < log_blocks && result; i++) {
      auto where = physical(static_cast<uint32_t>(m_first + i));
      if (!where) {
        result = error(where.error());
        break;
      }
      requests[i].operation = block::Operation::write;
      requests[i].sector = *where * sectors;
      requests[i].sector_count = sectors;
      requests[i].buffer = log.bytes + i * m_block_size;
    }
    // The superblock points at the log (RECOVER is already set on the file system).
    if (result) result = write_superblock(m_first);
    if (result) result = block::transfer_all(device, {requests, log_blocks});
    // 3. Everything before the commit block is durable before it is written.
    if (result && flush) result = block::transfer(device, block::Operation::flush, 0, 0);
  }
  if (result) {
    // 4. The commit block, then a flush: from here on the transaction happened.
    std::byte* c = commit_block.bytes;
    memset(c, 0, m_block_size);
    jbd2::put_be32(c + jbd2::h_magic, jbd2::kMagic);
    jbd2::put_be32(c + jbd2::h_blocktype, jbd2::commit);
    jbd2::put_be32(c + jbd2::h_sequence, sequence);
    jbd2::put_be64(c + jbd2::commit_block::commit_sec, static_cast<uint64_t>(now_ns / 1'000'000'000));
    jbd2::put_be32(c + jbd2::commit_block::commit_nsec, static_cast<uint32_t>(now_ns % 1'000'000'000));
    if (m_csum) jbd2::put_be32(c + jbd2::commit_block::chksum, crc32c(m_csum_seed, c, m_block_size));
    result = write_log(static_cast<uint32_t>(m_first + log_blocks), c);
    if (result && flush) result = block::transfer(device, block::Operation::flush, 0, 0);
  }
  delete[] requests;
  delete[] numbers;
  TRY(result);
  m_commits++;
  m_sequence = sequence + 1;
  if (m_stop_before_checkpoint) return {};
  // 5. The checkpoint: the blocks in place, durable before the log may be overwritten.
  TRY(cache.write_back(block::BlockCache::Durability::flushed));
  // 6. The log is no longer needed (made durable by the next flush).
  return write_superblock(0);
}

}  // namespace nimbus::fs::ext4
