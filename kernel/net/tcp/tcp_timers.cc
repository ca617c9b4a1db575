// TCP's timers: retransmission (RFC 6298, with Karn's back-off and Linux's 200 ms floor),
// the persist timer's zero-window probes (RFC 9293 3.8.6.1), delayed ACKs, keepalive
// (RFC 1122 4.2.3.6), TCP_USER_TIMEOUT (RFC 5482), TIME-WAIT and FIN-WAIT-2 expiry, and
// the TCP_DEFER_ACCEPT deadline.
#include "kernel/net/tcp/tcp_engine.h"
#include "kernel/net/tcp/tcp_seq.h"

namespace nimbus::net::tcp {
namespace {

constexpr uint32_t kPollIn = 0x001, kPollOut = 0x004, kPollErr = 0x008, kPollHup = 0x010;

uint64_t backed_off(const TcpConnection& c) {
  uint64_t rto = c.rto_ns;
  for (uint32_t i = 0; i < c.backoff && rto < kMaxRtoNs; i++) rto *= 2;
  return rto > kMaxRtoNs ? kMaxRtoNs : rto;
}

void give_up(TcpEngine& engine, TcpConnection& c, bool send_reset) {
  c.set_error(Errno::etimedout);
  c.reset = true;
  if (send_reset) engine.send_reset(c);
  engine.finish(c);
  c.wake(kPollIn | kPollOut | kPollErr | kPollHup);
}

// TCP_USER_TIMEOUT: data unacknowledged for longer than this ends the connection.
bool user_timeout_expired(const TcpConnection& c, uint64_t now) {
  return c.settings.user_timeout_ms && c.first_timeout_ns &&
         now - c.first_timeout_ns >= uint64_t(c.settings.user_timeout_ms) * 1'000'000;
}

void retransmit_timeout(TcpEngine& engine, TcpConnection& c) {
  uint64_t now = engine.host().now_ns();
  if (c.persist_mode) {
    // A zero-window probe: a segment below the window (Linux's tcp_xmit_probe_skb) that
    // the receiver must answer with its current window.
    if (c.snd_wnd != 0 || c.unsent_bytes() == 0) {
      c.persist_mode = false;
      c.backoff = 0;
      engine.output(c);
      return;
    }
    if (!c.first_timeout_ns) c.first_timeout_ns = now;
    if (c.probes_out >= kMaxRetries || user_timeout_expired(c, now)) {
      give_up(engine, c, true);
      return;
    }
    c.probes_out++;
    engine.send_segment(c, c.snd_una - 1, 0, kAck);
    if (c.backoff < 30) c.backoff++;
    engine.arm(c, c.retransmit_timer, now + backed_off(c));
    return;
  }
  switch (c.state) {
    case TcpState::syn_sent:
    case TcpState::syn_received: {
      uint32_t limit = c.state == TcpState::syn_sent ? uint32_t(c.settings.syn_retries) : kMaxSynAckRetries;
      if (c.syn_retries >= limit || user_timeout_expired(c, now)) {
        if (c.state == TcpState::syn_received && c.parent) c.orphan = true;
        give_up(engine, c, false);
        return;
      }
      if (!c.first_timeout_ns) c.first_timeout_ns = now;
      c.syn_retries++;
      c.backoff++;
      c.rtt_timing = false;
      engine.send_syn(c);
      engine.arm(c, c.retransmit_timer, now + backed_off(c));
      return;
    }
    default:
      break;
  }
  if (c.snd_una == c.snd_max) return;  // everything arrived meanwhile
  if (!c.first_timeout_ns) c.first_timeout_ns = now;
  if (c.backoff >= kMaxRetries || user_timeout_expired(c, now)) {
    give_up(engine, c, true);
    return;
  }
  // RFC 5681 3.1 eq. 4 on the first timeout of a series; RFC 6582 4 keeps duplicate ACKs
  // from the data sent before the timeout from starting a fast retransmit.
  if (c.backoff == 0) c.congestion->on_timeout(c.window, c.snd_max - c.snd_una, now);
  c.timeouts++;
  c.window.cwnd = c.mss;
  c.in_recovery = false;
  c.dupacks = 0;
  c.recover = c.snd_max;
  c.high_rxt = c.snd_una;
  c.backoff++;
  c.rtt_timing = false;
  c.snd_nxt = c.snd_una;  // go back: resend from the first unacknowledged byte
  uint32_t buffered = c.send_end() - c.snd_una;
  uint32_t length = buffered < c.mss ? buffered : c.mss;
  if (seq_lt(c.snd_una, c.send_base)) length = 0;  // nothing but a SYN before the data
  bool fin = c.fin_queued && c.snd_una + length == c.fin_seq;
  engine.send_segment(c, c.snd_una, length, kAck | (fin ? kFin : 0));
  engine.arm(c, c.retransmit_timer, now + backed_off(c));
}

void keepalive_timeout(TcpEngine& engine, TcpConnection& c) {
  uint64_t now = engine.host().now_ns();
  switch (c.state) {
    case TcpState::time_wait:
    case TcpState::fin_wait_2:
      c.orphan = c.orphan || c.state == TcpState::time_wait;
      engine.finish(c);
      return;
    default:
      break;
  }
  if (c.defer_waiting) {
    // The defer period is over: hand the connection to accept() anyway.
    c.defer_waiting = false;
    if (TcpConnection* listener = c.parent; listener && c.in_syn_queue) {
      listener->syn_queue.remove(&c);
      c.in_syn_queue = false;
      listener->accept_queue.push_back(&c);
      c.in_accept_queue = true;
      listener->wake(kPollIn);
    }
    return;
  }
  if (!c.settings.keepalive || (c.state != TcpState::established && c.state != TcpState::close_wait)) return;
  if (c.probes_out == 0) {
    // Heard from the peer since this was armed: idle for less than TCP_KEEPIDLE yet.
    uint64_t due = c.keepalive_idle_from_ns + uint64_t(c.settings.keep_idle_s) * 1'000'000'000;
    if (now < due) {
      engine.arm(c, c.keepalive_timer, due);
      return;
    }
  }
  if (c.probes_out >= c.settings.keep_count || user_timeout_expired(c, now)) {
    give_up(engine, c, true);
    return;
  }
  // A keepalive probe (RFC 1122 4.2.3.6): SEG.SEQ = SND.NXT - 1, no data.
  c.probes_out++;
  engine.send_segment(c, c.snd_una - 1, 0, kAck);
  engine.arm(c, c.keepalive_timer, now + uint64_t(c.settings.keep_interval_s) * 1'000'000'000);
}

}  // namespace

void TcpEngine::restart_keepalive(TcpConnection& c) {
  if (!c.settings.keepalive || c.defer_waiting) return;
  if (c.state != TcpState::established && c.state != TcpState::close_wait) return;
  c.keepalive_idle_from_ns = m_host.now_ns();
  arm(c, c.keepalive_timer, c.keepalive_idle_from_ns + uint64_t(c.settings.keep_idle_s) * 1'000'000'000);
}

// Called for every ACK-bearing segment: re-sorting the timer each time would walk the timer
// list per segment; the timer moves itself on when it fires early.
void TcpEngine::keepalive_heard(TcpConnection& c) {
  if (!c.settings.keepalive || c.defer_waiting) return;
  if (c.state != TcpState::established && c.state != TcpState::close_wait) return;
  c.keepalive_idle_from_ns = m_host.now_ns();
  if (!c.keepalive_timer.armed())
    arm(c, c.keepalive_timer, c.keepalive_idle_from_ns + uint64_t(c.settings.keep_idle_s) * 1'000'000'000);
}

void TcpEngine::timer_fired(NetTimer& timer) {
  auto* c = static_cast<TcpConnection*>(timer.context);
  TcpEngine& engine = c->engine();
  engine.lock();
  // Re-armed by another thread after the stack took it off its list: that arming owns the
  // reference and has its own deadline, so this firing is stale.
  if (!timer.armed()) {
    uint8_t bit = c->timer_bit(timer);
    bool held = c->timer_references & bit;
    c->timer_references &= uint8_t(~bit);
    if (c->state != TcpState::closed) {
      if (&timer == &c->retransmit_timer) {
        retransmit_timeout(engine, *c);
      } else if (&timer == &c->delack_timer) {
        if (c->synchronized()) {
          c->ack_now = true;
          engine.output(*c);
        }
      } else if (&timer == &c->cork_timer) {
        c->cork_expired = true;
        engine.output(*c);
      } else {
        keepalive_timeout(engine, *c);
      }
    }
    if (held) engine.release_later(c);  // the handler took a new one if it re-armed
  }
  engine.unlock();
}

}  // namespace nimbus::net::tcp
