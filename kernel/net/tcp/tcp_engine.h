// TcpEngine: TCP's state for one stack: the lock, the table of connections and bound ports,
// segment demultiplexing, and the protocol machinery (input, output, timers, listeners) that
// tcp_input.cc, tcp_output.cc, tcp_timers.cc, tcp_sack.cc and tcp_listener.cc implement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/tcp/tcp_connection.h"
#include "kernel/net/tcp/tcp_header.h"
#include "kernel/net/tcp/tcp_host.h"
#include "kernel/net/tcp/tcp_protocol.h"
#include "kernel/sync/mutex.h"

namespace nimbus::net::tcp {

// Stack-wide knobs (Linux's net.ipv4.tcp_* sysctls).
struct TcpEngineSettings {
  bool sack = true;
  bool timestamps = true;
  bool window_scaling = true;
  bool syn_cookies = true;
  uint32_t challenge_ack_limit = 1000;  // per second (tcp_challenge_ack_limit)
  // At most one ACK per connection in this period answers an out-of-window segment, a PAWS
  // failure, an ACK of unsent data or draws a challenge ACK (Linux's tcp_invalid_ratelimit).
  uint32_t invalid_ratelimit_ms = 500;
};

using TcpConnectionInfo = TcpConnectionRow;

// Linux's struct tcp_info (include/uapi/linux/tcp.h), the fields up to tcpi_total_retrans
// plus the 64-bit counters that follow, as TCP_INFO reports them.
struct LinuxTcpInfo {
  uint8_t state, ca_state, retransmits, probes, backoff, options;
  uint8_t wscale;  // snd_wscale:4, rcv_wscale:4
  uint8_t delivery_rate_app_limited_and_fastopen;
  uint32_t rto, ato, snd_mss, rcv_mss;
  uint32_t unacked, sacked, lost, retrans, fackets;
  uint32_t last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
  uint32_t pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss, reordering;
  uint32_t rcv_rtt, rcv_space;
  uint32_t total_retrans;
  uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
  uint32_t segs_out, segs_in;
  uint32_t notsent_bytes, min_rtt, data_segs_in, data_segs_out;
  uint64_t delivery_rate;
  uint64_t busy_time, rwnd_limited, sndbuf_limited;
  uint32_t delivered, delivered_ce;
  uint64_t bytes_sent, bytes_retrans;
  uint32_t dsack_dups, reord_seen;
  uint32_t rcv_ooopack, snd_wnd;
};
static_assert(sizeof(LinuxTcpInfo) == 232);

class TcpEngine {
 public:
  explicit TcpEngine(TcpHost& host);
  ~TcpEngine();
  TcpEngine(const TcpEngine&) = delete;
  TcpEngine& operator=(const TcpEngine&) = delete;

  TcpHost& host() { return m_host; }
  TcpEngineSettings& settings() { return m_settings; }

  // The lock over every connection. unlock() also drops the references released while it
  // was held (a connection is never destroyed with the lock held).
  void lock() { m_lock.lock(); }
  void unlock();
  Mutex& mutex() { return m_lock; }
  // Drops `connection`'s reference once the lock is released.
  void release_later(TcpConnection* connection);

  // A segment from IP (TCP header at packet->data()). Takes ownership.
  void receive(const IpReceiveInfo& info, Packet* packet);
  void icmp_error(uint8_t type, uint8_t code, uint32_t next_hop_mtu, const IpAddress& source,
                  const IpAddress& destination, std::span<const std::byte> quoted_tcp_header);

  // --- socket operations; the lock is held by the caller ---
  RefPtr<TcpConnection> create_connection(int family);
  Result<> bind(TcpConnection& connection, const Endpoint& local);
  Result<> connect(TcpConnection& connection, const Endpoint& remote);
  Result<> listen(TcpConnection& connection, uint32_t backlog);
  // The first connection on `listener`'s accept queue (the caller gets the reference).
  RefPtr<TcpConnection> take_accepted(TcpConnection& listener);
  // The application queued data or read some: send what may go, update the window.
  void output(TcpConnection& connection);
  void after_read(TcpConnection& connection);
  // SHUT_WR: FIN after the buffered data.
  void shutdown_write(TcpConnection& connection);
  // The socket closes: FIN or RST (unread data, SO_LINGER 0); the engine owns it after.
  void close(TcpConnection& connection);
  // Sends RST and ends the connection (ECONNRESET for nobody: the socket is going).
  void abort(TcpConnection& connection);
  void fill_info(TcpConnection& connection, LinuxTcpInfo& info);
  Result<> set_congestion_control(TcpConnection& connection, const char* name);
  // Fills at most `rows.size()` rows; returns the number of connections (may be larger).
  size_t list(std::span<TcpConnectionInfo> rows);
  TcpSocketCounts count_sockets();

