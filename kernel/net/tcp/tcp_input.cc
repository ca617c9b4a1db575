// Segment arrival (RFC 9293 3.10.7) for every state of a connection, with RFC 5961's
// defences against blind RST, SYN and data injection (challenge ACKs), RFC 7323's PAWS,
// the acknowledgement processing that drives RTT, congestion control and fast recovery
// (RFC 5681, 6582, 6675), and the receive side's reassembly.
#include "kernel/net/tcp/tcp_engine.h"
#include "kernel/net/tcp/tcp_seq.h"

namespace nimbus::net::tcp {
namespace {

uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }
constexpr uint32_t kPollIn = 0x001, kPollOut = 0x004, kPollRdHup = 0x2000, kPollHup = 0x010, kPollErr = 0x008;

// RFC 9293 3.10.7.4, the four cases of segment acceptability.
bool acceptable(const TcpConnection& c, uint32_t seq, uint32_t length) {
  uint32_t window = seq_gt(c.rcv_adv, c.rcv_nxt) ? c.rcv_adv - c.rcv_nxt : 0;
  if (c.receive_window() > window) window = c.receive_window();
  if (length == 0) {
    if (window == 0) return seq == c.rcv_nxt;
    return seq_in(seq, c.rcv_nxt, c.rcv_nxt + window);
  }
  if (window == 0) return false;
  return seq_in(seq, c.rcv_nxt, c.rcv_nxt + window) || seq_in(seq + length - 1, c.rcv_nxt, c.rcv_nxt + window);
}

// Options of a SYN or SYN-ACK agreed between both ends (RFC 7323 2.2, 3.2; RFC 2018 2).
void negotiate(TcpEngine& engine, TcpConnection& c, const TcpHeader& h) {
  const TcpOptions& o = h.options;
  c.peer_mss = o.has_mss ? o.mss : kDefaultMss;
  uint16_t ours = engine.advertised_mss(c.remote.address);
  if (c.settings.user_mss && c.settings.user_mss < ours) ours = c.settings.user_mss;
  c.mss = min32(c.peer_mss, ours) < 64 ? 64 : uint16_t(min32(c.peer_mss, ours));
  c.wscale_ok = o.has_window_scale && engine.settings().window_scaling;
  if (c.wscale_ok) {
    c.snd_wscale = o.window_scale;
  } else {
    c.snd_wscale = 0;
    c.rcv_wscale = 0;
  }
  c.sack_ok = o.sack_permitted && engine.settings().sack;
  c.ts_ok = o.has_timestamps && engine.settings().timestamps;
  if (c.ts_ok) {
    c.ts_recent = o.ts_value;
    c.ts_recent_time_ns = engine.host().now_ns();
    c.mss = uint16_t(c.mss - 12);  // every segment carries the timestamp option
  }
}

}  // namespace

// RFC 6298 2.2 and 2.3, with Linux's 200 ms floor instead of RFC's one second.
void TcpEngine::rtt_sample(TcpConnection& c, uint64_t r) {
  if (r == 0) r = 1000;  // under the clock's resolution
  if (!c.min_rtt_ns || r < c.min_rtt_ns) c.min_rtt_ns = r;
  if (c.srtt_ns == 0) {
    c.srtt_ns = r;
    c.rttvar_ns = r / 2;
  } else {
    uint64_t difference = c.srtt_ns > r ? c.srtt_ns - r : r - c.srtt_ns;
    c.rttvar_ns = (3 * c.rttvar_ns + difference) / 4;
    c.srtt_ns = (7 * c.srtt_ns + r) / 8;
  }
  uint64_t rto = c.srtt_ns + 4 * c.rttvar_ns;
  if (rto < kMinRtoNs) rto = kMinRtoNs;
  if (rto > kMaxRtoNs) rto = kMaxRtoNs;
  c.rto_ns = rto;
}

