// NETLINK_ROUTE sockets: requests parsed as netlink(7) says, answers built by
// route_messages.cc and queued as datagrams until the program reads them.
#include "kernel/net/netlink/netlink_socket.h"

#include <cstring>
#include <new>

#include "kernel/fs/linux_abi.h"
#include "kernel/net/io_vector.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/netlink/route_messages.h"

namespace nimbus::net::netlink {
namespace {

constexpr uint16_t kAfNetlink = 16;
constexpr uint8_t kAfUnspec = 0, kAfInet = 2, kAfInet6 = 10, kAfPacket = 17;
constexpr int kSockDgram = 2, kSockRaw = 3;
constexpr int kSolNetlink = 270;
constexpr int kNetlinkAddMembership = 1, kNetlinkDropMembership = 2;
constexpr uint32_t kMsgPeek = 0x2, kMsgTrunc = 0x20;
constexpr uint16_t kMinRequestType = 0x10;  // NLMSG_MIN_TYPE
constexpr size_t kMaxInterfaces = NetStack::kMaxInterfaces;
// A dump answer is cut into datagrams of at most this size, as Linux's NLMSG_GOODSIZE with
// 4 KiB pages: every program's receive buffer holds one.
constexpr size_t kDatagramSize = 3776;

struct NetlinkAddress {  // struct sockaddr_nl
  uint16_t family;
  uint16_t pad;
  uint32_t port_id;
  uint32_t groups;
};
static_assert(sizeof(NetlinkAddress) == 12);

SocketAddress make_address(uint32_t port_id, uint32_t groups) {
  SocketAddress address;
  NetlinkAddress nl{kAfNetlink, 0, port_id, groups};
  memcpy(address.bytes.data(), &nl, sizeof nl);
  address.length = sizeof nl;
  return address;
}

Result<NetlinkAddress> parse_address(const SocketAddress& address) {
  if (address.length < sizeof(NetlinkAddress)) return error(Errno::einval);
  NetlinkAddress nl;
  memcpy(&nl, address.bytes.data(), sizeof nl);
  if (nl.family != kAfNetlink) return error(Errno::einval);
  return nl;
}

}  // namespace

Result<RefPtr<Socket>> NetlinkSocket::try_create(RouteSource& source, int type, int protocol) {
  if (type != kSockRaw && type != kSockDgram) return error(Errno::esocktnosupport);
  if (protocol != kNetlinkRoute) return error(Errno::eprotonosupport);
  auto* socket = new (kNoThrow) NetlinkSocket(source, type, protocol);
  if (!socket) return error(Errno::enomem);
  return RefPtr<Socket>(adopt_ref<Socket>(socket));
}

NetlinkSocket::~NetlinkSocket() {
  while (Datagram* datagram = m_queue.pop_front()) ::operator delete(datagram);
}

void NetlinkSocket::autobind_locked() {
  if (!m_port_id) m_port_id = m_source.next_port_id();
}

Result<> NetlinkSocket::bind(const SocketAddress& address) {
  NetlinkAddress nl = TRY(parse_address(address));
  MutexGuard guard(m_lock);
  if (m_port_id && nl.port_id && nl.port_id != m_port_id) return error(Errno::einval);
  if (nl.port_id) {
    m_port_id = nl.port_id;
  } else {
    autobind_locked();
  }
  m_groups = nl.groups;
  return {};
}

Result<> NetlinkSocket::connect(const SocketAddress& address, bool) {
  if (address.family() == kAfUnspec) {
    MutexGuard guard(m_lock);
    m_peer_port_id = 0;
    return {};
  }
  NetlinkAddress nl = TRY(parse_address(address));
  MutexGuard guard(m_lock);
  autobind_locked();
  m_peer_port_id = nl.port_id;
  return {};
}

Result<SocketAddress> NetlinkSocket::local_address() {
  MutexGuard guard(m_lock);
  return make_address(m_port_id, m_groups);
}

Result<SocketAddress> NetlinkSocket::peer_address() {
  MutexGuard guard(m_lock);
  return make_address(m_peer_port_id, 0);
}

Result<size_t> NetlinkSocket::send(SendRequest& request) {
  if (request.destination) {
    NetlinkAddress nl = TRY(parse_address(*request.destination));
    // Only the kernel (port 0) answers; nothing reaches other sockets.
    if (nl.port_id != 0) return error(Errno::econnrefused);
  }
  size_t length = total_length(request.data);
  if (length > 65536) return error(Errno::emsgsize);
  auto* buffer = new (kNoThrow) std::byte[length ? length : 1];
  if (!buffer) return error(Errno::enomem);
  copy_from_vectors(request.data, {buffer, length});
  {
    MutexGuard guard(m_lock);
    autobind_locked();
    // A datagram may hold several messages (netlink(7)); a malformed one ends the walk.
    size_t offset = 0;
    while (length - offset >= sizeof(MessageHeader)) {
      MessageHeader header;
      memcpy(&header, buffer + offset, sizeof header);
      if (header.length < sizeof header || header.length > length - offset) break;
      handle_request_locked({buffer + offset, header.length});
      // The last message's padding may be missing (Go sends a 17-byte request): past the end
      // is the end, never a wrapped `length - offset`.
      offset = std::min(length, offset + align4(header.length));
    }
  }
  delete[] buffer;
  m_poll_queue.notify(fs::linux_abi::pollin);
  return length;
}

void NetlinkSocket::handle_request_locked(std::span<const std::byte> message) {
  MessageHeader header;
  memcpy(&header, message.data(), sizeof header);
  if (!(header.flags & kNlmFRequest) || header.type < kMinRequestType) return;
  std::span<const std::byte> payload = message.subspan(sizeof header);
  // Every rtnetlink request starts with its family byte (rtgenmsg).
  uint8_t family = payload.empty() ? kAfUnspec : static_cast<uint8_t>(payload[0]);
  bool dump = (header.flags & kNlmFDump) == kNlmFDump;
  switch (header.type) {
    case kRtmGetLink:
      if (dump) {
        dump_links_locked(header.sequence);
      } else {
        get_link_locked(message, header.sequence);
      }
      return;
    case kRtmGetAddr:
      if (dump) return dump_addresses_locked(header.sequence, family);
      break;
    case kRtmGetRoute:
      if (dump) return dump_routes_locked(header.sequence, family);
      break;
    default:
      break;
  }
  queue_error_locked(-static_cast<int>(Errno::eopnotsupp), message);
}

size_t NetlinkSocket::snapshot_locked(std::span<InterfaceSnapshot> out) {
  size_t count = m_source.interfaces(out);
  return count < out.size() ? count : out.size();
}

// A multi-part answer: messages packed into datagrams of kDatagramSize, then NLMSG_DONE.
class NetlinkSocket::DumpWriter {
 public:
  DumpWriter(NetlinkSocket& socket, uint32_t sequence) : m_socket(socket), m_sequence(sequence) {}
  // `write(out, sequence, port_id, flags)` adds one message; a full datagram is queued first.
  template <typename Write>
  void add(Write write) {
    if (write(m_out, m_sequence, m_socket.m_port_id, kNlmFMulti)) return;
    flush();
    write(m_out, m_sequence, m_socket.m_port_id, kNlmFMulti);
  }
  void finish() {
    add([](MessageWriter& out, uint32_t sequence, uint32_t port_id, uint16_t flags) {
      int32_t done = 0;
      return out.begin(kNlmsgDone, flags, sequence, port_id, &done, sizeof done) && out.end();
    });
    flush();
  }

