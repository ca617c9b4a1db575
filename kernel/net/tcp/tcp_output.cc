// Sending: segment building, segmentation to the MSS, Nagle (RFC 9293 3.7.4) with
// TCP_NODELAY, TCP_CORK and MSG_MORE, silly window avoidance on both sides (3.8.6.2), ACK
// and window-update policy with delayed ACKs (RFC 5681 4.2), FIN, RST, and closing.
#include <new>

#include "kernel/net/checksum.h"
#include "kernel/net/ipv4.h"

#include "kernel/net/tcp/tcp_engine.h"
#include "kernel/net/tcp/tcp_seq.h"

namespace nimbus::net::tcp {
namespace {

uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }

// RFC 9293 3.8.6.2.2: the receiver offers more window only once it can offer at least
// min(buffer / 2, MSS) more, and never moves the right edge left.
uint32_t window_to_advertise(TcpConnection& c) {
  uint32_t free_space = c.receive_window();
  uint32_t current = seq_gt(c.rcv_adv, c.rcv_nxt) ? c.rcv_adv - c.rcv_nxt : 0;
  uint32_t threshold = min32(uint32_t(c.receive_buffer.capacity() / 2), c.mss);
  if (free_space > current && free_space - current < threshold) free_space = current;
  if (free_space < current) free_space = current;
  uint32_t limit = uint32_t(65535) << c.rcv_wscale;
  if (free_space > limit) free_space = limit;
  return free_space;
}

bool sending_state(TcpState s) {
  return s == TcpState::established || s == TcpState::close_wait || s == TcpState::fin_wait_1 ||
         s == TcpState::closing || s == TcpState::last_ack;
}

}  // namespace