void TcpEngine::connection_established(TcpConnection& c) {
  c.ever_connected = true;
  c.window.mss = c.mss;
  c.congestion->reset(c.window, m_host.now_ns());
  set_state(c, TcpState::established);
  if (TcpConnection* listener = c.parent) {
    if (c.settings.defer_accept_s && c.receive_buffer.size() == 0) {
      // TCP_DEFER_ACCEPT: the listener hears of it when data comes (or the period ends).
      c.defer_waiting = true;
      arm(c, c.keepalive_timer, m_host.now_ns() + uint64_t(c.settings.defer_accept_s) * 1'000'000'000);
    } else if (c.in_syn_queue) {
      listener->syn_queue.remove(&c);
      c.in_syn_queue = false;
      listener->accept_queue.push_back(&c);  // the queue's reference moves along
      c.in_accept_queue = true;
      listener->wake(kPollIn);
    }
  }
  restart_keepalive(c);
  c.wake(kPollOut);
  if (c.fin_queued) {
    set_state(c, TcpState::fin_wait_1);
    output(c);
  }
}

void TcpEngine::enter_time_wait(TcpConnection& c) {
  set_state(c, TcpState::time_wait);
  disarm(c, c.retransmit_timer);
  disarm(c, c.delack_timer);
  arm(c, c.keepalive_timer, m_host.now_ns() + kTimeWaitNs);
}

namespace {

void process_fin(TcpEngine& engine, TcpConnection& c) {
  c.rcv_nxt++;
  c.fin_received = true;
  c.peer_fin_pending = false;
  c.ack_now = true;
  switch (c.state) {
    case TcpState::syn_received:
    case TcpState::established:
      engine.set_state(c, TcpState::close_wait);
      break;
    case TcpState::fin_wait_1:
      // Our FIN not yet acknowledged: simultaneous close.
      if (c.fin_sent && seq_gt(c.snd_una, c.fin_seq))
        engine.enter_time_wait(c);
      else
        engine.set_state(c, TcpState::closing);
      break;
    case TcpState::fin_wait_2:
      engine.enter_time_wait(c);
      break;
    default:
      break;
  }
  c.wake(kPollIn | kPollRdHup);
}

// Segment text (RFC 9293 3.10.7.4 seventh): in-order bytes become readable, later ones wait
// in the ring at their offset until the gap fills.
void receive_data(TcpEngine& engine, TcpConnection& c, uint32_t seq, std::span<const std::byte> data) {
  if (seq_lt(seq, c.rcv_nxt)) {
    uint32_t skip = c.rcv_nxt - seq;
    if (skip >= data.size()) {
      c.ack_now = true;  // a duplicate: ACK at once (RFC 5681 4.2)
      return;
    }
    data = data.subspan(skip);
    seq = c.rcv_nxt;
  }
  uint32_t offset = seq - c.rcv_nxt;
  auto stored_or = c.receive_buffer.write_beyond(offset, data);
  size_t stored = stored_or ? *stored_or : 0;
  c.last_data_received_ns = engine.host().now_ns();
  if (offset != 0) {
    if (stored) c.out_of_order.add(seq, seq + uint32_t(stored));
    c.ack_now = true;  // RFC 5681 4.2: out-of-order data is ACKed at once (with SACK)
    return;
  }
  bool filled_gap = c.out_of_order.count() != 0;
  c.receive_buffer.commit(stored);
  c.rcv_nxt += uint32_t(stored);
  c.bytes_received_total += stored;
  c.out_of_order.trim_below(c.rcv_nxt);
  while (c.out_of_order.count() && c.out_of_order[0].left == c.rcv_nxt) {
    uint32_t extra = c.out_of_order[0].right - c.rcv_nxt;
    c.receive_buffer.commit(extra);
    c.rcv_nxt += extra;
    c.bytes_received_total += extra;
    c.out_of_order.trim_below(c.rcv_nxt);
  }
  if (filled_gap || stored < data.size())
    c.ack_now = true;
  else if (stored)
    engine.schedule_ack(c, uint32_t(stored / c.mss));
  if (c.peer_fin_pending && c.rcv_nxt == c.peer_fin_seq) process_fin(engine, c);
  if (c.defer_waiting && c.receive_buffer.size() && c.parent && c.in_syn_queue) {
    TcpConnection* listener = c.parent;
    c.defer_waiting = false;
    engine.disarm(c, c.keepalive_timer);
    listener->syn_queue.remove(&c);
    c.in_syn_queue = false;
    listener->accept_queue.push_back(&c);
    c.in_accept_queue = true;
    listener->wake(kPollIn);
  }
  if (stored) c.wake(kPollIn);
}

}  // namespace

// RFC 9293 3.10.7.3: SYN-SENT.
static void syn_sent_input(TcpEngine& engine, TcpConnection& c, const TcpHeader& h, std::span<const std::byte> data,
                           const IpReceiveInfo& info) {
  bool has_ack = h.flags & kAck;
  if (has_ack && (seq_le(h.ack, c.iss) || seq_gt(h.ack, c.snd_max))) {
    if (!(h.flags & kRst)) engine.send_reset_for(h, data.size(), info.destination, info.source);
    return;
  }
  if (h.flags & kRst) {
    if (has_ack) {
      c.set_error(Errno::econnrefused);
      c.reset = true;
      engine.finish(c);
    }
    return;
  }
  if (!(h.flags & kSyn)) return;
  c.irs = h.seq;
  c.rcv_nxt = h.seq + 1;
  c.rcv_adv = c.rcv_nxt;
  negotiate(engine, c, h);
  c.snd_wnd = h.window;  // never scaled in a SYN
  c.max_snd_wnd = c.snd_wnd;
  c.snd_wl1 = h.seq;
  c.snd_wl2 = h.ack;
  if (has_ack) {
    if (c.rtt_timing) {
      engine.rtt_sample(c, engine.host().now_ns() - c.rtt_start_ns);
      c.rtt_timing = false;
    }
    c.snd_una = h.ack;
    c.backoff = 0;
    c.syn_retries = 0;
    engine.disarm(c, c.retransmit_timer);
    engine.connection_established(c);
    c.ack_now = true;
    if (!data.empty()) receive_data(engine, c, h.seq + 1, data);
    if (h.flags & kFin) {
      if (c.rcv_nxt == h.seq + 1 + data.size()) process_fin(engine, c);
    }
    engine.output(c);
  } else {
    // Simultaneous open (RFC 9293 3.5 figure 8): answer with SYN-ACK.
    engine.set_state(c, TcpState::syn_received);
    engine.send_syn(c);
    engine.arm_retransmit(c);
  }
}

void TcpEngine::segment_arrives(TcpConnection& c, const TcpHeader& header, std::span<const std::byte> data,
                                const IpReceiveInfo& info) {
  if (c.state == TcpState::syn_sent) {
    syn_sent_input(*this, c, header, data, info);
    return;
  }
  if (c.state == TcpState::closed || c.state == TcpState::listen) return;
  TcpHeader h = header;
  uint64_t now = m_host.now_ns();

  // TIME-WAIT reuse (RFC 6191 and Linux): a new SYN above the old connection's sequence
  // space (or with a newer timestamp) ends TIME-WAIT and goes to the listener.
  if (c.state == TcpState::time_wait && (h.flags & kSyn) && !(h.flags & (kAck | kRst))) {
    bool newer = seq_gt(h.seq, c.rcv_nxt) ||
                 (c.ts_ok && h.options.has_timestamps && seq_gt(h.options.ts_value, c.ts_recent));
    if (newer) {
      Endpoint local = c.local, remote = c.remote;
      c.orphan = true;
      finish(c);
      remove(c);
      if (TcpConnection* listener = lookup_listener(local, remote)) listen_input(*listener, h, data, info);
      return;
    }
  }

  // A retransmitted SYN in SYN-RECEIVED gets the SYN-ACK again; the SYN bit of a SYN-ACK
  // from a simultaneous open is trimmed away (it lies before RCV.NXT).
  if ((h.flags & kSyn) && h.seq == c.irs) {
    if (c.state == TcpState::syn_received && !(h.flags & kAck)) {
      send_syn(c);
      return;
    }
    h.flags &= uint8_t(~kSyn);
    h.seq++;
  }
  uint32_t length = uint32_t(data.size()) + ((h.flags & kSyn) ? 1 : 0) + ((h.flags & kFin) ? 1 : 0);

  // RFC 7323 5.3: PAWS rejects a segment whose timestamp is older than TS.Recent (unless
  // TS.Recent is over 24 days old).
  if (c.ts_ok && h.options.has_timestamps && !(h.flags & kRst) && seq_lt(h.options.ts_value, c.ts_recent) &&
      now - c.ts_recent_time_ns < 24ull * 86400 * 1'000'000'000) {
    send_out_of_window_ack(c, h, data.size());
    return;
  }

  // First: the sequence number.
  if (!acceptable(c, h.seq, length)) {
    if (!(h.flags & kRst)) send_out_of_window_ack(c, h, data.size());
    return;
  }

  // Second: RST (RFC 5961 3.2): only an exact RCV.NXT resets; any other in-window RST is
  // answered with a challenge ACK.
  if (h.flags & kRst) {
    if (h.seq != c.rcv_nxt) {
      send_challenge_ack(c);
      return;
    }
    switch (c.state) {
      case TcpState::syn_received:
        if (!c.parent) {
          c.set_error(Errno::econnrefused);
          c.reset = true;
        }
        c.orphan = c.orphan || c.parent;
        break;
      case TcpState::established:
      case TcpState::fin_wait_1:
      case TcpState::fin_wait_2:
        c.set_error(Errno::econnreset);
        c.reset = true;
        break;
      case TcpState::close_wait:
        // Linux's tcp_reset: the peer had finished, so this side only loses its writes.
        c.set_error(Errno::epipe);
        c.reset = true;
        break;
      default:
        break;
    }
    finish(c);
    c.wake(kPollIn | kPollOut | kPollErr | kPollHup);
    return;
  }

  // Fourth: a SYN in a synchronized state (RFC 5961 4.2): a challenge ACK.
  if (h.flags & kSyn) {
    send_challenge_ack(c);
    return;
  }

  // Fifth: the ACK field.
  if (!(h.flags & kAck)) return;
  c.probes_out = 0;
  keepalive_heard(c);
  if (c.state == TcpState::syn_received) {
    if (!(seq_lt(c.snd_una, h.ack) && seq_le(h.ack, c.snd_max))) {
      send_reset_for(h, data.size(), info.destination, info.source);
      return;
    }
    if (c.rtt_timing) {
      rtt_sample(c, now - c.rtt_start_ns);
      c.rtt_timing = false;
    }
    c.snd_una = h.ack;
    c.snd_wnd = uint32_t(h.window) << c.snd_wscale;
    c.max_snd_wnd = c.snd_wnd;
    c.snd_wl1 = h.seq;
    c.snd_wl2 = h.ack;
    c.backoff = 0;
    disarm(c, c.retransmit_timer);
    connection_established(c);
  }
  // RFC 5961 5.2: an ACK beyond what we sent is answered and dropped; one far below
  // SND.UNA (more than the largest window back) gets a challenge ACK.
  if (seq_gt(h.ack, c.snd_max)) {
    send_out_of_window_ack(c, h, data.size());
    return;
  }
  if (seq_lt(h.ack, c.snd_una - c.max_snd_wnd)) {
    send_challenge_ack(c);
    return;
  }
  uint32_t window = uint32_t(h.window) << c.snd_wscale;
  c.last_ack_received_ns = now;
  uint32_t sacked_before = c.scoreboard.bytes_above(c.snd_una);
  if (c.sack_ok && h.options.sack_count) sack_update_scoreboard(c, h.options);
  // RFC 6675 2: with SACK, a duplicate ACK counts only when it SACKs something new (so
  // duplicated segments do not trigger fast retransmit).
  bool new_sack_information = c.scoreboard.bytes_above(c.snd_una) != sacked_before;

  if (seq_gt(h.ack, c.snd_una)) {
    uint32_t acked = h.ack - c.snd_una;
    uint64_t rtt = 0;
    if (c.rtt_timing && seq_gt(h.ack, c.rtt_seq)) {
      rtt = now - c.rtt_start_ns;
      rtt_sample(c, rtt);
      c.rtt_timing = false;
    }
    if (seq_gt(h.ack, c.send_base)) {
      uint32_t n = min32(h.ack - c.send_base, uint32_t(c.send_buffer.size()));
      c.send_buffer.consume(n);
      c.send_base += n;
      if (n) c.wake(kPollOut);
    }
    uint32_t flight_before = c.snd_max - c.snd_una;
    c.snd_una = h.ack;
    if (seq_lt(c.snd_nxt, c.snd_una)) c.snd_nxt = c.snd_una;
    c.backoff = 0;
    c.first_timeout_ns = 0;
    c.bytes_acked_total += acked;
    c.scoreboard.trim_below(c.snd_una);
    if (c.in_recovery) {
      if (seq_ge(h.ack, c.recover)) {
        // RFC 6582 3.2 (3): full acknowledgement, deflate the window.
        c.in_recovery = false;
        c.dupacks = 0;
        uint32_t flight = c.snd_max - c.snd_una;
        c.window.cwnd = min32(c.window.ssthresh, flight + c.mss);
        if (c.window.cwnd < c.mss) c.window.cwnd = c.mss;
      } else if (!c.sack_ok) {
        // RFC 6582 3.2 (4): a partial ACK retransmits the next unacknowledged segment.
        send_segment(c, c.snd_una, min32(c.mss, c.send_end() - c.snd_una), kAck);
        c.window.cwnd = c.window.cwnd > acked ? c.window.cwnd - acked : c.mss;
        if (acked >= c.mss) c.window.cwnd += c.mss;
        arm_retransmit(c);
      }
    } else {
      c.dupacks = 0;
      // RFC 7661's spirit: grow only when the window was in use.
      if (flight_before + 2 * c.mss >= c.window.cwnd || c.window.cwnd < c.window.ssthresh)
        c.congestion->on_ack(c.window, acked, now, rtt);
    }
    if (c.snd_una == c.snd_max)
      disarm(c, c.retransmit_timer);
    else
      arm_retransmit(c);  // RFC 6298 5.3
  } else if (h.ack == c.snd_una && c.snd_max != c.snd_una && data.empty() && !(h.flags & kFin) &&
             window == c.snd_wnd && (!c.sack_ok || new_sack_information)) {
    // A duplicate ACK (RFC 5681 2).
    c.dupacks++;
    bool lost = c.sack_ok && sack_is_lost(c, c.snd_una);
    if (!c.in_recovery && (c.dupacks >= 3 || lost) && seq_gt(h.ack, c.recover - 1)) {
      // Fast retransmit (RFC 5681 3.2, RFC 6675 5 (4)).
      uint32_t flight = c.snd_max - c.snd_una;
      c.in_recovery = true;
      c.recoveries++;
      c.recover = c.snd_max;
      c.window.ssthresh = c.congestion->on_loss(c.window, flight, now);
      uint32_t length = min32(c.mss, c.send_end() - c.snd_una);
      if (c.sack_ok) {
        c.window.cwnd = c.window.ssthresh;
        c.high_rxt = c.snd_una + length;
      } else {
        c.window.cwnd = c.window.ssthresh + 3 * c.mss;
      }
      if (length)
        send_segment(c, c.snd_una, length, kAck);
      else if (c.fin_sent)
        send_segment(c, c.snd_una, 0, kAck | kFin);
      arm_retransmit(c);
    } else if (c.in_recovery && !c.sack_ok) {
      c.window.cwnd += c.mss;  // RFC 5681 3.2 (4): inflation
    }
  }
  // Fifth, continued: the send window (RFC 9293 3.10.7.4, SND.WL1/WL2 guard old segments).
  if (seq_lt(c.snd_wl1, h.seq) || (c.snd_wl1 == h.seq && seq_le(c.snd_wl2, h.ack))) {
    bool opened = c.snd_wnd == 0 && window > 0;
    c.snd_wnd = window;
    c.snd_wl1 = h.seq;
    c.snd_wl2 = h.ack;
    if (window > c.max_snd_wnd) c.max_snd_wnd = window;
    if (opened && c.persist_mode) {
      disarm(c, c.retransmit_timer);
      c.persist_mode = false;
      c.backoff = 0;
    }
  }

  bool fin_acked = c.fin_sent && seq_gt(c.snd_una, c.fin_seq);
  switch (c.state) {
    case TcpState::fin_wait_1:
      if (fin_acked) {
        set_state(c, TcpState::fin_wait_2);
        if (c.orphan) arm(c, c.keepalive_timer, now + fin_wait2_timeout_ns(c.settings));
      }
      break;
    case TcpState::closing:
      if (fin_acked) enter_time_wait(c);
      break;
    case TcpState::last_ack:
      if (fin_acked) {
        finish(c);
        return;
      }
      break;
    case TcpState::time_wait:
      if (h.flags & kFin) {
        // The peer's FIN again: our ACK was lost. ACK it and restart 2*MSL.
        c.ack_now = true;
        arm(c, c.keepalive_timer, now + kTimeWaitNs);
        output(c);
      }
      return;
    default:
      break;
  }

  // RFC 7323 4.3: TS.Recent follows the segment that covers the left window edge.
  if (c.ts_ok && h.options.has_timestamps && seq_le(h.seq, c.rcv_nxt) && seq_ge(h.options.ts_value, c.ts_recent)) {
    c.ts_recent = h.options.ts_value;
    c.ts_recent_time_ns = now;
  }

  // Seventh: the segment text. New data for a socket that reads no more (closed, or shut for
  // reading) after our FIN resets the connection (RFC 1122 4.2.2.13; Linux's
  // tcp_rcv_state_process, "TCPAbortOnData"), so the sender's next write fails with EPIPE.
  if (!data.empty() && (c.orphan || c.shut_read) &&
      (c.state == TcpState::fin_wait_1 || c.state == TcpState::fin_wait_2) &&
      seq_gt(h.seq + uint32_t(data.size()), c.rcv_nxt)) {
    send_reset(c);
    c.set_error(Errno::econnreset);
    c.reset = true;
    finish(c);
    c.wake(kPollIn | kPollOut | kPollErr | kPollHup);
    return;
  }
  if (!data.empty()) {
    if (c.can_receive_data())
      receive_data(*this, c, h.seq, data);
    else
      c.ack_now = true;
  }

  // Eighth: FIN, once everything before it has arrived.
  if ((h.flags & kFin) && !c.fin_received) {
    uint32_t fin_seq = h.seq + uint32_t(data.size());
    if (fin_seq == c.rcv_nxt) {
      process_fin(*this, c);
    } else if (seq_gt(fin_seq, c.rcv_nxt)) {
      c.peer_fin_pending = true;
      c.peer_fin_seq = fin_seq;
    }
  }
  if (c.state != TcpState::closed) output(c);
}

}  // namespace nimbus::net::tcp
