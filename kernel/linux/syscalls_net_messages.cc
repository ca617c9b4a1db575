// Socket data: sendto, recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg. The application's
// msghdr, iovec array, name and control data are checked and copied as net/socket.c does
// (___sys_sendmsg, ___sys_recvmsg), then the socket's family moves the data.
#include <algorithm>
#include <cstring>
#include <new>

#include "kernel/fs/file.h"
#include "kernel/linux/process.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/socket_file.h"
#include "kernel/linux/socket_syscalls.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/linux/user_vectors.h"
#include "kernel/net/socket_abi.h"
#include "kernel/time/clock.h"

namespace nimbus::linux {

using namespace net::abi;

namespace {

// Largest msg_control sendmsg accepts (net.core.optmem_max) and recvmsg fills.
constexpr size_t kMaxControl = 128 * 1024;

// A kernel copy of msg_control.
class ControlBuffer {
 public:
  ~ControlBuffer() { ::operator delete(m_data); }
  Result<> allocate(size_t length) {
    if (!length) return {};
    m_data = static_cast<std::byte*>(::operator new(length, kNoThrow));
    if (!m_data) return error(Errno::enobufs);
    memset(m_data, 0, length);
    m_length = length;
    return {};
  }
  std::span<std::byte> span() { return {m_data, m_length}; }

 private:
  std::byte* m_data = nullptr;
  size_t m_length = 0;
};

bool is_nonblocking(const fs::File& file, uint32_t flags) {
  return (flags & msg_dontwait) || (file.flags() & fs::linux_abi::o_nonblock);
}

// A stream socket's EPIPE raises SIGPIPE at the caller unless MSG_NOSIGNAL (datagram and
// seqpacket sockets do not raise it on Linux).
Result<long> after_send(net::Socket& socket, Result<size_t> sent, uint32_t flags) {
  if (!sent) {
    if (sent.error() == Errno::epipe && socket.type() == sock_stream && !(flags & msg_nosignal))
      (void)send_signal(current_linux_thread().tid, kSigpipe, kSiKernel);
    return error(sent.error());
  }
  return static_cast<long>(*sent);
}

// __copy_msghdr: a missing name has no length; a negative one is EINVAL; a longer one is cut
// to sizeof(struct sockaddr_storage).
Result<> check_name_length(MsgHdr& header) {
  if (!header.name) header.name_length = 0;
  if (static_cast<int32_t>(header.name_length) < 0) return error(Errno::einval);
  header.name_length = std::min<uint32_t>(header.name_length, net::SocketAddress::kCapacity);
  return {};
}

Result<long> send_message(net::Socket& socket, fs::File& file, MsgHdr* user_header, uint32_t flags) {
  MsgHdr header = TRY(user::read(user_header));
  TRY(check_name_length(header));
  net::SocketAddress destination;
  if (header.name_length) destination = TRY(copy_address_in(header.name, static_cast<int>(header.name_length)));
  UserVectors vectors;
  TRY(vectors.load(header.iov, header.iov_length, UserVectors::Direction::out_of_program));
  if (header.control_length > kMaxControl) return error(Errno::enobufs);
  ControlBuffer control;
  TRY(control.allocate(header.control_length));
  if (header.control_length) TRY(user::copy_from(control.span().data(), header.control, header.control_length));
  net::SendRequest request;
  request.data = vectors.span();
  request.destination = header.name_length ? &destination : nullptr;
  request.control = control.span();
  request.flags = flags;
  request.nonblocking = is_nonblocking(file, flags);
  return after_send(socket, socket.send(request), flags);
}

Result<long> receive_message(net::Socket& socket, fs::File& file, MsgHdr* user_header, uint32_t flags,
                             bool force_nonblocking) {
  MsgHdr header = TRY(user::read(user_header));
  TRY(check_name_length(header));
  UserVectors vectors;
  TRY(vectors.load(header.iov, header.iov_length, UserVectors::Direction::into_program));
  // A NULL msg_control has no room, whatever msg_controllen says.
  if (!header.control) header.control_length = 0;
  ControlBuffer control;
  TRY(control.allocate(std::min<uint64_t>(header.control_length, kMaxControl)));
  net::SocketAddress source;
  net::ReceiveRequest request;
  request.data = vectors.span();
  request.source = header.name ? &source : nullptr;
  request.control = control.span();
  request.flags = flags;
  request.nonblocking = force_nonblocking || is_nonblocking(file, flags);
  size_t received = TRY(socket.receive(request));
  if (header.name) {
    int length = static_cast<int>(header.name_length);
    size_t n = std::min<size_t>(static_cast<size_t>(length), source.length);
    if (n) TRY(user::copy_to(header.name, source.bytes.data(), n));
    TRY(user::write(&user_header->name_length, source.length));
  }
  if (request.control_length) TRY(user::copy_to(header.control, control.span().data(), request.control_length));
  TRY(user::write(&user_header->control_length, static_cast<uint64_t>(request.control_length)));
  // msg_flags: what the family reported, and MSG_CMSG_CLOEXEC as the caller passed it.
  TRY(user::write(&user_header->flags, request.result_flags | (flags & msg_cmsg_cloexec)));
  return static_cast<long>(received);
}

}  // namespace

Result<long> sys_sendto(int fd, const void* buffer, size_t length, int flags, const void* address,
                        int address_length) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  length = std::min(length, size_t{INT32_MAX});
  if (!user::readable(buffer, length)) return error(Errno::efault);
  net::SocketAddress destination;
  if (address) destination = TRY(copy_address_in(address, address_length));
  UserVectors vectors;
  vectors.set_single(const_cast<void*>(buffer), length);
  net::SendRequest request;
  request.data = vectors.span();
  request.destination = address && destination.length ? &destination : nullptr;
  request.flags = static_cast<uint32_t>(flags);
  request.nonblocking = is_nonblocking(*holder, request.flags);
  return after_send(*socket, socket->send(request), request.flags);
}