bool TcpEngine::send_segment(TcpConnection& c, uint32_t seq, uint32_t length, uint8_t flags) {
  TcpHeader h;
  h.source_port = c.local.port;
  h.destination_port = c.remote.port;
  h.seq = seq;
  h.flags = flags;
  if (flags & kAck) h.ack = c.rcv_nxt;
  TcpOptions& o = h.options;
  if (flags & kSyn) {
    o.has_mss = true;
    o.mss = c.settings.user_mss && c.settings.user_mss < advertised_mss(c.remote.address)
                ? c.settings.user_mss
                : advertised_mss(c.remote.address);
    // On a SYN-ACK, offer only what the peer's SYN offered (RFC 7323 2.2, RFC 2018 2).
    bool answer = c.state == TcpState::syn_received;
    if (m_settings.window_scaling && (!answer || c.wscale_ok)) {
      o.has_window_scale = true;
      o.window_scale = c.rcv_wscale;
    }
    o.sack_permitted = m_settings.sack && (!answer || c.sack_ok);
    if (m_settings.timestamps && (!answer || c.ts_ok)) {
      o.has_timestamps = true;
      o.ts_value = ts_now(c);
      o.ts_echo = answer ? c.ts_recent : 0;
    }
    // RFC 7323 2.2: the window of a SYN is never scaled.
    h.window = uint16_t(min32(c.receive_window(), 65535));
  } else {
    if (c.ts_ok) {
      o.has_timestamps = true;
      o.ts_value = ts_now(c);
      o.ts_echo = c.ts_recent;
    }
    if (c.sack_ok && (flags & kAck)) {
      sack_fill_blocks(c, o);
      // SACK blocks share the segment with data: keep it within the MSS the path allows.
      uint32_t room = c.mss > length ? c.mss - length : 0;
      uint32_t fit = room >= 12 ? (room - 4) / 8 : 0;
      if (o.sack_count > fit) o.sack_count = uint8_t(fit);
    }
    uint32_t window = window_to_advertise(c);
    h.window = uint16_t(window >> c.rcv_wscale);
    uint32_t edge = c.rcv_nxt + (uint32_t(h.window) << c.rcv_wscale);
    if (seq_gt(edge, c.rcv_adv)) c.rcv_adv = edge;
  }
  if (flags & kRst) h.window = 0;

  size_t header_length = kMinHeaderLength + tcp_options_length(o);
  auto allocated = Packet::try_allocate(Packet::kDefaultHeadroom + header_length + length);
  if (!allocated) return false;  // the retransmission timer will try again
  Packet* packet = *allocated;
  std::byte* out = packet->put(header_length + length);
  build_tcp_header({out, header_length}, h);
  if (length) c.send_buffer.peek(seq - c.send_base, {out + header_length, length});
  // The checksum is left to the device when it can (VIRTIO_NET_F_CSUM), else IP finishes it
  // in software: the field holds the pseudo-header sum, as the offload contract asks.
  store_be16(out + 16, static_cast<uint16_t>(pseudo_header_sum(c.local.address, c.remote.address, kIpProtocolTcp,
                                                         uint32_t(header_length + length))));
  packet->offload.checksum_needed = true;
  packet->offload.checksum_start = 0;
  packet->offload.checksum_offset = 16;
  if (length > c.mss) packet->offload.gso_size = c.mss;  // a TSO segment (output() checked the route)

  uint64_t now = m_host.now_ns();
  uint32_t end = seq + length + ((flags & kSyn) ? 1 : 0) + ((flags & kFin) ? 1 : 0);
  if (end != seq) {
    if (seq_lt(seq, c.snd_max)) {
      c.total_retransmits++;
      // Karn's algorithm (RFC 6298 3): no sample from a segment sent more than once.
      if (c.rtt_timing && seq_le(seq, c.rtt_seq)) c.rtt_timing = false;
    } else if (!c.rtt_timing) {
      c.rtt_timing = true;
      c.rtt_seq = seq;
      c.rtt_start_ns = now;
    }
    if (seq_gt(end, c.snd_nxt)) c.snd_nxt = end;
    if (seq_gt(end, c.snd_max)) c.snd_max = end;
    if (length) c.last_data_sent_ns = now;
  }
  if (flags & kFin) {
    c.fin_sent = true;
    c.fin_seq = seq + length;
  }
  if (flags & kAck) {
    c.ack_now = false;
    c.segments_unacked = 0;
    disarm(c, c.delack_timer);
  }
  c.segments_out++;
  IpSendOptions options;
  options.tos = c.settings.tos;
  options.ttl = c.settings.hop_limit;
  options.checksum_offloaded = true;
  (void)m_host.ip_output(packet, c.local.address, c.remote.address, options);
  return true;
}

void TcpEngine::send_ack(TcpConnection& c) { send_segment(c, c.snd_nxt, 0, kAck); }

void TcpEngine::send_syn(TcpConnection& c) {
  uint8_t flags = c.state == TcpState::syn_received ? (kSyn | kAck) : kSyn;
  send_segment(c, c.iss, 0, flags);
}

void TcpEngine::send_reset(TcpConnection& c) { send_segment(c, c.snd_nxt, 0, kRst | kAck); }

// RFC 9293 3.10.7.1: the reset for a segment that belongs to no connection.
void TcpEngine::send_reset_for(const TcpHeader& in, size_t data_length, const IpAddress& source,
                               const IpAddress& destination) {
  TcpHeader h;
  h.source_port = in.destination_port;
  h.destination_port = in.source_port;
  if (in.flags & kAck) {
    h.seq = in.ack;
    h.flags = kRst;
  } else {
    h.seq = 0;
    h.ack = in.seq + uint32_t(data_length) + ((in.flags & kSyn) ? 1 : 0) + ((in.flags & kFin) ? 1 : 0);
    h.flags = kRst | kAck;
  }
  auto allocated = Packet::try_allocate(Packet::kDefaultHeadroom + kMinHeaderLength);
  if (!allocated) return;
  Packet* packet = *allocated;
  std::byte* out = packet->put(kMinHeaderLength);
  build_tcp_header({out, kMinHeaderLength}, h);
  uint16_t checksum = tcp_checksum(source, destination, packet->bytes());
  out[16] = std::byte(checksum >> 8);
  out[17] = std::byte(checksum);
  (void)m_host.ip_output(packet, source, destination, IpSendOptions{});
}

