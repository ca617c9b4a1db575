// The DHCPv4 client: DISCOVER, OFFER, REQUEST, ACK/NAK, renewal (T1), rebinding (T2) and
// expiry (RFC 2131 4.4), with randomized exponential back-off.
#include "kernel/net/dhcp_client.h"

#include <algorithm>
#include <cstring>

#include "kernel/net/checksum.h"
#include "kernel/net/ipv4.h"

namespace nimbus::net {

namespace {
constexpr uint16_t kServerPort = 67;
constexpr uint16_t kClientPort = 68;
constexpr size_t kUdpHeaderSize = 8;
// RFC 2131 2: op..file (236 bytes), then the magic cookie and options.
constexpr size_t kFixedSize = 236;
constexpr size_t kCookieOffset = 236;
constexpr size_t kOptionsOffset = 240;
constexpr uint32_t kMagicCookie = 0x63825363;
// RFC 1542 3.3 / many servers: a BOOTP message of at least 300 bytes.
constexpr size_t kMinimumMessage = 300;
constexpr uint64_t kSecond = 1'000'000'000ull;
constexpr uint32_t kInfinite = 0xffffffff;

// RFC 2132 option codes.
enum : uint8_t {
  kOptionPad = 0,
  kOptionSubnetMask = 1,
  kOptionRouter = 3,
  kOptionDns = 6,
  kOptionHostName = 12,
  kOptionDomainName = 15,
  kOptionMtu = 26,
  kOptionBroadcast = 28,
  kOptionRequestedAddress = 50,
  kOptionLeaseTime = 51,
  kOptionMessageType = 53,
  kOptionServerId = 54,
  kOptionParameterList = 55,
  kOptionMaxMessageSize = 57,
  kOptionRenewalTime = 58,
  kOptionRebindingTime = 59,
  kOptionClientId = 61,
  kOptionEnd = 255,
};
enum : uint8_t { kDiscover = 1, kOffer = 2, kRequest = 3, kAck = 5, kNak = 6, kRelease = 7 };

uint8_t prefix_from_mask(uint32_t mask) {
  uint8_t prefix = 0;
  while (prefix < 32 && (mask & (0x80000000u >> prefix))) prefix++;
  return prefix;
}

// RFC 2131 4.1 / 4.4.5: the classful default when no mask is given.
uint8_t default_prefix(Ipv4Address address) {
  uint8_t top = static_cast<uint8_t>(address.value >> 24);
  if (top < 128) return 8;
  if (top < 192) return 16;
  return 24;
}

void copy_name(char* out, const std::byte* data, size_t length) {
  size_t n = std::min(length, DhcpLease::kMaxName - 1);
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    char c = static_cast<char>(data[i]);
    if (c == 0) break;
    // Names end up in files: keep them printable, one line.
    out[w++] = (c < 0x20 || c > 0x7e) ? '?' : c;
  }
  out[w] = 0;
}
}  // namespace

struct DhcpClient::Reply {
  uint8_t type = 0;
  Ipv4Address your_address;
  Ipv4Address server_id;
  DhcpLease lease;
  bool has_mask = false;
  uint32_t mask = 0;
};

DhcpClient::DhcpClient(NetStack& stack, uint32_t interface_index) : m_stack(stack), m_interface_index(interface_index) {
  m_timer.callback = on_timer;
  m_timer.context = this;
  if (NetDevice* device = stack.device(interface_index)) m_mac = device->mac();
}

DhcpClient::~DhcpClient() { stop(); }

void DhcpClient::set_listener(Listener listener, void* context) {
  MutexGuard guard(m_lock);
  m_listener = listener;
  m_listener_context = context;
}

Result<> DhcpClient::start() {
  NetStack::UdpHook hook;
  hook.interface_index = m_interface_index;
  hook.port = kClientPort;
  hook.callback = on_datagram;
  hook.context = this;
  TRY(m_stack.add_udp_hook(hook));
  MutexGuard guard(m_lock);
  restart();
  return {};
}

void DhcpClient::stop() {
  m_stack.remove_udp_hook(this);
  m_stack.disarm_timer(m_timer);
  MutexGuard guard(m_lock);
  m_state = State::stopped;
}

DhcpClient::State DhcpClient::state() {
  MutexGuard guard(m_lock);
  return m_state;
}

bool DhcpClient::has_lease() {
  MutexGuard guard(m_lock);
  return m_has_lease;
}

DhcpLease DhcpClient::lease() {
  MutexGuard guard(m_lock);
  return m_lease;
}

// --- sending ---

