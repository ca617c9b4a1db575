// TcpConnection: one transmission control block (RFC 9293 3.3.1), with the RFC's names for
// the sequence variables, its buffers, RTO and congestion state, SACK scoreboard, timers and,
// for a listener, its SYN and accept queues. Every field is guarded by the engine's lock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/net/inet_options.h"
#include "kernel/net/ip_address.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/tcp/tcp_congestion.h"
#include "kernel/net/tcp/tcp_header.h"
#include "kernel/net/tcp/tcp_ring.h"
#include "kernel/sync/mutex.h"
#include "kernel/sync/poll_queue.h"

namespace nimbus::net::tcp {

class TcpEngine;

// Linux's numbering (include/net/tcp_states.h), as /proc/net/tcp and TCP_INFO report it.
enum class TcpState : uint8_t {
  established = 1,
  syn_sent = 2,
  syn_received = 3,
  fin_wait_1 = 4,
  fin_wait_2 = 5,
  time_wait = 6,
  closed = 7,
  close_wait = 8,
  last_ack = 9,
  listen = 10,
  closing = 11,
};
const char* state_name(TcpState state);

// Per-socket options that steer the protocol (TCP_* and the SOL_SOCKET ones TCP acts on).
struct TcpSettings {
  bool nodelay = false;
  bool cork = false;
  bool quickack = false;
  // TCP_QUICKACK as getsockopt reports it: 0 only after the application asked for delayed
  // ACKs (Linux's pingpong mode); 1 otherwise.
  bool pingpong = false;
  bool receive_inq = false;    // TCP_INQ: a TCP_CM_INQ control message with every recvmsg
  uint8_t syn_retries = 6;     // TCP_SYNCNT (tcp_syn_retries)
  int linger2_s = 0;           // TCP_LINGER2: orphaned FIN_WAIT2 lifetime; 0: tcp_fin_timeout, -1: none
  uint32_t window_clamp = 0;   // TCP_WINDOW_CLAMP as set (0: none)
  bool receive_pktinfo = false, receive_ttl = false, receive_tos = false;  // accepted, as Linux; TCP sends none
  InetOptions inet;            // generic IPPROTO_IP options (IP_MTU_DISCOVER, multicast...)
  bool keepalive = false;
  uint32_t keep_idle_s = 7200;  // Linux's defaults
  uint32_t keep_interval_s = 75;
  uint32_t keep_count = 9;
  uint32_t user_timeout_ms = 0;
  uint32_t defer_accept_s = 0;
  uint16_t user_mss = 0;  // TCP_MAXSEG, 0: from the path
  uint8_t tos = 0;
  uint8_t hop_limit = 64;  // IP_TTL / IPV6_UNICAST_HOPS
  bool v6only = false;
  bool reuse_address = false;
  bool reuse_port = false;
  bool linger = false;
  uint32_t linger_s = 0;
  uint32_t send_buffer = 212992 / 2;     // usable bytes (SO_SNDBUF halves the doubled value)
  uint32_t receive_buffer = 212992 / 2;  // usable bytes
  uint32_t receive_low_water = 1;
};

constexpr uint32_t kMinRtoNs = 200'000'000;        // Linux's TCP_RTO_MIN
constexpr uint64_t kMaxRtoNs = 120'000'000'000;    // TCP_RTO_MAX
constexpr uint64_t kInitialRtoNs = 1'000'000'000;  // RFC 6298 2.1
constexpr uint64_t kCorkCeilingNs = 200'000'000;   // tcp(7): TCP_CORK holds a partial segment this long
constexpr uint64_t kDelayedAckNs = 40'000'000;     // Linux's TCP_DELACK_MIN, the most we wait
constexpr uint64_t kTimeWaitNs = 60'000'000'000;   // TCP_TIMEWAIT_LEN: 2*MSL as Linux has it
constexpr uint64_t kFinWait2Ns = 60'000'000'000;   // tcp_fin_timeout for orphans
constexpr uint32_t kMaxRetries = 15;               // tcp_retries2
constexpr uint32_t kMaxSynRetries = 6;             // tcp_syn_retries
constexpr uint32_t kMaxSynAckRetries = 5;          // tcp_synack_retries
constexpr int kMaxLinger2S = 120;                  // TCP_FIN_TIMEOUT_MAX / HZ
// How long an orphaned connection may stay in FIN_WAIT_2 (TCP_LINGER2, else tcp_fin_timeout).
inline uint64_t fin_wait2_timeout_ns(const TcpSettings& s) {
  return s.linger2_s > 0 ? uint64_t(s.linger2_s) * 1'000'000'000 : kFinWait2Ns;
}
constexpr uint16_t kDefaultMss = 536;              // RFC 9293 3.7.1 without an MSS option

class TcpConnection : public RefCounted<TcpConnection> {
 public:
  explicit TcpConnection(TcpEngine& engine);
  ~TcpConnection();

