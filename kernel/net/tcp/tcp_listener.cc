// Listening: SYNs become embryonic connections on the SYN queue (RFC 9293 3.10.7.2), the
// completed ones move to the accept queue; past the backlog the listener answers with SYN
// cookies (RFC 4987 3.6) and rebuilds the connection from a valid cookie in the final ACK.
#include "kernel/net/tcp/tcp_engine.h"
#include "kernel/net/tcp/tcp_seq.h"

namespace nimbus::net::tcp {
namespace {

constexpr uint32_t kPollIn = 0x001;
// The MSS values a cookie can encode in 3 bits (Linux's msstab, extended).
constexpr uint16_t kCookieMss[8] = {536, 1200, 1300, 1400, 1440, 1460, 4312, 8960};
constexpr uint64_t kCookiePeriodNs = 64'000'000'000;  // the counter ticks every 64 s

uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

// SipHash-2-4 (Aumasson and Bernstein) over 64-bit words: a keyed PRF so cookies cannot be
// forged without the random key.
uint64_t siphash(const uint64_t key[2], const uint64_t* words, size_t count) {
  uint64_t v0 = 0x736f6d6570736575ull ^ key[0], v1 = 0x646f72616e646f6dull ^ key[1];
  uint64_t v2 = 0x6c7967656e657261ull ^ key[0], v3 = 0x7465646279746573ull ^ key[1];
  auto round = [&] {
    v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);
    v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;
    v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;
    v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);
  };
  for (size_t i = 0; i < count; i++) {
    v3 ^= words[i];
    round(), round();
    v0 ^= words[i];
  }
  uint64_t last = uint64_t(count * 8) << 56;
  v3 ^= last;
  round(), round();
  v0 ^= last;
  v2 ^= 0xff;
  round(), round(), round(), round();
  return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace

uint64_t TcpEngine::keyed_hash(const uint64_t* words, size_t count) { return siphash(m_cookie_key, words, count); }

// RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a timer
// ticking every 4 microseconds, so a new incarnation of a connection starts above the old
// one's sequence space (what TIME-WAIT reuse relies on).
uint32_t TcpEngine::initial_sequence(const Endpoint& local, const Endpoint& remote) {
  uint64_t words[5] = {0, 0, 0, 0, (uint64_t(local.port) << 16) | remote.port};
  for (int i = 0; i < 8; i++) {
    words[0] = (words[0] << 8) | local.address.bytes[i];
    words[1] = (words[1] << 8) | local.address.bytes[8 + i];
    words[2] = (words[2] << 8) | remote.address.bytes[i];
    words[3] = (words[3] << 8) | remote.address.bytes[8 + i];
  }
  return uint32_t(keyed_hash(words, 5)) + uint32_t(m_host.now_ns() / 4000);
}

// RFC 7323 5.4: a per-connection timestamp offset, the same for every incarnation of one
// 4-tuple (as Linux's tsoffset), so timestamps keep increasing across TIME-WAIT reuse.
uint32_t TcpEngine::timestamp_offset(const Endpoint& local, const Endpoint& remote) {
  uint64_t words[5] = {0, 0, 0, 0, (uint64_t(remote.port) << 16) | local.port | (1ull << 40)};
  for (int i = 0; i < 8; i++) {
    words[0] = (words[0] << 8) | local.address.bytes[i];
    words[1] = (words[1] << 8) | local.address.bytes[8 + i];
    words[2] = (words[2] << 8) | remote.address.bytes[i];
    words[3] = (words[3] << 8) | remote.address.bytes[8 + i];
  }
  return uint32_t(keyed_hash(words, 5));
}

namespace {

uint64_t address_word(const IpAddress& a, int half) {
  uint64_t w = 0;
  for (int i = 0; i < 8; i++) w = (w << 8) | a.bytes[half * 8 + i];
  return w;
}

// Everything a child takes from its listener and the SYN.
void init_child(TcpEngine& engine, TcpConnection& listener, TcpConnection& child, const TcpHeader& h,
                const IpReceiveInfo& info) {
  child.settings = listener.settings;
  child.family = listener.family;
  child.local = {info.destination, listener.local.port};
  child.remote = {info.source, h.source_port};
  child.bound = true;
  child.irs = h.seq;
  child.rcv_nxt = h.seq + 1;
  child.rcv_adv = child.rcv_nxt;
  child.ts_offset = uint32_t(engine.host().random64());
  child.send_buffer.set_capacity(child.settings.send_buffer);
  child.receive_buffer.set_capacity(child.settings.receive_buffer);
  if (listener.congestion == &listener.reno) child.congestion = &child.reno;
}

}  // namespace

uint32_t TcpEngine::cookie_counter() { return uint32_t(m_host.now_ns() / kCookiePeriodNs); }

// The cookie (our ISS): 24 bits of MAC over the 4-tuple, the peer's ISN and the counter,
// then 5 bits of the counter and 3 bits of MSS index.
uint32_t TcpEngine::syn_cookie(const IpAddress& local, const IpAddress& remote, uint16_t local_port,
                               uint16_t remote_port, uint32_t peer_isn, uint32_t counter, uint32_t mss_index) {
  uint64_t words[6] = {address_word(local, 0),
                       address_word(local, 1),
                       address_word(remote, 0),
                       address_word(remote, 1),
                       (uint64_t(local_port) << 48) | (uint64_t(remote_port) << 32) | peer_isn,
                       (uint64_t(counter) << 3) | mss_index};
  uint32_t mac = uint32_t(siphash(m_cookie_key, words, 6));
  return (mac & 0xffffff00u) | ((counter & 31) << 3) | (mss_index & 7);
}

void TcpEngine::listen_input(TcpConnection& listener, const TcpHeader& h, std::span<const std::byte> data,
                             const IpReceiveInfo& info) {
  // RFC 9293 3.10.7.2: first RST (ignored), then ACK (reset it), then SYN.
  if (h.flags & kRst) return;
  if ((h.flags & kAck) && !(h.flags & kSyn)) {
    // The final ACK of a handshake answered with a cookie?
    uint32_t cookie = h.ack - 1;
    uint32_t counter = cookie_counter();
    bool valid = false;
    for (uint32_t age = 0; age < 2 && !valid; age++) {
      uint32_t t = counter - age;
      if ((t & 31) != ((cookie >> 3) & 31)) continue;
      valid = syn_cookie(info.destination, info.source, h.destination_port, h.source_port, h.seq - 1, t,
                         cookie & 7) == cookie;
    }
    if (!valid || !m_settings.syn_cookies || listener.accept_queue.size() >= listener.backlog) {
      send_reset_for(h, data.size(), info.destination, info.source);
      return;
    }
    RefPtr<TcpConnection> child = create_connection(listener.family);
    if (!child) return;
    TcpHeader syn = h;
    syn.seq = h.seq - 1;
    init_child(*this, listener, *child, syn, info);
    // What the cookie could not carry is lost: no window scaling, SACK or timestamps.
    child->mss = kCookieMss[cookie & 7];
    child->peer_mss = child->mss;
    child->rcv_wscale = 0;
    child->iss = cookie;
    child->snd_una = h.ack;
    child->snd_nxt = h.ack;
    child->snd_max = h.ack;
    child->send_base = h.ack;
    child->snd_wnd = h.window;
    child->max_snd_wnd = h.window;
    child->snd_wl1 = h.seq;
    child->snd_wl2 = h.ack;
    insert(*child);
    listener.ref();
    child->parent = &listener;
    child->ref();  // the accept queue's reference
    listener.syn_queue.push_back(child.get());
    child->in_syn_queue = true;
    connection_established(*child);
    if (!data.empty() || (h.flags & kFin)) segment_arrives(*child, h, data, info);
    return;
  }
  if (!(h.flags & kSyn)) return;
  // Linux drops SYNs while the accept queue is full: the client retries.
  if (listener.accept_queue.size() >= listener.backlog) return;
  uint16_t our_mss = advertised_mss(info.source);
  if (listener.syn_queue.size() >= listener.backlog) {
    if (!m_settings.syn_cookies) return;
    // A SYN flood: answer statelessly.
    uint16_t peer_mss = h.options.has_mss ? h.options.mss : kDefaultMss;
    uint16_t mss = peer_mss < our_mss ? peer_mss : our_mss;
    uint32_t index = 0;
    for (uint32_t i = 0; i < 8; i++)
      if (kCookieMss[i] <= mss) index = i;
    TcpHeader reply;
    reply.source_port = h.destination_port;
    reply.destination_port = h.source_port;
    reply.seq = syn_cookie(info.destination, info.source, h.destination_port, h.source_port, h.seq, cookie_counter(),
                           index);
    reply.ack = h.seq + 1;
    reply.flags = kSyn | kAck;
    reply.window = uint16_t(listener.settings.receive_buffer > 65535 ? 65535 : listener.settings.receive_buffer);
    reply.options.has_mss = true;
    reply.options.mss = kCookieMss[index];
    size_t length = kMinHeaderLength + tcp_options_length(reply.options);
    auto allocated = Packet::try_allocate(Packet::kDefaultHeadroom + length);
    if (!allocated) return;
    Packet* packet = *allocated;
    std::byte* out = packet->put(length);
    build_tcp_header({out, length}, reply);
    uint16_t checksum = tcp_checksum(info.destination, info.source, packet->bytes());
    out[16] = std::byte(checksum >> 8);
    out[17] = std::byte(checksum);
    m_cookies_sent++;
    (void)m_host.ip_output(packet, info.destination, info.source, IpSendOptions{});
    return;
  }
  RefPtr<TcpConnection> child = create_connection(listener.family);
  if (!child) return;
  init_child(*this, listener, *child, h, info);
  child->iss = initial_sequence(child->local, child->remote);
  child->snd_una = child->iss;
  child->snd_nxt = child->iss;
  child->snd_max = child->iss;
  child->send_base = child->iss + 1;
  child->rcv_wscale = 0;
  if (m_settings.window_scaling && h.options.has_window_scale)
    while (child->rcv_wscale < kMaxWindowScale &&
           (uint32_t(65535) << child->rcv_wscale) < child->settings.receive_buffer)
      child->rcv_wscale++;
  {
    // negotiate() lives with the input path; the same rules, for the passive side.
    const TcpOptions& o = h.options;
    child->peer_mss = o.has_mss ? o.mss : kDefaultMss;
    uint16_t ours = our_mss;
    if (child->settings.user_mss && child->settings.user_mss < ours) ours = child->settings.user_mss;
    child->mss = child->peer_mss < ours ? child->peer_mss : ours;
    if (child->mss < 64) child->mss = 64;
    child->wscale_ok = o.has_window_scale && m_settings.window_scaling;
    child->snd_wscale = child->wscale_ok ? o.window_scale : 0;
    child->sack_ok = o.sack_permitted && m_settings.sack;
    child->ts_ok = o.has_timestamps && m_settings.timestamps;
    if (child->ts_ok) {
      child->ts_recent = o.ts_value;
      child->ts_recent_time_ns = m_host.now_ns();
      child->mss = uint16_t(child->mss - 12);  // every segment carries the timestamp option
    }
  }
  child->snd_wnd = h.window;
  child->max_snd_wnd = h.window;
  child->snd_wl1 = h.seq;
  child->snd_wl2 = child->iss;
  child->state = TcpState::syn_received;
  insert(*child);
  listener.ref();
  child->parent = &listener;
  child->ref();  // the SYN queue's reference
  listener.syn_queue.push_back(child.get());
  child->in_syn_queue = true;
  send_syn(*child);
  arm_retransmit(*child);
  (void)kPollIn;
}

}  // namespace nimbus::net::tcp
