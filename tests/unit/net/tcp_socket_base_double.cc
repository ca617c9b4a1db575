// A test double of the Socket base class (kernel/net/socket.cc, the socket layer's), for the
// TCP host tests while that file is not on this branch: the base's defaults and deadlines,
// enough for TcpSocket to link. The TCP tests set CommonSocketOptions directly.
#include "kernel/net/socket.h"

#include <cstring>

namespace nimbus::net {

uint16_t SocketAddress::family() const {
  if (length < 2) return 0xffff;
  uint16_t family;
  memcpy(&family, bytes.data(), 2);
  return family;
}

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
Result<> Socket::set_socket_option(int level, int name, std::span<const std::byte> value) {
  return set_option(level, name, value);
}
Result<size_t> Socket::get_socket_option(int level, int name, std::span<std::byte> value) {
  return get_option(level, name, value);
}
Result<size_t> Socket::read(fs::File&, std::span<std::byte>, fs::IoFlags) { return error(Errno::enotsup); }
Result<size_t> Socket::write(fs::File&, std::span<const std::byte>, fs::IoFlags) { return error(Errno::enotsup); }
uint64_t Socket::receive_deadline(uint64_t now_ns) const {
  return m_options.receive_timeout_ns ? now_ns + m_options.receive_timeout_ns : kNoDeadline;
}
uint64_t Socket::send_deadline(uint64_t now_ns) const {
  return m_options.send_timeout_ns ? now_ns + m_options.send_timeout_ns : kNoDeadline;
}

}  // namespace nimbus::net