  TcpEngine& engine() { return m_engine; }

  // --- identity ---
  TcpState state = TcpState::closed;
  int family = 0;  // AF_INET or AF_INET6 (of the socket)
  Endpoint local;
  Endpoint remote;
  bool bound = false;        // holds its local port in the engine's table
  bool port_locked = false;  // bind() named the port (Linux's SOCK_BINDPORT_LOCK): kept when closed
  bool in_table = false;     // linked in the engine's connection list (holding a reference)
  bool orphan = false;       // its socket is closed; the engine finishes the connection
  TcpSettings settings;
  ListNode table_node;

  // --- send sequence space (RFC 9293 3.3.1) ---
  uint32_t iss = 0;
  uint32_t snd_una = 0;
  uint32_t snd_nxt = 0;
  uint32_t snd_max = 0;  // the highest sequence sent (snd_nxt falls back on a timeout)
  uint32_t snd_wnd = 0;  // scaled
  uint32_t snd_wl1 = 0;
  uint32_t snd_wl2 = 0;
  uint32_t max_snd_wnd = 0;
  uint8_t snd_wscale = 0;  // the peer's shift, applied to windows it sends
  uint32_t send_base = 0;  // the sequence number of send_buffer's first byte
  ByteRing send_buffer;
  bool fin_queued = false;  // the application is done sending: FIN after the buffer
  bool fin_sent = false;
  uint32_t fin_seq = 0;     // our FIN's sequence number once queued
  uint16_t mss = kDefaultMss;  // the segment size we send (effective SMSS)
  uint16_t peer_mss = kDefaultMss;
  bool more_pending = false;  // MSG_MORE on the last send

  // --- receive sequence space ---
  uint32_t irs = 0;
  uint32_t rcv_nxt = 0;
  uint32_t rcv_adv = 0;  // the right edge of the window we advertised (never moves left)
  uint8_t rcv_wscale = 0;  // our shift
  ByteRing receive_buffer;
  RangeSet out_of_order;  // sequence ranges stored past rcv_nxt
  bool fin_received = false;  // the peer's FIN is in rcv_nxt
  bool peer_fin_pending = false;  // a FIN arrived out of order at peer_fin_seq
  uint32_t peer_fin_seq = 0;
  uint32_t segments_unacked = 0;  // full segments received since our last ACK
  bool ack_now = false;           // an ACK is owed immediately
  bool dsack_pending = false;
  SackBlock dsack{};

  // --- negotiated options ---
  bool sack_ok = false;
  bool ts_ok = false;
  bool wscale_ok = false;
  uint32_t ts_recent = 0;  // RFC 7323 4.3
  uint64_t ts_recent_time_ns = 0;
  uint32_t ts_offset = 0;

  // --- RTO (RFC 6298) and retransmission ---
  uint64_t srtt_ns = 0;
  uint64_t rttvar_ns = 0;
  uint64_t rto_ns = kInitialRtoNs;
  uint64_t min_rtt_ns = 0;
  bool rtt_timing = false;  // Karn: one segment timed at a time, never a retransmitted one
  uint32_t rtt_seq = 0;
  uint64_t rtt_start_ns = 0;
  uint32_t backoff = 0;         // consecutive timeouts (the RTO doubled this many times)
  uint64_t first_timeout_ns = 0;  // when the current run of retransmissions began
  uint64_t total_retransmits = 0;
  uint64_t timeouts = 0;        // RTO expirations with data outstanding
  uint64_t recoveries = 0;      // fast recovery episodes
  uint64_t segments_out = 0;
  uint64_t segments_in = 0;
  uint64_t bytes_acked_total = 0;
  uint64_t bytes_received_total = 0;
  uint64_t last_data_sent_ns = 0;
  uint64_t last_data_received_ns = 0;
  uint64_t last_ack_received_ns = 0;
  // When this connection last answered an invalid segment with an ACK (0: never): two ends
  // that disagree about the sequence space would otherwise answer each other's ACKs for ever.
  uint64_t last_invalid_ack_ns = 0;
  uint32_t probes_out = 0;  // zero-window or keepalive probes unanswered
  // Keepalive's idle time counts from here: the last ACK-bearing segment heard (the timer is
  // not moved for each one; it checks this when it fires, as Linux's keepalive timer does).
  uint64_t keepalive_idle_from_ns = 0;

