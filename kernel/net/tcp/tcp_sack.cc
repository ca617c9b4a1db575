// Selective acknowledgements: the receiver's blocks (RFC 2018 4) and the sender's
// scoreboard with RFC 6675's IsLost(), pipe estimate and NextSeg() for loss recovery.
#include "kernel/net/tcp/tcp_engine.h"
#include "kernel/net/tcp/tcp_seq.h"

namespace nimbus::net::tcp {
namespace {
constexpr uint32_t kDupThreshold = 3;  // RFC 6675 DupThresh

// The highest sequence number the peer SACKed (snd_una when none).
uint32_t highest_sacked(const TcpConnection& c) {
  size_t n = c.scoreboard.count();
  return n ? c.scoreboard[n - 1].right : c.snd_una;
}
}  // namespace

void TcpEngine::sack_update_scoreboard(TcpConnection& c, const TcpOptions& options) {
  for (size_t i = 0; i < options.sack_count; i++) {
    uint32_t left = options.sack[i].left, right = options.sack[i].right;
    // RFC 2883: a block at or below SND.UNA is a D-SACK; a block beyond what we sent is bogus.
    if (!seq_lt(left, right) || seq_le(right, c.snd_una) || seq_gt(right, c.snd_max)) continue;
    if (seq_lt(left, c.snd_una)) left = c.snd_una;
    c.scoreboard.add(left, right);
  }
}

// RFC 6675 4 IsLost(SeqNum): DupThresh discontiguous SACKed ranges, or more than
// (DupThresh - 1) * SMSS bytes, above it.
bool TcpEngine::sack_is_lost(TcpConnection& c, uint32_t seq) {
  size_t above = 0;
  for (size_t i = 0; i < c.scoreboard.count(); i++)
    if (seq_gt(c.scoreboard[i].left, seq)) above++;
  if (above >= kDupThreshold) return true;
  return c.scoreboard.bytes_above(seq + 1) > (kDupThreshold - 1) * c.mss;
}

// RFC 6675 4 SetPipe(), per hole rather than per octet: a hole deemed lost counts only for
// what was retransmitted of it; a hole not (yet) lost counts whole; data above the highest
// SACK counts whole.
uint32_t TcpEngine::sack_pipe(TcpConnection& c) {
  uint32_t pipe = 0;
  uint32_t cursor = c.snd_una;
  for (size_t i = 0; i < c.scoreboard.count(); i++) {
    uint32_t left = c.scoreboard[i].left;
    if (seq_lt(cursor, left)) {
      if (sack_is_lost(c, cursor)) {
        uint32_t retransmitted_end = seq_min(seq_max(c.high_rxt, cursor), left);
        pipe += retransmitted_end - cursor;
      } else {
        pipe += left - cursor;
      }
    }
    cursor = seq_max(cursor, c.scoreboard[i].right);
  }
  if (seq_lt(cursor, c.snd_nxt)) pipe += c.snd_nxt - cursor;
  return pipe;
}

// RFC 6675 4 NextSeg() rule 1: the first lost, unSACKed, not yet retransmitted bytes below
// the highest SACK. New data (rule 2) is output()'s ordinary path.
bool TcpEngine::sack_next_hole(TcpConnection& c, uint32_t& seq, uint32_t& length) {
  uint32_t start = seq_max(c.snd_una, c.high_rxt);
  uint32_t top = highest_sacked(c);
  uint32_t data_end = c.send_end();
  while (seq_lt(start, top)) {
    // Skip SACKed ranges.
    bool moved = false;
    for (size_t i = 0; i < c.scoreboard.count(); i++) {
      if (seq_in(start, c.scoreboard[i].left, c.scoreboard[i].right)) {
        start = c.scoreboard[i].right;
        moved = true;
      }
    }
    if (moved) continue;
    if (!sack_is_lost(c, start)) return false;
    uint32_t end = top;
    for (size_t i = 0; i < c.scoreboard.count(); i++)
      if (seq_gt(c.scoreboard[i].left, start)) {
        end = c.scoreboard[i].left;
        break;
      }
    if (seq_gt(end, data_end)) end = data_end;
    if (!seq_lt(start, end)) return false;
    seq = start;
    length = end - start < c.mss ? end - start : c.mss;
    return true;
  }
  return false;
}

// RFC 2018 4: the first block holds the most recently received segment, the rest repeat
// other recent blocks.
void TcpEngine::sack_fill_blocks(TcpConnection& c, TcpOptions& options) {
  options.sack_count = 0;
  size_t n = c.out_of_order.count();
  if (n == 0) return;
  size_t recent = c.out_of_order.most_recent();
  if (recent >= n) recent = 0;
  options.sack[options.sack_count++] = {c.out_of_order[recent].left, c.out_of_order[recent].right};
  for (size_t i = 0; i < n && options.sack_count < kMaxSackBlocks; i++) {
    if (i == recent) continue;
    options.sack[options.sack_count++] = {c.out_of_order[i].left, c.out_of_order[i].right};
  }
}

}  // namespace nimbus::net::tcp
