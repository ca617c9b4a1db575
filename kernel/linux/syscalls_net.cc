// Sockets: socket, socketpair, bind, listen, accept, connect, names, shutdown and options.
// Each checks and copies the application's arguments as net/socket.c does, then calls the
// socket's family (kernel/net/socket.h). The send and receive calls are in
// syscalls_net_messages.cc.
#include <algorithm>
#include <cstring>

#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/socket_file.h"
#include "kernel/linux/socket_syscalls.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/net/kernel_net_stack.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/netlink/netlink_socket.h"
#include "kernel/net/socket_abi.h"
#include "kernel/net/tcp/tcp_protocol.h"
#include "kernel/net/udp.h"
#include "kernel/net/unix/unix_socket.h"

namespace nimbus::linux {

using namespace net::abi;

namespace {

// SOCK_MAX: socket() refuses larger types with EINVAL before asking the family.
constexpr int kSockMax = 11;
// How much of an option value setsockopt copies and getsockopt can return.
constexpr size_t kMaxOptionLength = 512;

// __sys_socket's checks of the type argument: its flags, then its range.
Result<int> socket_type(int type, uint32_t* flags) {
  int extra = type & ~sock_type_mask;
  if (extra & ~(sock_cloexec | sock_nonblock)) return error(Errno::einval);
  *flags = static_cast<uint32_t>(extra);
  return type & sock_type_mask;
}

// inet_create: the protocols each socket type has here (TCP for streams, UDP for datagrams).
Result<RefPtr<net::Socket>> create_inet(int family, int type, int protocol) {
  net::NetStack* stack = net::kernel_net_stack();
  if (!stack) return error(Errno::eafnosupport);
  switch (type) {
    case sock_stream:
      if (protocol != 0 && protocol != ipproto_tcp) return error(Errno::eprotonosupport);
      return stack->tcp().create_socket(family);
    case sock_dgram:
      // ICMP echo ("ping") sockets, as Linux opens them for every group (ping_group_range
      // "0 2147483647", the common distribution setting).
      if ((family == af_inet && protocol == ipproto_icmp) || (family == af_inet6 && protocol == ipproto_icmpv6))
        return stack->ping().create_socket(family);
      if (protocol != 0 && protocol != ipproto_udp) return error(Errno::eprotonosupport);
      return stack->udp().create_socket(family);
    case sock_raw: return error(Errno::eprotonosupport);
    default: return error(Errno::esocktnosupport);
  }
}

Result<RefPtr<net::Socket>> create_socket(int family, int type, int protocol) {
  if (family < 0 || family >= af_max) return error(Errno::eafnosupport);
  if (type < 0 || type >= kSockMax) return error(Errno::einval);
  switch (family) {
    case af_unix: return RefPtr<net::Socket>(TRY(net::UnixSocket::create(type, protocol)));
    case af_inet:
    case af_inet6: return create_inet(family, type, protocol);
    case af_netlink: {
      net::netlink::RouteSource* routes = net::kernel_route_source();
      if (!routes) return error(Errno::eafnosupport);
      return net::netlink::NetlinkSocket::try_create(*routes, type, protocol);
    }
    default: return error(Errno::eafnosupport);
  }
}

}  // namespace

Result<net::SocketAddress> copy_address_in(const void* address, int length) {
  net::SocketAddress result;
  if (length < 0 || static_cast<size_t>(length) > net::SocketAddress::kCapacity) return error(Errno::einval);
  if (length == 0) return result;
  TRY(user::copy_from(result.bytes.data(), address, static_cast<size_t>(length)));
  result.length = static_cast<uint32_t>(length);
  return result;
}

Result<> copy_address_out(const net::SocketAddress& address, void* destination, int* length) {
  int room = TRY(user::read(length));
  if (room < 0) return error(Errno::einval);
  size_t n = std::min<size_t>(static_cast<size_t>(room), address.length);
  if (n) TRY(user::copy_to(destination, address.bytes.data(), n));
  // The full length, even when it did not fit: the caller sees what it missed.
  return user::write(length, static_cast<int>(address.length));
}

Result<long> sys_socket(int family, int type, int protocol) {
  uint32_t flags = 0;
  type = TRY(socket_type(type, &flags));
  RefPtr<net::Socket> socket = TRY(create_socket(family, type, protocol));
  return install_socket(std::move(socket), flags);
}

Result<long> sys_socketpair(int family, int type, int protocol, int* fds) {
  uint32_t flags = 0;
  type = TRY(socket_type(type, &flags));
  if (family != af_unix) {
    TRY(create_socket(family, type, protocol));
    return error(Errno::enotsup);  // sock_no_socketpair
  }
  if (type < 0 || type >= kSockMax) return error(Errno::einval);
  if (!user::writable(fds, 2 * sizeof(int))) return error(Errno::efault);
  RefPtr<net::UnixSocket> first, second;
  TRY(net::UnixSocket::create_pair(type, protocol, &first, &second));
  // Both files exist before either descriptor does, so a failure leaves no descriptor behind.
  RefPtr<fs::File> a = TRY(make_socket_file(RefPtr<net::Socket>(std::move(first)), flags));
  RefPtr<fs::File> b = TRY(make_socket_file(RefPtr<net::Socket>(std::move(second)), flags));
  fs::FdTable& table = file_context().fds();
  int fd_a = TRY(table.install(a, flags & sock_cloexec));
  auto fd_b = table.install(b, flags & sock_cloexec);
  if (!fd_b) {
    (void)table.close(fd_a);
    return error(fd_b.error());
  }
  int pair[2] = {fd_a, *fd_b};
  TRY(user::copy_to(fds, pair, sizeof(pair)));
  return 0;
}

Result<long> sys_bind(int fd, const void* address, int length) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  net::SocketAddress name = TRY(copy_address_in(address, length));
  TRY(socket->bind(name));
  return 0;
}