// RFC 5961 7 asks to rate-limit challenge ACKs (Linux: tcp_challenge_ack_limit per second).
bool TcpEngine::challenge_ack_allowed() {
  uint64_t now = m_host.now_ns();
  if (now - m_challenge_window_start_ns >= 1'000'000'000) {
    m_challenge_window_start_ns = now;
    m_challenge_count = 0;
  }
  if (m_challenge_count >= m_settings.challenge_ack_limit) return false;
  m_challenge_count++;
  return true;
}

// RFC 5961 10 and Linux's tcp_oow_rate_limited: two ends that disagree about the sequence
// space (a forged or corrupted segment moved one of them) each find the other's ACKs
// unacceptable and answer them with an ACK, for ever, two segments per round trip: an ACK
// loop, a remote denial of service. So an ACK owed to an invalid segment goes out at most once
// per invalid_ratelimit_ms per connection.
bool TcpEngine::invalid_ack_rate_limited(TcpConnection& c) {
  uint64_t now = m_host.now_ns();
  if (c.last_invalid_ack_ns && now - c.last_invalid_ack_ns < uint64_t(m_settings.invalid_ratelimit_ms) * 1'000'000)
    return true;
  c.last_invalid_ack_ns = now;
  return false;
}

// A segment with data (and no SYN) is always answered: a loop needs pure ACKs on both sides,
// and a duplicate data segment deserves its ACK (RFC 5681 4.2).
void TcpEngine::send_out_of_window_ack(TcpConnection& c, const TcpHeader& h, size_t data_length) {
  if ((data_length && !(h.flags & kSyn)) || !invalid_ack_rate_limited(c)) send_ack(c);
}

void TcpEngine::send_challenge_ack(TcpConnection& c) {
  // Per connection first, then the engine-wide limit of RFC 5961 7.
  if (invalid_ack_rate_limited(c)) return;
  if (!challenge_ack_allowed()) return;
  m_challenge_acks++;
  send_ack(c);
}

// RFC 5681 4.2 / RFC 9293 3.8.6.3: ACK at least every second full-sized segment (a frame the
// device coalesced from many, GUEST_TSO, counts as the segments it holds), and otherwise
// within 40 ms (Linux's minimum delayed-ACK timeout; RFC says under 500 ms).
void TcpEngine::schedule_ack(TcpConnection& c, uint32_t full_segments) {
  c.segments_unacked += full_segments;
  if (c.settings.quickack || c.segments_unacked >= 2) {
    c.ack_now = true;
    return;
  }
  if (!c.delack_timer.armed()) arm(c, c.delack_timer, m_host.now_ns() + kDelayedAckNs);
}

void TcpEngine::arm_retransmit(TcpConnection& c) {
  c.persist_mode = false;
  arm(c, c.retransmit_timer, m_host.now_ns() + c.rto_ns);
}