bool DhcpClient::send(uint8_t message_type, Ipv4Address source, Ipv4Address destination,
                      Ipv4Address client_address, bool with_request_options) {
  auto allocated = Packet::try_allocate(Packet::kDefaultHeadroom + kUdpHeaderSize + 576);
  if (!allocated) return false;
  Packet* packet = *allocated;
  std::byte* udp = packet->put(kUdpHeaderSize + kMinimumMessage);
  std::byte* m = udp + kUdpHeaderSize;
  std::memset(m, 0, kMinimumMessage);
  m[0] = std::byte{1};  // BOOTREQUEST
  m[1] = std::byte{1};  // Ethernet
  m[2] = std::byte{6};
  store_be32(m + 4, m_xid);
  uint64_t elapsed = (m_stack.now_ns() - m_started_ns) / kSecond;
  store_be16(m + 8, static_cast<uint16_t>(std::min<uint64_t>(elapsed, 0xffff)));
  // No address yet: ask for broadcast replies (RFC 2131 4.1).
  if (client_address.is_any()) store_be16(m + 10, 0x8000);
  store_be32(m + 12, client_address.value);
  std::memcpy(m + 28, m_mac.data(), 6);
  store_be32(m + kCookieOffset, kMagicCookie);
  std::byte* o = m + kOptionsOffset;
  auto option = [&](uint8_t code, std::initializer_list<uint8_t> bytes) {
    *o++ = std::byte{code};
    *o++ = std::byte(bytes.size());
    for (uint8_t b : bytes) *o++ = std::byte{b};
  };
  auto option_address = [&](uint8_t code, Ipv4Address address) {
    *o++ = std::byte{code};
    *o++ = std::byte{4};
    store_be32(o, address.value);
    o += 4;
  };
  option(kOptionMessageType, {message_type});
  option(kOptionClientId, {1, m_mac[0], m_mac[1], m_mac[2], m_mac[3], m_mac[4], m_mac[5]});
  option(kOptionMaxMessageSize, {0x05, 0xdc});  // 1500
  if (with_request_options) {
    option_address(kOptionRequestedAddress, m_offered);
    option_address(kOptionServerId, m_offer_server);
  }
  option(kOptionParameterList, {kOptionSubnetMask, kOptionRouter, kOptionDns, kOptionHostName, kOptionDomainName,
                                kOptionMtu, kOptionBroadcast, kOptionLeaseTime, kOptionRenewalTime,
                                kOptionRebindingTime});
  *o++ = std::byte{kOptionEnd};

  uint16_t length = static_cast<uint16_t>(kUdpHeaderSize + kMinimumMessage);
  store_be16(udp, kClientPort);
  store_be16(udp + 2, kServerPort);
  store_be16(udp + 4, length);
  store_be16(udp + 6, 0);
  uint32_t sum = pseudo_header_sum_ipv4(source, destination, kIpProtocolUdp, length);
  uint16_t checksum = checksum_finish(checksum_add(sum, {udp, length}));
  store_be16(udp + 6, checksum == 0 ? 0xffff : checksum);
  IpSendOptions options;
  options.dont_fragment = false;
  options.tos = 0x10;  // RFC 2131 doesn't say; dhclient uses IPTOS_LOWDELAY
  return m_stack.ipv4_output_on_interface(m_interface_index, packet, source, destination, kIpProtocolUdp, options)
      .has_value();
}

void DhcpClient::send_discover() {
  send(kDiscover, {}, {0xffffffff}, {}, false);
}

void DhcpClient::send_request() {
  switch (m_state) {
    case State::requesting:
      send(kRequest, {}, {0xffffffff}, {}, true);
      break;
    case State::renewing:
      // RFC 2131 4.4.5: unicast to the server that granted the lease, ciaddr filled in.
      send(kRequest, m_lease.address, m_lease.server, m_lease.address, false);
      break;
    case State::rebinding:
      send(kRequest, m_lease.address, {0xffffffff}, m_lease.address, false);
      break;
    default:
      break;
  }
}

void DhcpClient::schedule_retransmit() {
  uint64_t now = m_stack.now_ns();
  uint64_t delay;
  if (m_state == State::renewing || m_state == State::rebinding) {
    // RFC 2131 4.4.5: half the time left until T2 (renewing) or the lease's end
    // (rebinding), but not less than 60 s.
    uint64_t until = m_lease.obtained_ns + uint64_t(m_state == State::renewing ? m_lease.rebinding_seconds
                                                                                 : m_lease.lease_seconds) *
                                               kSecond;
    delay = until > now ? (until - now) / 2 : 0;
    delay = std::max(delay, 60 * kSecond);
    if (until > now) delay = std::min(delay, until - now);
    else delay = 0;
  } else {
    delay = kFirstRetransmitNs << std::min(m_attempt, 4);
    delay = std::min(delay, kMaxRetransmitNs);
    // Randomized by -1..+1 s so a rack of machines powered on together spreads out.
    uint64_t jitter = m_stack.environment().random64() % (2 * kSecond + 1);
    delay = delay - kSecond + jitter;
  }
  m_stack.arm_timer(m_timer, now + delay);
}

