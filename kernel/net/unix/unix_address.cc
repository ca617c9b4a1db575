// AF_UNIX names: parsing sockaddr_un (net/unix/af_unix.c: unix_validate_addr,
// unix_mkname_bsd) and the lengths getsockname/getpeername/recvfrom report.
#include "kernel/net/unix/unix_address.h"

#include <cstring>

#include "kernel/net/socket_abi.h"

namespace nimbus::net {

using namespace abi;

bool UnixAddress::operator==(const UnixAddress& other) const {
  return kind == other.kind && length == other.length && memcmp(name.data(), other.name.data(), length) == 0;
}

SocketAddress UnixAddress::to_socket_address() const {
  SocketAddress result;
  uint16_t family = af_unix;
  memcpy(result.bytes.data(), &family, sizeof(family));
  result.length = sun_path_offset;
  if (kind == Kind::none) return result;
  memcpy(result.bytes.data() + sun_path_offset, name.data(), length);
  // A path is reported with its NUL (even one of 108 bytes, which makes 111: Linux's quirk).
  result.length = static_cast<uint32_t>(sun_path_offset + length + (kind == Kind::path ? 1 : 0));
  return result;
}

Result<UnixAddress> parse_unix_address(const SocketAddress& address) {
  if (address.length < sun_path_offset || address.family() != af_unix) return error(Errno::einval);
  if (address.length > sockaddr_un_size) return error(Errno::einval);
  UnixAddress result;
  size_t given = address.length - sun_path_offset;
  if (given == 0) return result;  // the family alone
  const char* path = reinterpret_cast<const char*>(address.bytes.data() + sun_path_offset);
  if (path[0] == 0) {
    result.kind = UnixAddress::Kind::abstract;
    result.length = static_cast<uint8_t>(given);
    memcpy(result.name.data(), path, given);
    return result;
  }
  // A path ends at its first NUL or at the end of what was given.
  size_t length = 0;
  while (length < given && path[length]) length++;
  result.kind = UnixAddress::Kind::path;
  result.length = static_cast<uint8_t>(length);
  memcpy(result.name.data(), path, length);
  return result;
}

UnixAddress unix_autobind_address(uint32_t number) {
  UnixAddress result;
  result.kind = UnixAddress::Kind::abstract;
  result.length = 6;
  result.name[0] = 0;
  constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 0; i < 5; i++) result.name[5 - i] = kDigits[(number >> (4 * i)) & 0xf];
  return result;
}

}  // namespace nimbus::net