 private:
  void flush() {
    m_socket.queue_locked({m_buffer, m_out.size()});
    m_out = MessageWriter(m_buffer);
  }
  NetlinkSocket& m_socket;
  uint32_t m_sequence;
  std::byte m_buffer[kDatagramSize];
  MessageWriter m_out{m_buffer};
};

void NetlinkSocket::dump_links_locked(uint32_t sequence) {
  InterfaceSnapshot interfaces[kMaxInterfaces];
  size_t count = snapshot_locked(interfaces);
  DumpWriter dump(*this, sequence);
  for (size_t i = 0; i < count; i++)
    dump.add([&](MessageWriter& out, uint32_t seq, uint32_t port, uint16_t flags) {
      return write_link(out, interfaces[i], seq, port, flags);
    });
  dump.finish();
}

void NetlinkSocket::dump_addresses_locked(uint32_t sequence, uint8_t family) {
  InterfaceSnapshot interfaces[kMaxInterfaces];
  bool all = family == kAfUnspec || family == kAfPacket;
  size_t count = all || family == kAfInet || family == kAfInet6 ? snapshot_locked(interfaces) : 0;
  DumpWriter dump(*this, sequence);
  // Linux's order: every IPv4 address, then every IPv6 one.
  if (all || family == kAfInet)
    for (size_t i = 0; i < count; i++)
      dump.add([&](MessageWriter& out, uint32_t seq, uint32_t port, uint16_t flags) {
        return write_ipv4_address(out, interfaces[i], seq, port, flags);
      });
  if (all || family == kAfInet6)
    for (size_t i = 0; i < count; i++)
      for (size_t j = 0; j < interfaces[i].ipv6_count; j++)
        dump.add([&](MessageWriter& out, uint32_t seq, uint32_t port, uint16_t flags) {
          return write_ipv6_address(out, interfaces[i], j, seq, port, flags);
        });
  dump.finish();
}

void NetlinkSocket::dump_routes_locked(uint32_t sequence, uint8_t family) {
  InterfaceSnapshot interfaces[kMaxInterfaces];
  size_t count = family == kAfUnspec || family == kAfInet ? snapshot_locked(interfaces) : 0;
  Ipv4Route routes[kMaxInterfaces + 1];
  size_t route_count = ipv4_routes({interfaces, count}, m_source.ipv4_gateway(), routes);
  DumpWriter dump(*this, sequence);
  for (size_t i = 0; i < route_count; i++)
    dump.add([&](MessageWriter& out, uint32_t seq, uint32_t port, uint16_t flags) {
      return write_ipv4_route(out, routes[i], seq, port, flags);
    });
  dump.finish();
}

void NetlinkSocket::get_link_locked(std::span<const std::byte> request, uint32_t sequence) {
  // struct ifinfomsg: the index at offset 4 of the payload (0: look the name up instead).
  std::span<const std::byte> payload = request.subspan(sizeof(MessageHeader));
  int32_t index = 0;
  if (payload.size() >= 8) memcpy(&index, payload.data() + 4, sizeof index);
  const char* wanted_name = nullptr;
  char name[sizeof(InterfaceSnapshot::name)] = {};
  // Attributes follow the 16-byte ifinfomsg: IFLA_IFNAME (3) names the interface.
  for (size_t offset = 16; payload.size() >= offset + 4;) {
    uint16_t attribute[2];
    memcpy(attribute, payload.data() + offset, sizeof attribute);
    if (attribute[0] < 4 || attribute[0] > payload.size() - offset) break;
    if (attribute[1] == 3) {
      size_t length = attribute[0] - 4u < sizeof name - 1 ? attribute[0] - 4u : sizeof name - 1;
      memcpy(name, payload.data() + offset + 4, length);
      wanted_name = name;
    }
    offset += align4(attribute[0]);
  }
  InterfaceSnapshot interfaces[kMaxInterfaces];
  size_t count = snapshot_locked(interfaces);
  for (size_t i = 0; i < count; i++) {
    bool match = index > 0 ? interfaces[i].index == static_cast<uint32_t>(index)
                           : wanted_name && strcmp(interfaces[i].name, wanted_name) == 0;
    if (!match) continue;
    std::byte buffer[kDatagramSize];
    MessageWriter out(buffer);
    write_link(out, interfaces[i], sequence, m_port_id, 0);
    queue_locked({buffer, out.size()});
    return;
  }
  queue_error_locked(-static_cast<int>(Errno::enodev), request);
}

void NetlinkSocket::queue_error_locked(int error_number, std::span<const std::byte> request) {
  // struct nlmsgerr: the error, then the request's header (the whole request is not echoed:
  // NETLINK_CAP_ACK behaviour, which every reader accepts).
  std::byte payload[sizeof(int32_t) + sizeof(MessageHeader)];
  int32_t value = error_number;
  memcpy(payload, &value, sizeof value);
  memcpy(payload + sizeof value, request.data(), sizeof(MessageHeader));
  MessageHeader header;
  memcpy(&header, request.data(), sizeof header);
  std::byte buffer[64];
  MessageWriter out(buffer);
  out.begin(kNlmsgError, 0, header.sequence, m_port_id, payload, sizeof payload);
  out.end();
  queue_locked({buffer, out.size()});
}

void NetlinkSocket::queue_locked(std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  if (m_queued_bytes + bytes.size() > options().receive_buffer) {
    m_pending_error = static_cast<int>(Errno::enobufs);
    return;
  }
  void* block = ::operator new(sizeof(Datagram) + bytes.size(), kNoThrow);
  if (!block) {
    m_pending_error = static_cast<int>(Errno::enobufs);
    return;
  }
  auto* datagram = new (block) Datagram();
  datagram->length = bytes.size();
  memcpy(datagram->bytes(), bytes.data(), bytes.size());
  m_queue.push_back(datagram);
  m_queued_bytes += bytes.size();
  m_readable.notify_all();
}

Result<size_t> NetlinkSocket::receive(ReceiveRequest& request) {
  MutexGuard guard(m_lock);
  uint64_t deadline = receive_deadline(m_source.now_ns());
  while (m_queue.empty()) {
    if (m_pending_error) {
      int error_number = m_pending_error;
      m_pending_error = 0;
      return error(static_cast<Errno>(error_number));
    }
    if (m_read_shut) return 0;
    if (request.nonblocking) return error(Errno::eagain);
    WaitResult waited = m_readable.wait_until_interruptible(m_lock, deadline);
    if (waited == WaitResult::interrupted) return error(Errno::erestartsys);
    if (waited == WaitResult::timed_out && m_queue.empty()) return error(Errno::eagain);
  }
  Datagram* datagram = m_queue.front();
  size_t copied = copy_to_vectors(request.data, {datagram->bytes(), datagram->length});
  size_t length = datagram->length;
  if (copied < length) request.result_flags |= kMsgTrunc;
  if (request.source) *request.source = make_address(0, 0);
  if (!(request.flags & kMsgPeek)) {
    m_queue.remove(datagram);
    m_queued_bytes -= length;
    ::operator delete(datagram);
  }
  return (request.flags & kMsgTrunc) ? length : copied;
}

Result<> NetlinkSocket::set_option(int level, int name, std::span<const std::byte> value) {
  if (level != kSolNetlink) return error(Errno::enoprotoopt);
  if (value.size() < sizeof(uint32_t)) return error(Errno::einval);
  uint32_t number;
  memcpy(&number, value.data(), sizeof number);
  if (name <= 0 || name >= static_cast<int>(sizeof m_options / sizeof m_options[0])) return error(Errno::enoprotoopt);
  MutexGuard guard(m_lock);
  if (name == kNetlinkAddMembership || name == kNetlinkDropMembership) {
    // Groups are recorded for getsockname; no notifications are ever sent.
    if (number == 0 || number > 32) return error(Errno::einval);
    uint32_t bit = 1u << (number - 1);
    m_groups = name == kNetlinkAddMembership ? (m_groups | bit) : (m_groups & ~bit);
    return {};
  }
  m_options[name] = number ? 1 : 0;
  return {};
}

Result<size_t> NetlinkSocket::get_option(int level, int name, std::span<std::byte> value) {
  if (level != kSolNetlink) return error(Errno::enoprotoopt);
  if (name <= 0 || name >= static_cast<int>(sizeof m_options / sizeof m_options[0]) ||
      name == kNetlinkAddMembership || name == kNetlinkDropMembership)
    return error(Errno::enoprotoopt);
  if (value.size() < sizeof(uint32_t)) return error(Errno::einval);
  MutexGuard guard(m_lock);
  memcpy(value.data(), &m_options[name], sizeof(uint32_t));
  return sizeof(uint32_t);
}

Result<> NetlinkSocket::shutdown(int how) {
  if (how < 0 || how > 2) return error(Errno::einval);
  {
    MutexGuard guard(m_lock);
    if (how != 1) m_read_shut = true;
    m_readable.notify_all();
  }
  m_poll_queue.notify(0);
  return {};
}

int NetlinkSocket::take_error() {
  MutexGuard guard(m_lock);
  int error_number = m_pending_error;
  m_pending_error = 0;
  return error_number;
}

uint32_t NetlinkSocket::poll(fs::File&) {
  using namespace fs::linux_abi;
  MutexGuard guard(m_lock);
  uint32_t events = pollout | pollwrnorm;
  if (!m_queue.empty() || m_read_shut) events |= pollin | pollrdnorm;
  if (m_pending_error) events |= pollerr;
  return events;
}

Result<int64_t> NetlinkSocket::ioctl(fs::File&, uint32_t request, uintptr_t argument) {
  if (request != fs::linux_abi::fionread) return error(Errno::enotty);
  MutexGuard guard(m_lock);
  int value = m_queue.empty() ? 0 : static_cast<int>(m_queue.front()->length);
  memcpy(reinterpret_cast<void*>(argument), &value, sizeof value);  // checked by the syscall layer
  return 0;
}

}  // namespace nimbus::net::netlink