void DhcpClient::restart() {
  m_state = State::selecting;
  m_xid = static_cast<uint32_t>(m_stack.environment().random64());
  m_attempt = 0;
  m_started_ns = m_stack.now_ns();
  send_discover();
  schedule_retransmit();
}

void DhcpClient::drop_lease() {
  if (!m_has_lease) return;
  (void)m_stack.clear_ipv4_address(m_interface_index);
  if (!m_lease.router.is_any()) (void)m_stack.set_ipv4_gateway({});
  m_has_lease = false;
  m_pending_notify = true;
  m_pending_bound = false;
}

void DhcpClient::notify(bool) {
  Listener listener;
  void* context;
  DhcpLease lease;
  bool bound;
  {
    MutexGuard guard(m_lock);
    if (!m_pending_notify) return;
    m_pending_notify = false;
    listener = m_listener;
    context = m_listener_context;
    lease = m_lease;
    bound = m_pending_bound;
  }
  if (listener) listener(context, lease, bound);
}

// --- receiving ---

void DhcpClient::on_datagram(void* context, const IpReceiveInfo& info, Packet* packet) {
  auto* self = static_cast<DhcpClient*>(context);
  Reply reply;
  bool valid = false;
  do {
    if (packet->length() < kUdpHeaderSize) break;
    const std::byte* udp = packet->data();
    uint16_t length = load_be16(udp + 4);
    if (length < kUdpHeaderSize || length > packet->length()) break;
    if (load_be16(udp) != kServerPort) break;
    uint16_t checksum = load_be16(udp + 6);
    if (checksum && !info.checksum_verified &&
        checksum_finish(checksum_add(pseudo_header_sum(info.source, info.destination, kIpProtocolUdp, length),
                                     {udp, length})) != 0)
      break;
    const std::byte* m = udp + kUdpHeaderSize;
    size_t size = length - kUdpHeaderSize;
    if (size < kOptionsOffset || m[0] != std::byte{2} || load_be32(m + kCookieOffset) != kMagicCookie) break;
    if (std::memcmp(m + 28, self->m_mac.data(), 6) != 0) break;
    uint32_t xid = load_be32(m + 4);
    {
      MutexGuard guard(self->m_lock);
      if (xid != self->m_xid) break;
    }
    reply.your_address = {load_be32(m + 16)};
    // RFC 2132 2: code, length, data; pad and end have no length.
    size_t at = kOptionsOffset;
    bool ended = false;
    while (at < size && !ended) {
      uint8_t code = uint8_t(m[at]);
      if (code == kOptionPad) {
        at++;
        continue;
      }
      if (code == kOptionEnd) {
        ended = true;
        break;
      }
      if (at + 2 > size) break;
      size_t n = uint8_t(m[at + 1]);
      const std::byte* data = m + at + 2;
      if (at + 2 + n > size) break;
      switch (code) {
        case kOptionMessageType:
          if (n >= 1) reply.type = uint8_t(data[0]);
          break;
        case kOptionSubnetMask:
          if (n == 4) {
            reply.has_mask = true;
            reply.mask = load_be32(data);
          }
          break;
        case kOptionRouter:
          if (n >= 4) reply.lease.router = {load_be32(data)};
          break;
        case kOptionDns:
          for (size_t i = 0; i + 4 <= n && reply.lease.dns_server_count < DhcpLease::kMaxDnsServers; i += 4)
            reply.lease.dns_servers[reply.lease.dns_server_count++] = {load_be32(data + i)};
          break;
        case kOptionHostName: copy_name(reply.lease.host_name, data, n); break;
        case kOptionDomainName: copy_name(reply.lease.domain_name, data, n); break;
        case kOptionMtu:
          if (n == 2) reply.lease.mtu = load_be16(data);
          break;
        case kOptionLeaseTime:
          if (n == 4) reply.lease.lease_seconds = load_be32(data);
          break;
        case kOptionRenewalTime:
          if (n == 4) reply.lease.renewal_seconds = load_be32(data);
          break;
        case kOptionRebindingTime:
          if (n == 4) reply.lease.rebinding_seconds = load_be32(data);
          break;
        case kOptionServerId:
          if (n == 4) reply.server_id = {load_be32(data)};
          break;
        default:
          break;
      }
      at += 2 + n;
    }
    // Options that run past the message, or no end mark: a truncated or forged reply.
    valid = ended && reply.type != 0;
  } while (false);
  Packet::free(packet);
  if (valid) self->handle(reply);
}