void TcpEngine::output(TcpConnection& c) {
  if (sending_state(c.state)) {
    // RFC 6675 5 (4): retransmissions of holes come first while the pipe allows.
    if (c.in_recovery && c.sack_ok) {
      uint32_t seq, length;
      while (sack_pipe(c) + c.mss <= c.window.cwnd && sack_next_hole(c, seq, length)) {
        send_segment(c, seq, length, kAck);
        c.high_rxt = seq + length;
      }
    }
    // With TSO, new data leaves in segments of many MSS that the device cuts (every piece
    // gets the same header, so the largest TCP header is kept free of the limit).
    uint32_t burst = c.mss;
    if (uint32_t limit = m_host.segmentation_limit(c.remote.address); limit > kMaxHeaderLength + 2u * c.mss)
      burst = uint32_t((limit - kMaxHeaderLength) / c.mss * c.mss);
    bool starved = false;  // out of packet memory with data still to send
    for (;;) {
      // Going back after a timeout: what the peer SACKed is not sent again (RFC 6675 5.1
      // lets the scoreboard survive the timeout, as Linux does).
      if (c.sack_ok && !c.in_recovery && seq_lt(c.snd_nxt, c.snd_max)) {
        for (size_t i = 0; i < c.scoreboard.count(); i++)
          if (seq_in(c.snd_nxt, c.scoreboard[i].left, c.scoreboard[i].right)) c.snd_nxt = c.scoreboard[i].right;
      }
      uint32_t unsent = c.unsent_bytes();
      if (unsent == 0) break;
      uint32_t flight = c.snd_nxt - c.snd_una;
      if (c.sack_ok && c.in_recovery)
        flight = sack_pipe(c);
      else if (c.sack_ok)  // SACKed bytes below SND.NXT have left the network
        flight -= c.scoreboard.bytes_above(c.snd_una) - c.scoreboard.bytes_above(c.snd_nxt);
      // RFC 3042 limited transmit: the first two duplicate ACKs each let one new segment out.
      uint32_t allowance = (!c.in_recovery && c.dupacks && c.snd_nxt == c.snd_max) ? min32(c.dupacks, 2) * c.mss : 0;
      uint32_t window = min32(c.snd_wnd, c.window.cwnd + allowance);
      uint32_t usable = window > flight ? window - flight : 0;
      // Never beyond the peer's offered window, whatever the congestion window says.
      uint32_t offered_edge = c.snd_una + c.snd_wnd;
      uint32_t offered = seq_gt(offered_edge, c.snd_nxt) ? offered_edge - c.snd_nxt : 0;
      usable = min32(usable, offered);
      // Retransmissions stay one MSS each: only new data goes out in TSO segments.
      uint32_t length = min32(min32(unsent, c.snd_nxt == c.snd_max ? burst : c.mss), usable);
      // A retransmission after a timeout stops at the next SACKed range.
      if (c.sack_ok && seq_lt(c.snd_nxt, c.snd_max))
        for (size_t i = 0; i < c.scoreboard.count(); i++)
          if (seq_gt(c.scoreboard[i].left, c.snd_nxt)) {
            length = min32(length, c.scoreboard[i].left - c.snd_nxt);
            break;
          }
      if (length == 0) break;
      if (length < c.mss) {
        if (length < unsent) {
          // Sender SWS avoidance (RFC 9293 3.8.6.2.1): a window-limited small segment waits
          // until half the largest window seen is usable, unless nothing is in flight.
          if (length < c.max_snd_wnd / 2 && c.snd_nxt != c.snd_una) break;
        } else {
          // The tail of the data: Nagle holds it while anything is unacknowledged; TCP_CORK
          // and MSG_MORE hold it until a full segment forms (or the FIN comes).
          bool corked = (c.settings.cork || c.more_pending) && !c.fin_queued;
          // tcp(7): TCP_CORK holds it at most 200 ms (MSG_MORE until more data comes).
          if (corked && c.settings.cork && !c.more_pending) {
            if (!c.cork_expired && !c.cork_timer.armed()) arm(c, c.cork_timer, m_host.now_ns() + kCorkCeilingNs);
            corked = !c.cork_expired;
          }
          if (corked) break;
          if (!c.settings.nodelay && c.snd_nxt != c.snd_una && !c.fin_queued) break;
        }
      }
      bool last = length == unsent;
      if (last) {
        c.cork_expired = false;
        disarm(c, c.cork_timer);
      }
      // Out of packet memory, SND.NXT did not move: trying again here would spin for ever
      // (the timer set below retries).
      if (!send_segment(c, c.snd_nxt, length, kAck | (last ? kPsh : 0))) {
        starved = true;
        break;
      }
    }
    // Our FIN follows the data once everything before it has been sent.
    // Our FIN follows the data once all of it has been sent (again, after a timeout).
    if (c.fin_queued && c.snd_nxt == c.fin_seq && seq_le(c.snd_una, c.fin_seq))
      send_segment(c, c.snd_nxt, 0, kAck | kFin);
    bool outstanding = c.snd_max != c.snd_una;
    if (outstanding) {
      if (!c.retransmit_timer.armed() || c.persist_mode) arm_retransmit(c);
    } else if (c.unsent_bytes() && (c.snd_wnd == 0 || starved)) {
      // RFC 9293 3.8.6.1: the persist timer probes a zero window. Without packet memory and
      // nothing in flight, no ACK will come to send the data: the same timer tries again
      // (Linux's TCP_RESOURCE_PROBE_INTERVAL); with an open window it only calls output().
      if (!c.retransmit_timer.armed()) {
        c.persist_mode = true;
        uint64_t timeout = c.rto_ns << (c.backoff < 10 ? c.backoff : 10);
        if (timeout > kMaxRtoNs) timeout = kMaxRtoNs;
        arm(c, c.retransmit_timer, m_host.now_ns() + timeout);
      }
    } else if (c.retransmit_timer.armed() && !outstanding && !c.persist_mode) {
      disarm(c, c.retransmit_timer);
    }
  }
  if (c.ack_now && c.synchronized() && c.state != TcpState::syn_received) send_ack(c);
}