Result<long> sys_recvfrom(int fd, void* buffer, size_t length, int flags, void* address, int* address_length) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  length = std::min(length, size_t{INT32_MAX});
  if (!user::writable(buffer, length)) return error(Errno::efault);
  UserVectors vectors;
  vectors.set_single(buffer, length);
  net::SocketAddress source;
  net::ReceiveRequest request;
  request.data = vectors.span();
  request.source = address ? &source : nullptr;
  // recvfrom has no control buffer: MSG_CMSG_CLOEXEC means nothing here.
  request.flags = static_cast<uint32_t>(flags) & ~msg_cmsg_cloexec;
  request.nonblocking = is_nonblocking(*holder, request.flags);
  size_t received = TRY(socket->receive(request));
  if (address) TRY(copy_address_out(source, address, address_length));
  return static_cast<long>(received);
}

Result<long> sys_sendmsg(int fd, const void* message, int flags) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  return send_message(*socket, *holder, static_cast<MsgHdr*>(const_cast<void*>(message)), static_cast<uint32_t>(flags));
}

Result<long> sys_recvmsg(int fd, void* message, int flags) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  return receive_message(*socket, *holder, static_cast<MsgHdr*>(message), static_cast<uint32_t>(flags), false);
}

// __sys_sendmmsg: as many as go; an error after the first is dropped (the count says it).
Result<long> sys_sendmmsg(int fd, void* messages, unsigned count, int flags) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  count = std::min<unsigned>(count, kMaxIoVectors);
  auto* entries = static_cast<MMsgHdr*>(messages);
  unsigned sent = 0;
  for (; sent < count; sent++) {
    auto result = send_message(*socket, *holder, &entries[sent].header, static_cast<uint32_t>(flags));
    if (!result) {
      if (sent == 0) return error(result.error());
      break;
    }
    if (!user::write(&entries[sent].length, static_cast<uint32_t>(*result))) {
      if (sent == 0) return error(Errno::efault);
      break;
    }
  }
  return sent;
}

// do_recvmmsg: the timeout is looked at only between datagrams (each receive may block as
// long as it blocks), and the time left is written back. MSG_WAITFORONE turns on MSG_DONTWAIT
// after the first datagram.
Result<long> sys_recvmmsg(int fd, void* messages, unsigned count, int flags, Timespec* timeout) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  uint64_t end = kNoDeadline;
  if (timeout) end = clock::monotonic_ns() + TRY(read_duration_ns(timeout));
  count = std::min<unsigned>(count, kMaxIoVectors);
  auto* entries = static_cast<MMsgHdr*>(messages);
  uint32_t receive_flags = static_cast<uint32_t>(flags) & ~msg_waitforone;
  bool nonblocking = false;
  unsigned received = 0;
  Result<long> failure = 0;
  while (received < count) {
    auto result = receive_message(*socket, *holder, &entries[received].header, receive_flags, nonblocking);
    if (!result) {
      failure = error(result.error());
      break;
    }
    if (!user::write(&entries[received].length, static_cast<uint32_t>(*result))) {
      failure = error(Errno::efault);
      break;
    }
    received++;
    if (flags & msg_waitforone) nonblocking = true;
    if (timeout && clock::monotonic_ns() >= end) break;
  }
  if (timeout) {
    uint64_t now = clock::monotonic_ns();
    uint64_t left = now < end ? end - now : 0;
    Timespec remaining{static_cast<int64_t>(left / 1'000'000'000), static_cast<int64_t>(left % 1'000'000'000)};
    (void)user::write(timeout, remaining);
  }
  if (received == 0 && !failure) return error(failure.error());
  return received;
}

}  // namespace nimbus::linux
