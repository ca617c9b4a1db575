// The error queue of IP_RECVERR / IPV6_RECVERR sockets.
#include "kernel/net/socket_error_queue.h"

#include <cstring>

#include "kernel/lib/ref_ptr.h"

namespace nimbus::net {

bool SocketErrorQueue::push(const SocketError& error, std::span<const std::byte> payload) {
  if (m_entries.size() >= kMaxEntries) return false;
  auto* entry = new (kNoThrow) Entry;
  if (!entry) return false;
  if (!payload.empty()) {
    entry->payload = new (kNoThrow) std::byte[payload.size()];
    if (!entry->payload) {
      delete entry;
      return false;
    }
    memcpy(entry->payload, payload.data(), payload.size());
    entry->length = payload.size();
  }
  entry->error = error;
  m_entries.push_back(entry);
  return true;
}

const SocketError& SocketErrorQueue::front() const { return m_entries.front()->error; }

std::span<const std::byte> SocketErrorQueue::front_payload() const {
  const Entry* entry = m_entries.front();
  return {entry->payload, entry->length};
}

void SocketErrorQueue::pop() {
  Entry* entry = m_entries.pop_front();
  if (!entry) return;
  delete[] entry->payload;
  delete entry;
}

int SocketErrorQueue::next_errno() const { return empty() ? 0 : int(front().error); }

void SocketErrorQueue::clear() {
  while (!empty()) pop();
}

size_t format_extended_error(const SocketError& error, bool ipv6_socket, std::span<std::byte> out) {
  constexpr size_t kExtendedErrorSize = 16, kSockaddrIn = 16, kSockaddrIn6 = 28;
  size_t length = kExtendedErrorSize + (ipv6_socket ? kSockaddrIn6 : kSockaddrIn);
  if (out.size() < length) return 0;
  memset(out.data(), 0, length);
  std::byte* p = out.data();
  uint32_t errno_value = uint32_t(error.error);
  memcpy(p, &errno_value, 4);
  p[4] = std::byte(error.origin);
  p[5] = std::byte(error.type);
  p[6] = std::byte(error.code);
  memcpy(p + 8, &error.info, 4);  // ee_info; ee_data stays 0
  // SO_EE_OFFENDER: Linux leaves it zeroed (family AF_UNSPEC) for a local error.
  if (error.origin == kErrorOriginLocal) return length;
  std::byte* address = p + kExtendedErrorSize;
  if (ipv6_socket) {
    uint16_t family = 10;  // AF_INET6
    memcpy(address, &family, 2);
    memcpy(address + 8, error.offender.bytes.data(), 16);
  } else {
    uint16_t family = 2;  // AF_INET
    memcpy(address, &family, 2);
    memcpy(address + 4, error.offender.bytes.data() + 12, 4);
  }
  return length;
}

}  // namespace nimbus::net