void TcpEngine::after_read(TcpConnection& c) {
  if (!c.synchronized() || c.fin_received) return;
  // A window update when reading opened at least min(buffer / 2, MSS) of new window.
  uint32_t current = seq_gt(c.rcv_adv, c.rcv_nxt) ? c.rcv_adv - c.rcv_nxt : 0;
  uint32_t free_space = c.receive_window();
  uint32_t threshold = min32(uint32_t(c.receive_buffer.capacity() / 2), c.mss);
  if (free_space > current && free_space - current >= threshold) send_ack(c);
}

void TcpEngine::shutdown_write(TcpConnection& c) {
  if (c.fin_queued) return;
  switch (c.state) {
    case TcpState::syn_sent:
    case TcpState::closed:
    case TcpState::listen:
      c.shut_write = true;
      return;
    case TcpState::syn_received:
    case TcpState::established:
      set_state(c, TcpState::fin_wait_1);
      break;
    case TcpState::close_wait:
      set_state(c, TcpState::last_ack);
      break;
    default:
      return;
  }
  c.shut_write = true;
  c.fin_queued = true;
  c.fin_seq = c.send_end();
  if (c.state != TcpState::syn_received) output(c);
}

void TcpEngine::abort(TcpConnection& c) {
  if (c.synchronized() && c.state != TcpState::time_wait) send_reset(c);
  finish(c);
}

// RFC 9293 3.10.4 CLOSE, with Linux's rule (RFC 2525 2.17) that closing with unread data
// resets the connection, and SO_LINGER with a zero timeout aborting it.
void TcpEngine::close(TcpConnection& c) {
  c.orphan = true;
  if (c.state == TcpState::listen) {
    while (TcpConnection* child = c.syn_queue.front()) {
      child->orphan = true;
      abort(*child);
    }
    while (TcpConnection* child = c.accept_queue.front()) {
      child->orphan = true;
      abort(*child);
    }
    finish(c);
    return;
  }
  if (c.state == TcpState::closed || c.state == TcpState::syn_sent) {
    finish(c);
    remove(c);
    return;
  }
  if (c.receive_buffer.size() || (c.settings.linger && c.settings.linger_s == 0)) {
    abort(c);
    return;
  }
  shutdown_write(c);
  if (c.state == TcpState::fin_wait_2) arm(c, c.keepalive_timer, m_host.now_ns() + fin_wait2_timeout_ns(c.settings));
}

}  // namespace nimbus::net::tcp
