// NewReno and CUBIC window arithmetic.
#include "kernel/net/tcp/tcp_congestion.h"

namespace nimbus::net::tcp {
namespace {

uint32_t max32(uint32_t a, uint32_t b) { return a > b ? a : b; }
uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }

// Integer cube root (for CUBIC's K), by bisection: no floating point in the kernel.
uint64_t cube_root(uint64_t x) {
  uint64_t low = 0, high = 2642245;  // 2642245^3 < 2^64
  while (low < high) {
    uint64_t mid = (low + high + 1) / 2;
    if (mid * mid * mid <= x)
      low = mid;
    else
      high = mid - 1;
  }
  return low;
}

// RFC 3465 2.2 appropriate byte counting: slow start grows by the bytes acknowledged, as
// Linux's tcp_slow_start does (no L limit: a peer that ACKs each 64 KiB TSO or GRO burst
// once would otherwise hold the window back for many round trips); returns the bytes left
// over for avoidance.
uint32_t slow_start(CongestionWindow& w, uint32_t acked) {
  uint32_t room = w.ssthresh > w.cwnd ? w.ssthresh - w.cwnd : 0;
  uint32_t grow = min32(acked, room);
  w.cwnd += grow;
  return acked > grow ? acked - grow : 0;
}

}  // namespace

uint32_t initial_window(uint32_t mss) { return min32(10 * mss, max32(2 * mss, 14600)); }

void NewReno::reset(CongestionWindow& w, uint64_t) {
  w.cwnd = initial_window(w.mss);
  w.ssthresh = 0x7fffffff;
  m_bytes_acked = 0;
}

void NewReno::on_ack(CongestionWindow& w, uint32_t acked, uint64_t, uint64_t) {
  if (w.cwnd < w.ssthresh) {
    acked = slow_start(w, acked);
    if (!acked) return;
  }
  // RFC 5681 3.1 eq. 3 with byte counting: one SMSS per cwnd acknowledged.
  m_bytes_acked += acked;
  if (m_bytes_acked >= w.cwnd) {
    m_bytes_acked -= w.cwnd;
    w.cwnd += w.mss;
  }
}

uint32_t NewReno::on_loss(CongestionWindow& w, uint32_t flight, uint64_t) {
  // RFC 5681 3.1 eq. 4.
  m_bytes_acked = 0;
  return max32(flight / 2, 2 * w.mss);
}

void NewReno::on_timeout(CongestionWindow& w, uint32_t flight, uint64_t) {
  w.ssthresh = max32(flight / 2, 2 * w.mss);
  w.cwnd = w.mss;
  m_bytes_acked = 0;
}

// RFC 9438: C = 0.4, beta_cubic = 0.7. Windows are kept in bytes; W(t) is computed in
// segments with t in milliseconds, scaled to avoid floating point.
void Cubic::reset(CongestionWindow& w, uint64_t) {
  w.cwnd = initial_window(w.mss);
  w.ssthresh = 0x7fffffff;
  m_w_max = 0;
  m_epoch_start_ns = 0;
  m_k_ns = 0;
  m_w_est = 0;
  m_bytes_acked = 0;
}

void Cubic::on_ack(CongestionWindow& w, uint32_t acked, uint64_t now_ns, uint64_t rtt_ns) {
  if (rtt_ns && (!m_min_rtt_ns || rtt_ns < m_min_rtt_ns)) m_min_rtt_ns = rtt_ns;
  if (w.cwnd < w.ssthresh) {
    acked = slow_start(w, acked);
    if (!acked) return;
  }
  if (m_epoch_start_ns == 0) {
    // RFC 9438 4.2: a new congestion avoidance epoch.
    m_epoch_start_ns = now_ns;
    if (m_w_max <= w.cwnd) {
      m_k_ns = 0;
      m_w_max = w.cwnd;
    } else {
      // K = cbrt((W_max - cwnd) / C) seconds, in segments: cbrt(diff_segments / 0.4).
      uint64_t diff = (uint64_t(m_w_max - w.cwnd) * 1000) / w.mss;  // milli-segments
      // K^3 [s^3] = diff/1000 / 0.4  ->  K [ms] = cbrt(diff * 2.5 * 1e6)
      m_k_ns = cube_root(diff * 2500000ull) * 1000000ull;
    }
    m_w_est = w.cwnd;
    m_bytes_acked = 0;
  }
  uint64_t rtt = m_min_rtt_ns ? m_min_rtt_ns : 100000000ull;
  // W_cubic(t + RTT), RFC 9438 eq. 1 and 4.2's target.
  int64_t t_ms = int64_t((now_ns - m_epoch_start_ns + rtt) / 1000000) - int64_t(m_k_ns / 1000000);
  int64_t cube = t_ms * t_ms * t_ms;  // ms^3; |t| stays far below 2^21 ms in practice
  if (t_ms > 2000000 || t_ms < -2000000) cube = t_ms > 0 ? (int64_t(1) << 62) : -(int64_t(1) << 62);
  // C * t^3 segments = 0.4 * cube / 1e9.
  int64_t delta_segments_milli = cube / 2500000;  // 0.4e-9 * 1000
  int64_t target = int64_t(m_w_max) + delta_segments_milli * int64_t(w.mss) / 1000;
  if (target < int64_t(w.cwnd)) target = w.cwnd;
  if (target > int64_t(w.cwnd) * 3 / 2) target = int64_t(w.cwnd) * 3 / 2;  // RFC 9438 4.2 bound
  // RFC 9438 4.3: the Reno-friendly estimate grows alpha = 3(1-beta)/(1+beta) ~ 0.53
  // segments per window.
  m_bytes_acked += acked;
  if (m_bytes_acked >= w.cwnd) {
    m_bytes_acked -= w.cwnd;
    m_w_est += w.mss * 53 / 100;
  }
  if (m_w_est > uint32_t(target)) target = m_w_est;
  // Grow by (target - cwnd) / cwnd segments per acked segment.
  uint64_t increase = (uint64_t(target) - w.cwnd) * acked / w.cwnd;
  if (increase == 0 && uint32_t(target) > w.cwnd && acked) increase = 1;
  w.cwnd += uint32_t(increase);
}

uint32_t Cubic::on_loss(CongestionWindow& w, uint32_t, uint64_t) {
  // RFC 9438 4.6/4.7: fast convergence, then beta = 0.7.
  if (w.cwnd < m_w_max)
    m_w_max = uint32_t(uint64_t(w.cwnd) * 17 / 20);  // (1 + beta) / 2
  else
    m_w_max = w.cwnd;
  m_epoch_start_ns = 0;
  return max32(uint32_t(uint64_t(w.cwnd) * 7 / 10), 2 * w.mss);
}

void Cubic::on_timeout(CongestionWindow& w, uint32_t flight, uint64_t now_ns) {
  w.ssthresh = on_loss(w, flight, now_ns);
  w.cwnd = w.mss;
}

}  // namespace nimbus::net::tcp