void DhcpClient::handle(const Reply& reply) {
  {
    MutexGuard guard(m_lock);
    switch (reply.type) {
      case kOffer:
        // RFC 2131 4.4.1: take the first offer with a usable address.
        if (m_state != State::selecting || reply.your_address.is_any() || reply.server_id.is_any()) break;
        m_offered = reply.your_address;
        m_offer_server = reply.server_id;
        m_state = State::requesting;
        m_attempt = 0;
        send_request();
        schedule_retransmit();
        break;
      case kAck: {
        if (m_state != State::requesting && m_state != State::renewing && m_state != State::rebinding) break;
        if (reply.your_address.is_any()) break;
        DhcpLease lease = reply.lease;
        lease.address = reply.your_address;
        lease.server = !reply.server_id.is_any() ? reply.server_id
                       : m_state == State::requesting ? m_offer_server
                                                      : m_lease.server;
        lease.prefix_length = reply.has_mask ? prefix_from_mask(reply.mask) : default_prefix(lease.address);
        if (lease.lease_seconds == 0) lease.lease_seconds = 3600;  // RFC 2131 requires it; be lenient
        // RFC 2131 4.4.5: T1 = 0.5 and T2 = 0.875 of the lease by default.
        if (lease.renewal_seconds == 0 || lease.renewal_seconds >= lease.lease_seconds)
          lease.renewal_seconds = lease.lease_seconds == kInfinite ? kInfinite : lease.lease_seconds / 2;
        if (lease.rebinding_seconds == 0 || lease.rebinding_seconds >= lease.lease_seconds ||
            lease.rebinding_seconds < lease.renewal_seconds)
          lease.rebinding_seconds =
              lease.lease_seconds == kInfinite ? kInfinite : uint32_t(uint64_t(lease.lease_seconds) * 7 / 8);
        lease.obtained_ns = m_stack.now_ns();
        bool changed = !m_has_lease || !(m_lease.address == lease.address) ||
                       m_lease.prefix_length != lease.prefix_length || !(m_lease.router == lease.router);
        if (changed) {
          (void)m_stack.set_ipv4_address(m_interface_index, {lease.address, lease.prefix_length});
          if (!lease.router.is_any()) (void)m_stack.set_ipv4_gateway(lease.router);
        }
        m_lease = lease;
        m_has_lease = true;
        m_state = State::bound;
        m_pending_notify = true;
        m_pending_bound = true;
        if (lease.renewal_seconds == kInfinite)
          m_stack.disarm_timer(m_timer);
        else
          m_stack.arm_timer(m_timer, lease.obtained_ns + uint64_t(lease.renewal_seconds) * kSecond);
        break;
      }
      case kNak:
        // RFC 2131 4.4.4 (3.1 step 5): start over.
        if (m_state != State::requesting && m_state != State::renewing && m_state != State::rebinding) break;
        drop_lease();
        restart();
        break;
      default:
        break;
    }
  }
  notify(true);
}

void DhcpClient::on_timer(NetTimer& timer) { static_cast<DhcpClient*>(timer.context)->timer_fired(); }

void DhcpClient::timer_fired() {
  {
    MutexGuard guard(m_lock);
    uint64_t now = m_stack.now_ns();
    switch (m_state) {
      case State::selecting:
        m_attempt++;
        send_discover();
        schedule_retransmit();
        break;
      case State::requesting:
        if (++m_attempt >= kRequestAttempts) {
          restart();
          break;
        }
        send_request();
        schedule_retransmit();
        break;
      case State::bound:
      case State::renewing:
      case State::rebinding: {
        uint64_t t2 = m_lease.obtained_ns + uint64_t(m_lease.rebinding_seconds) * kSecond;
        uint64_t end = m_lease.obtained_ns + uint64_t(m_lease.lease_seconds) * kSecond;
        if (now >= end) {
          // RFC 2131 4.4.5: the lease ran out: stop using the address, start over.
          drop_lease();
          restart();
          break;
        }
        m_state = now >= t2 ? State::rebinding : State::renewing;
        send_request();
        schedule_retransmit();
        break;
      }
      case State::stopped:
        break;
    }
  }
  notify(false);
}

}  // namespace nimbus::net
