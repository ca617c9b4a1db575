// Journal: the ext4 volume's internal jbd2 journal (a file, inode 8 by default): replay of
// committed transactions at mount (recovery after a crash), and the ordered-mode commit of
// every change to metadata.
//
// A commit logs every dirty metadata block of the block cache as one transaction, always
// from the journal's first log block: file data is written in place first, then the journal
// superblock (pointing at the log), descriptor blocks and copies; a flush; the commit block;
// a flush; then the blocks are written in place (the checkpoint), a flush, and the journal is
// marked empty again. So the journal holds at most one transaction, and a crash at any point
// leaves either the old metadata or a complete transaction to replay. Revoke records are
// therefore never needed for our own commits; replay honours those that Linux wrote.
// Callers serialize every call (Ext4Fs's lock).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/block/block_cache.h"
#include "kernel/fs/ext4/extent_tree.h"
#include "kernel/lib/result.h"

namespace nimbus::fs::ext4 {

class Volume;

class Journal {
 public:
  // Reads and checks the journal superblock of the volume's internal journal. On failure
  // `*problem` says why: EOPNOTSUPP (a feature or version not handled), EINVAL or EBADMSG
  // (corrupt), EIO.
  static Result<Journal*> open(Volume& volume, const char** problem);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Whether the log holds anything (s_start != 0).
  bool has_log() const { return m_start != 0; }
  // Replays every committed transaction (the last copy of each block that no later revoke
  // record cancels) straight onto the device, flushes, and marks the journal empty. How
  // many transactions were replayed. A bad commit block ends the log; a bad descriptor or
  // data block checksum inside a committed transaction is EBADMSG.
  Result<uint32_t> recover(const char** problem);
  // Marks the journal empty (s_start = 0) without replaying (Linux's jbd2_journal_wipe).
  Result<> wipe();
  // Commits the cache's dirty metadata as one transaction and checkpoints it (see above).
  Result<> commit(int64_t now_ns);
  // How many metadata blocks one transaction can hold.
  size_t capacity() const;

  // Tests: the next commits stop after the commit block is durable, before the checkpoint
  // (as a power cut there would), leaving the metadata dirty in the cache.
  void set_stop_before_checkpoint(bool stop) { m_stop_before_checkpoint = stop; }
  uint32_t sequence() const { return m_sequence; }
  uint64_t commits() const { return m_commits; }

 private:
  explicit Journal(Volume& volume) : m_volume(volume) {}
  // The disk block of log block `log_block`.
  Result<uint64_t> physical(uint32_t log_block) const;
  Result<> read_log(uint32_t log_block, std::byte* buffer);
  Result<> write_log(uint32_t log_block, std::byte* buffer);
  // Writes the journal superblock with s_start = `start`, s_sequence = m_sequence.
  Result<> write_superblock(uint32_t start);
  uint32_t checksum(const std::byte* data, size_t length, uint32_t seed) const;
  size_t tag_bytes() const;
  uint32_t next(uint32_t log_block) const { return log_block + 1 >= m_maxlen ? m_first : log_block + 1; }
  // One pass over the log from s_start (scan, revoke or replay; see journal.cc).
  enum class Pass : uint8_t { scan, revoke, replay };
  Result<> pass(Pass which, const char** problem);

  struct Revoked {
    uint64_t block;
    uint32_t sequence;
  };

  Volume& m_volume;
  ExtentList m_extents;
  std::byte* m_super = nullptr;  // the journal superblock block, as read
  uint32_t m_block_size = 0;
  uint32_t m_maxlen = 0, m_first = 0, m_start = 0;
  uint32_t m_sequence = 0;  // the first transaction in the log, or the next one to write
  uint32_t m_incompat = 0;
  uint32_t m_csum_seed = 0;
  bool m_csum = false, m_csum_v3 = false, m_64bit = false;
  // Recovery state.
  uint32_t m_end_transaction = 0;
  uint32_t m_replayed_blocks = 0;
  GrowableArray<Revoked> m_revoked;
  bool m_stop_before_checkpoint = false;
  uint64_t m_commits = 0;
};

}  // namespace nimbus::fs::ext4