Result<long> sys_listen(int fd, int backlog) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  TRY(socket->listen(backlog));
  return 0;
}

Result<long> sys_accept(int fd, void* address, int* length) { return sys_accept4(fd, address, length, 0); }

Result<long> sys_accept4(int fd, void* address, int* length, int flags) {
  if (flags & ~(sock_cloexec | sock_nonblock)) return error(Errno::einval);
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  bool nonblocking = holder->flags() & fs::linux_abi::o_nonblock;
  net::SocketAddress peer;
  RefPtr<net::Socket> accepted = TRY(socket->accept(nonblocking, address ? &peer : nullptr));
  RefPtr<fs::File> file = TRY(make_socket_file(std::move(accepted), static_cast<uint32_t>(flags)));
  // The address goes out before the descriptor exists: a bad pointer loses the connection
  // (closed with the file) and leaves no descriptor, as on Linux.
  if (address) TRY(copy_address_out(peer, address, length));
  return TRY(file_context().fds().install(file, flags & sock_cloexec));
}

Result<long> sys_connect(int fd, const void* address, int length) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  net::SocketAddress name = TRY(copy_address_in(address, length));
  TRY(socket->connect(name, holder->flags() & fs::linux_abi::o_nonblock));
  return 0;
}

Result<long> sys_getsockname(int fd, void* address, int* length) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  net::SocketAddress name = TRY(socket->local_address());
  TRY(copy_address_out(name, address, length));
  return 0;
}

Result<long> sys_getpeername(int fd, void* address, int* length) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  net::SocketAddress name = TRY(socket->peer_address());
  TRY(copy_address_out(name, address, length));
  return 0;
}

Result<long> sys_shutdown(int fd, int how) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  TRY(socket->shutdown(how));
  return 0;
}

Result<long> sys_setsockopt(int fd, int level, int name, const void* value, int length) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  if (length < 0) return error(Errno::einval);
  std::byte buffer[kMaxOptionLength];
  size_t n = std::min<size_t>(static_cast<size_t>(length), sizeof(buffer));
  if (n) TRY(user::copy_from(buffer, value, n));
  TRY(socket->set_socket_option(level, name, {buffer, n}));
  return 0;
}

Result<long> sys_getsockopt(int fd, int level, int name, void* value, int* length) {
  RefPtr<fs::File> holder;
  net::Socket* socket = TRY(socket_of(fd, holder));
  int room = TRY(user::read(length));
  if (room < 0) return error(Errno::einval);
  std::byte buffer[kMaxOptionLength] = {};
  size_t n = std::min<size_t>(static_cast<size_t>(room), sizeof(buffer));
  size_t written = TRY(socket->get_socket_option(level, name, {buffer, n}));
  if (written) TRY(user::copy_to(value, buffer, written));
  TRY(user::write(length, static_cast<int>(written)));
  return 0;
}

}  // namespace nimbus::linux
