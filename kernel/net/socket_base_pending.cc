// TEMPORARY (virtio-net branch): weak stand-ins for the socket base class members that
// kernel/net/socket.cc (the `sockets` helper's) defines, so the kernel links while the stack,
// UDP and TCP are merged but the socket layer is not. Weak: the real definitions replace
// them at link time. Delete this file once the sockets branch is merged.
#include <cstring>

#include "kernel/net/socket.h"
#include "kernel/sync/wait_queue.h"

namespace nimbus::net {

[[gnu::weak]] uint16_t SocketAddress::family() const {
  if (length < sizeof(uint16_t)) return 0xffff;
  uint16_t family;
  memcpy(&family, bytes.data(), sizeof(family));
  return family;
}

// No socket system calls exist without the sockets branch: nothing reaches these.
[[gnu::weak]] Result<> Socket::listen(int) { return error(Errno::enotsup); }
[[gnu::weak]] Result<RefPtr<Socket>> Socket::accept(bool, SocketAddress*) { return error(Errno::enotsup); }
[[gnu::weak]] Result<size_t> Socket::read(fs::File&, std::span<std::byte>, fs::IoFlags) {
  return error(Errno::enotsup);
}
[[gnu::weak]] Result<size_t> Socket::write(fs::File&, std::span<const std::byte>, fs::IoFlags) {
  return error(Errno::enotsup);
}
// SO_RCVTIMEO / SO_SNDTIMEO (the kernel's own UDP self-test sets the former).
[[gnu::weak]] uint64_t Socket::receive_deadline(uint64_t now_ns) const {
  return m_options.receive_timeout_ns ? now_ns + m_options.receive_timeout_ns : kNoDeadline;
}
[[gnu::weak]] uint64_t Socket::send_deadline(uint64_t now_ns) const {
  return m_options.send_timeout_ns ? now_ns + m_options.send_timeout_ns : kNoDeadline;
}

}  // namespace nimbus::net
