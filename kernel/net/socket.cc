// Socket: the defaults Linux gives a family that lacks an operation (net/core/sock.c's
// sock_no_*), the SOL_SOCKET options every family shares (sk_setsockopt/sk_getsockopt), and
// a socket's read/write.
#include "kernel/net/socket.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "kernel/net/io_vector.h"
#include "kernel/net/socket_abi.h"

namespace nimbus::net {

using namespace abi;

namespace {

// struct timeval as SO_RCVTIMEO/SO_SNDTIMEO take it on x86-64 (SO_*TIMEO_OLD).
struct TimevalAbi {
  int64_t seconds;
  int64_t microseconds;
};

// Linux reads an int option from the first four bytes and refuses fewer.
Result<int> int_value(std::span<const std::byte> value) {
  if (value.size() < sizeof(int)) return error(Errno::einval);
  int result;
  memcpy(&result, value.data(), sizeof(result));
  return result;
}

// getsockopt copies at most the option's size and reports how much it copied.
size_t copy_out(std::span<std::byte> destination, const void* source, size_t size) {
  size_t length = std::min(destination.size(), size);
  memcpy(destination.data(), source, length);
  return length;
}

// sock_set_timeout: EDOM for microseconds outside [0, 1e6); a negative time is "do not wait"
// (kept as 1 ns, which expires at once); zero is "no timeout".
Result<uint64_t> timeout_value(std::span<const std::byte> value) {
  TimevalAbi time;
  if (value.size() < sizeof(time)) return error(Errno::einval);
  memcpy(&time, value.data(), sizeof(time));
  if (time.microseconds < 0 || time.microseconds >= 1'000'000) return error(Errno::edom);
  if (time.seconds < 0) return uint64_t{1};
  constexpr int64_t kLargest = INT64_MAX / 1'000'000'000 - 1;
  if (time.seconds >= kLargest) return uint64_t{0};  // Linux: MAX_SCHEDULE_TIMEOUT, i.e. none
  return static_cast<uint64_t>(time.seconds) * 1'000'000'000 + static_cast<uint64_t>(time.microseconds) * 1000;
}

// sk->sk_sndbuf / sk_rcvbuf: Linux doubles the request (for its bookkeeping overhead) and
// keeps the result above a minimum.
uint32_t doubled_buffer(int64_t requested, uint32_t minimum) {
  int64_t value = std::min<int64_t>(requested, INT_MAX / 2);
  return static_cast<uint32_t>(std::max<int64_t>(value * 2, minimum));
}

}  // namespace

uint16_t SocketAddress::family() const {
  if (length < sizeof(uint16_t)) return 0xffff;
  uint16_t result;
  memcpy(&result, bytes.data(), sizeof(result));
  return result;
}

void put_control_message(ReceiveRequest& request, int level, int type, const void* data, size_t length) {
  size_t room = request.control.size() - request.control_length;
  if (room < sizeof(CmsgHdr)) {
    request.result_flags |= msg_ctrunc;
    return;
  }
  size_t full = cmsg_len(length);
  size_t written = full;
  if (room < full) {
    request.result_flags |= msg_ctrunc;
    written = room;
  }
  CmsgHdr header{written, level, type};
  std::byte* out = request.control.data() + request.control_length;
  memcpy(out, &header, sizeof(header));
  memcpy(out + sizeof(header), data, written - sizeof(header));
  request.control_length += std::min(cmsg_space(length), room);
}

// The sock_no_* answers.
Result<> Socket::bind(const SocketAddress&) { return error(Errno::enotsup); }
Result<> Socket::connect(const SocketAddress&, bool) { return error(Errno::enotsup); }
Result<> Socket::listen(int) { return error(Errno::enotsup); }
Result<RefPtr<Socket>> Socket::accept(bool, SocketAddress*) { return error(Errno::enotsup); }
Result<size_t> Socket::send(SendRequest&) { return error(Errno::enotsup); }
Result<size_t> Socket::receive(ReceiveRequest&) { return error(Errno::enotsup); }
Result<> Socket::shutdown(int) { return error(Errno::enotsup); }
Result<SocketAddress> Socket::local_address() { return error(Errno::enotsup); }
Result<SocketAddress> Socket::peer_address() { return error(Errno::enotsup); }
Result<> Socket::set_option(int, int, std::span<const std::byte>) { return error(Errno::enoprotoopt); }
Result<size_t> Socket::get_option(int, int, std::span<std::byte>) { return error(Errno::enoprotoopt); }

// sk_setsockopt (net/core/sock.c).
Result<> Socket::set_socket_option(int level, int name, std::span<const std::byte> value) {
  if (level != sol_socket) return set_option(level, name, value);
  CommonSocketOptions& o = m_options;
  switch (name) {
    case so_linger: {
      Linger linger;
      if (value.size() < sizeof(linger)) return error(Errno::einval);
      memcpy(&linger, value.data(), sizeof(linger));
      o.linger = linger.onoff != 0;
      if (o.linger) o.linger_seconds = linger.seconds < 0 ? INT_MAX : linger.seconds;
      return {};
    }
    case so_rcvtimeo: o.receive_timeout_ns = TRY(timeout_value(value)); return {};
    case so_sndtimeo: o.send_timeout_ns = TRY(timeout_value(value)); return {};
    default: break;
  }
  int v = TRY(int_value(value));
  bool on = v != 0;
  switch (name) {
    case so_debug:
    case so_dontroute:
    case so_bsdcompat: return {};  // accepted and, as on Linux today, without effect here
    case so_no_check: o.no_check = on; return {};
    case so_timestamp:
      // sock_set_timestamp: the two formats exclude each other.
      o.timestamp = on;
      if (on) o.timestamp_ns = false;
      return {};
    case so_timestampns:
      o.timestamp_ns = on;
      if (on) o.timestamp = false;
      return {};
    case so_detach_filter:
      if (!o.filter_attached) return error(Errno::enoent);
      o.filter_attached = false;
      return {};
    case so_reuseaddr: o.reuse_address = on; return {};
    case so_reuseport:
      // Linux 6.x: port sharing is an inet notion.
      if (on && m_family != af_inet && m_family != af_inet6) return error(Errno::enotsup);
      o.reuse_port = on;
      return {};
    case so_keepalive:
      o.keepalive = on;
      // The family may act on it (TCP arms its keepalive timer); ENOPROTOOPT means it need not.
      if (auto r = set_option(level, name, value); !r && r.error() != Errno::enoprotoopt) return r;
      return {};
    case so_broadcast: o.broadcast = on; return {};
    case so_oobinline: o.out_of_band_inline = on; return {};
    case so_passcred: o.pass_credentials = on; return {};
    case so_sndbuf:
      // The request is capped at wmem_max as an unsigned number (a negative one is huge).
      o.send_buffer = doubled_buffer(std::min<uint32_t>(static_cast<uint32_t>(v), wmem_max), sock_min_sndbuf);
      return {};
    case so_rcvbuf:
      o.receive_buffer = doubled_buffer(std::min<uint32_t>(static_cast<uint32_t>(v), rmem_max), sock_min_rcvbuf);
      return {};
    // The FORCE variants need CAP_NET_ADMIN, which the application (root) has.
    case so_sndbufforce: o.send_buffer = doubled_buffer(std::max(v, 0), sock_min_sndbuf); return {};
    case so_rcvbufforce: o.receive_buffer = doubled_buffer(std::max(v, 0), sock_min_rcvbuf); return {};
    case so_rcvlowat: o.receive_low_water = v < 0 ? INT_MAX : (v ? static_cast<uint32_t>(v) : 1); return {};
    case so_priority: o.priority = static_cast<uint32_t>(v); return {};  // root may set any priority
    case so_mark: o.mark = static_cast<uint32_t>(v); return {};
    case so_type:
    case so_protocol:
    case so_domain:
    case so_error:
    case so_acceptconn:
    case so_peercred:
    case so_sndlowat: return error(Errno::enoprotoopt);
    default: return set_option(level, name, value);
  }
}

// sk_getsockopt: a shorter buffer gets the first bytes; optlen says how many were written.
Result<size_t> Socket::get_socket_option(int level, int name, std::span<std::byte> value) {
  if (level != sol_socket) return get_option(level, name, value);
  const CommonSocketOptions& o = m_options;
  int v = 0;
  switch (name) {
    case so_linger: {
      Linger linger{o.linger ? 1 : 0, o.linger_seconds};
      return copy_out(value, &linger, sizeof(linger));
    }
    case so_rcvtimeo:
    case so_sndtimeo: {
      uint64_t ns = name == so_rcvtimeo ? o.receive_timeout_ns : o.send_timeout_ns;
      TimevalAbi time{static_cast<int64_t>(ns / 1'000'000'000), static_cast<int64_t>(ns % 1'000'000'000 / 1000)};
      if (ns == 1) time = {};  // "do not wait" reads back as Linux's zero jiffies
      return copy_out(value, &time, sizeof(time));
    }
    case so_peercred: return get_option(level, name, value);
    case so_debug:
    case so_dontroute:
    case so_bsdcompat: v = 0; break;
    case so_no_check: v = o.no_check; break;
    case so_timestamp: v = o.timestamp; break;
    case so_timestampns: v = o.timestamp_ns; break;
    case so_attach_filter:
    case so_detach_filter: return error(Errno::enoprotoopt);
    case so_reuseaddr: v = o.reuse_address; break;
    case so_reuseport: v = o.reuse_port; break;
    case so_keepalive: v = o.keepalive; break;
    case so_broadcast: v = o.broadcast; break;
    case so_oobinline: v = o.out_of_band_inline; break;
    case so_passcred: v = o.pass_credentials; break;
    case so_sndbuf:
    case so_sndbufforce: v = static_cast<int>(o.send_buffer); break;
    case so_rcvbuf:
    case so_rcvbufforce: v = static_cast<int>(o.receive_buffer); break;
    case so_rcvlowat: v = static_cast<int>(o.receive_low_water); break;
    case so_sndlowat: v = 1; break;
    case so_priority: v = static_cast<int>(o.priority); break;
    case so_mark: v = static_cast<int>(o.mark); break;
    case so_type: v = m_type; break;
    case so_protocol: v = m_protocol; break;
    case so_domain: v = m_family; break;
    case so_error: v = take_error(); break;
    case so_acceptconn: v = is_listening(); break;
    default: return get_option(level, name, value);
  }
  return copy_out(value, &v, sizeof(v));
}

Result<size_t> Socket::read(fs::File&, std::span<std::byte> buffer, fs::IoFlags flags) {
  fs::IoVec vector{buffer.data(), buffer.size()};
  ReceiveRequest request;
  request.data = {&vector, 1};
  request.nonblocking = flags.nonblocking;
  return receive(request);
}

Result<size_t> Socket::write(fs::File&, std::span<const std::byte> data, fs::IoFlags flags) {
  fs::IoVec vector{const_cast<std::byte*>(data.data()), data.size()};
  SendRequest request;
  request.data = {&vector, 1};
  request.nonblocking = flags.nonblocking;
  return send(request);
}

Result<size_t> Socket::read_vectors(fs::File&, std::span<const fs::IoVec> vectors, fs::IoFlags flags) {
  // sock_read_iter: an empty read is 0 at once (an empty write, though, is a datagram).
  if (total_length(vectors) == 0) return 0;
  ReceiveRequest request;
  request.data = vectors;
  request.nonblocking = flags.nonblocking;
  return receive(request);
}

Result<size_t> Socket::write_vectors(fs::File&, std::span<const fs::IoVec> vectors, fs::IoFlags flags) {
  SendRequest request;
  request.data = vectors;
  request.nonblocking = flags.nonblocking;
  return send(request);
}

uint64_t Socket::receive_deadline(uint64_t now_ns) const {
  return m_options.receive_timeout_ns ? now_ns + m_options.receive_timeout_ns : kNoDeadline;
}

uint64_t Socket::send_deadline(uint64_t now_ns) const {
  return m_options.send_timeout_ns ? now_ns + m_options.send_timeout_ns : kNoDeadline;
}

}  // namespace nimbus::net