  // --- protocol machinery (the lock held) ---
  void segment_arrives(TcpConnection& connection, const TcpHeader& header, std::span<const std::byte> data,
                       const IpReceiveInfo& info);
  void listen_input(TcpConnection& listener, const TcpHeader& header, std::span<const std::byte> data,
                    const IpReceiveInfo& info);
  void send_reset_for(const TcpHeader& header, size_t data_length, const IpAddress& source,
                      const IpAddress& destination);
  // Builds and sends one segment of `connection` at `seq` with up to `length` data bytes;
  // false if no packet memory was left (nothing sent, nothing moved).
  bool send_segment(TcpConnection& connection, uint32_t seq, uint32_t length, uint8_t flags);
  void send_ack(TcpConnection& connection);
  void send_challenge_ack(TcpConnection& connection);
  void send_syn(TcpConnection& connection);
  void send_reset(TcpConnection& connection);
  void schedule_ack(TcpConnection& connection, uint32_t full_segments);
  void arm(TcpConnection& connection, NetTimer& timer, uint64_t deadline_ns);
  void disarm(TcpConnection& connection, NetTimer& timer);
  void arm_retransmit(TcpConnection& connection);
  void restart_keepalive(TcpConnection& connection);
  // The peer was heard: keepalive's idle period starts again (lazily, see keepalive_idle_from_ns).
  void keepalive_heard(TcpConnection& connection);
  void rtt_sample(TcpConnection& connection, uint64_t rtt_ns);
  void enter_time_wait(TcpConnection& connection);
  // Ends a connection: CLOSED, out of the table, timers stopped, waiters woken.
  void finish(TcpConnection& connection);
  void connection_established(TcpConnection& connection);
  void set_state(TcpConnection& connection, TcpState state);
  uint16_t advertised_mss(const IpAddress& remote);
  uint32_t ts_now(TcpConnection& connection);
  void sack_update_scoreboard(TcpConnection& connection, const TcpOptions& options);
  // RFC 6675 NextSeg(): the next sequence to retransmit in recovery; false if none.
  bool sack_next_hole(TcpConnection& connection, uint32_t& seq, uint32_t& length);
  bool sack_is_lost(TcpConnection& connection, uint32_t seq);
  uint32_t sack_pipe(TcpConnection& connection);
  void sack_fill_blocks(TcpConnection& connection, TcpOptions& options);
  bool challenge_ack_allowed();
  // The guard against ACK loops: true if this connection answered an invalid segment too
  // recently to answer another (and notes the answer when not).
  bool invalid_ack_rate_limited(TcpConnection& connection);
  // The ACK owed to an unacceptable segment, a PAWS failure or an ACK of unsent data.
  void send_out_of_window_ack(TcpConnection& connection, const TcpHeader& header, size_t data_length);
  uint32_t syn_cookie(const IpAddress& local, const IpAddress& remote, uint16_t local_port, uint16_t remote_port,
                      uint32_t peer_isn, uint32_t counter, uint32_t mss_index);
  uint32_t cookie_counter();
  uint64_t keyed_hash(const uint64_t* words, size_t count);
  uint32_t initial_sequence(const Endpoint& local, const Endpoint& remote);
  uint32_t timestamp_offset(const Endpoint& local, const Endpoint& remote);
  uint64_t challenge_acks_sent() const { return m_challenge_acks; }
  uint64_t cookies_sent() const { return m_cookies_sent; }

  // Table.
  TcpConnection* lookup(const Endpoint& local, const Endpoint& remote);
  TcpConnection* lookup_listener(const Endpoint& local, const Endpoint& remote);
  void insert(TcpConnection& connection);
  void remove(TcpConnection& connection);
  Result<uint16_t> ephemeral_port(const IpAddress& local);

  static void timer_fired(NetTimer& timer);

 private:
  bool port_conflicts(const TcpConnection& connection, const Endpoint& local);

  TcpHost& m_host;
  TcpEngineSettings m_settings;
  Mutex m_lock;
  IntrusiveList<TcpConnection, &TcpConnection::table_node> m_table;
  TcpConnection** m_releases = nullptr;
  size_t m_release_count = 0;
  size_t m_release_capacity = 0;
  uint64_t m_cookie_key[2] = {};
  uint64_t m_challenge_window_start_ns = 0;
  uint32_t m_challenge_count = 0;
  uint64_t m_challenge_acks = 0;
  uint64_t m_cookies_sent = 0;
  uint16_t m_next_port = 0;
  friend class TcpConnection;
};

}  // namespace nimbus::net::tcp