  // --- congestion (RFC 5681, 6582, 6675) ---
  CongestionWindow window;
  NewReno reno;
  Cubic cubic;
  CongestionControl* congestion = &cubic;
  uint32_t dupacks = 0;
  bool in_recovery = false;
  uint32_t recover = 0;   // RFC 6582's "recover": snd_max when recovery began
  uint32_t high_rxt = 0;  // RFC 6675 HighRxt
  RangeSet scoreboard;    // ranges the peer SACKed, above snd_una
  uint32_t lost_retransmits_in_recovery = 0;

  // --- timers (each holds a reference on the connection while armed) ---
  NetTimer retransmit_timer;  // RTO, SYN retransmission and the persist timer
  NetTimer delack_timer;
  NetTimer keepalive_timer;   // keepalive, TIME-WAIT, FIN-WAIT-2 and defer-accept deadlines
  NetTimer cork_timer;        // TCP_CORK's ceiling on holding a partial segment
  bool persist_mode = false;
  bool cork_expired = false;  // the held partial segment may go now
  // Which timers hold a reference (bit 0 retransmit, 1 delayed ACK, 2 keepalive, 3 cork). Only a
  // firing drops it, so a callback already taken off the stack's list by poll() never
  // finds the connection gone; finish() fires the held ones at once instead of disarming.
  uint8_t timer_references = 0;
  uint8_t timer_bit(const NetTimer& timer) const {
    return &timer == &retransmit_timer ? 1 : &timer == &delack_timer ? 2 : &timer == &keepalive_timer ? 4 : 8;
  }

  // --- errors and the application's side ---
  Errno pending_error{};  // SO_ERROR; 0 cast: none
  bool has_error = false;
  bool reset = false;          // ended by RST or a timeout: reads and writes fail
  bool shut_read = false;      // SHUT_RD
  bool shut_write = false;     // SHUT_WR (or close)
  bool connect_started = false;
  bool ever_connected = false;

  // --- listener ---
  TcpConnection* parent = nullptr;  // the listener of an embryonic or unaccepted connection
  ListNode queue_node;              // in the parent's syn_queue or accept_queue
  IntrusiveList<TcpConnection, &TcpConnection::queue_node> syn_queue;
  IntrusiveList<TcpConnection, &TcpConnection::queue_node> accept_queue;
  bool in_accept_queue = false;
  bool in_syn_queue = false;
  bool defer_waiting = false;  // established, held back until data (TCP_DEFER_ACCEPT)
  uint32_t backlog = 0;
  uint32_t syn_retries = 0;

  // --- waiting ---
  ConditionVariable changed;
  PollQueue poll_queue;
  // Wakes blocked callers and pollers: every state, buffer or error change calls this.
  void wake(uint32_t events = 0);

  // Derived values.
  uint32_t bytes_in_flight() const { return snd_max - snd_una; }
  uint32_t unsent_bytes() const;  // buffered bytes at or past snd_nxt
  uint32_t send_end() const { return send_base + uint32_t(send_buffer.size()); }
  uint32_t receive_window() const;  // free receive buffer, what we could advertise
  bool synchronized() const;
  bool can_receive_data() const;  // states in which segment text is accepted
  bool has_unacked_fin() const { return fin_sent && seq_in_fin_window(); }
  bool seq_in_fin_window() const;
  void set_error(Errno e);
  void use_congestion_control(CongestionControl* algorithm);

 private:
  TcpEngine& m_engine;
};

}  // namespace nimbus::net::tcp
