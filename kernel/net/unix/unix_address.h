// UnixAddress: an AF_UNIX name (a path, an abstract name, or none), parsed from a
// sockaddr_un as Linux's unix_validate_addr/unix_mkname do and reported with Linux's lengths.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "kernel/lib/result.h"
#include "kernel/net/socket.h"

namespace nimbus::net {

struct UnixAddress {
  enum class Kind : uint8_t { none, path, abstract };
  Kind kind = Kind::none;
  // path: the bytes before the first NUL; abstract: every byte of sun_path given, the
  // leading NUL included.
  uint8_t length = 0;
  std::array<char, 110> name{};

  std::string_view path() const { return {name.data(), length}; }
  bool operator==(const UnixAddress& other) const;
  // As getsockname reports it: the family alone (2 bytes) when unbound; family, path and
  // its NUL for a path; family and the name's bytes for an abstract name.
  SocketAddress to_socket_address() const;
};

// bind/connect/sendto's address: EINVAL unless AF_UNIX with at least one byte of sun_path
// and at most sizeof(struct sockaddr_un). An address of the family alone (length 2) is
// Kind::none, which bind takes as a request to autobind.
Result<UnixAddress> parse_unix_address(const SocketAddress& address);

// The autobind name for `number` (20 bits): a NUL and five hex digits, as Linux makes them.
UnixAddress unix_autobind_address(uint32_t number);

}  // namespace nimbus::net
