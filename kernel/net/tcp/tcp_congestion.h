// Congestion control behind one small interface: NewReno (RFC 5681, RFC 6582) and CUBIC
// (RFC 9438, the default as on Linux). The connection owns cwnd and ssthresh; an algorithm
// only decides how they move.
#pragma once

#include <cstdint>

namespace nimbus::net::tcp {

struct CongestionWindow {
  uint32_t cwnd = 0;      // bytes
  uint32_t ssthresh = 0;  // bytes
  uint32_t mss = 536;
};

class CongestionControl {
 public:
  virtual const char* name() const = 0;
  // The connection is established (or the algorithm was switched): start afresh.
  virtual void reset(CongestionWindow& window, uint64_t now_ns) = 0;
  // `acked` new bytes were acknowledged outside loss recovery; `rtt_ns` is the latest
  // sample (0 if none).
  virtual void on_ack(CongestionWindow& window, uint32_t acked, uint64_t now_ns, uint64_t rtt_ns) = 0;
  // Fast retransmit begins (three duplicate ACKs or RFC 6675's loss detection): returns the
  // new ssthresh for `flight` bytes in flight.
  virtual uint32_t on_loss(CongestionWindow& window, uint32_t flight, uint64_t now_ns) = 0;
  // A retransmission timeout (RFC 5681 3.1 eq. 4; cwnd becomes one segment).
  virtual void on_timeout(CongestionWindow& window, uint32_t flight, uint64_t now_ns) = 0;

 protected:
  ~CongestionControl() = default;
};

class NewReno final : public CongestionControl {
 public:
  const char* name() const override { return "reno"; }
  void reset(CongestionWindow& window, uint64_t now_ns) override;
  void on_ack(CongestionWindow& window, uint32_t acked, uint64_t now_ns, uint64_t rtt_ns) override;
  uint32_t on_loss(CongestionWindow& window, uint32_t flight, uint64_t now_ns) override;
  void on_timeout(CongestionWindow& window, uint32_t flight, uint64_t now_ns) override;

 private:
  uint32_t m_bytes_acked = 0;  // RFC 5681 3.1 appropriate byte counting in avoidance
};

class Cubic final : public CongestionControl {
 public:
  const char* name() const override { return "cubic"; }
  void reset(CongestionWindow& window, uint64_t now_ns) override;
  void on_ack(CongestionWindow& window, uint32_t acked, uint64_t now_ns, uint64_t rtt_ns) override;
  uint32_t on_loss(CongestionWindow& window, uint32_t flight, uint64_t now_ns) override;
  void on_timeout(CongestionWindow& window, uint32_t flight, uint64_t now_ns) override;

  uint32_t w_max() const { return m_w_max; }

 private:
  uint32_t m_w_max = 0;           // bytes, cwnd before the last reduction
  uint64_t m_epoch_start_ns = 0;  // 0: no congestion avoidance epoch yet
  uint64_t m_k_ns = 0;            // time to reach w_max again
  uint32_t m_w_est = 0;           // Reno-friendly estimate (RFC 9438 4.3), bytes
  uint32_t m_bytes_acked = 0;
  uint64_t m_min_rtt_ns = 0;
};

// The initial window, RFC 6928: min(10*MSS, max(2*MSS, 14600)).
uint32_t initial_window(uint32_t mss);

}  // namespace nimbus::net::tcp
