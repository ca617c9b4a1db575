// UnixMessage: one datagram, or one segment of a stream, queued at its receiver with what
// travels with it (descriptors, credentials, the sender's name), and the control-message
// (cmsg) parsing and writing of SCM_RIGHTS and SCM_CREDENTIALS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/fs/file.h"
#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/net/socket.h"
#include "kernel/net/unix/unix_host.h"

namespace nimbus::net {

class UnixSocket;

// Open files an SCM_RIGHTS message carries (at most SCM_MAX_FD), owned by the array.
class UnixRights {
 public:
  UnixRights() = default;
  ~UnixRights();
  UnixRights(const UnixRights&) = delete;
  UnixRights& operator=(const UnixRights&) = delete;

  size_t count() const { return m_count; }
  RefPtr<fs::File>& operator[](size_t i) { return m_files[i]; }
  // Room for `more` files (EINVAL past SCM_MAX_FD in all, ENOMEM).
  Result<> reserve_more(size_t more);
  void append(RefPtr<fs::File> file) { m_files[m_count++] = std::move(file); }
  // Hands the files to another holder.
  void move_to(UnixRights& other);

 private:
  RefPtr<fs::File>* m_files = nullptr;
  size_t m_count = 0;
  size_t m_capacity = 0;
};

// What a sendmsg's control data asked for.
struct UnixControl {
  UnixRights rights;
  UnixCredentials credentials;  // the sender's, or what SCM_CREDENTIALS said
  bool explicit_credentials = false;  // SCM_CREDENTIALS was given
};

// What a message carries when neither side asked for credentials as it was sent (no pid,
// the overflow uid and gid), as Linux reports a message without them.
constexpr UnixCredentials kNoCredentials{0, 65534, 65534};

// __scm_send: walks the cmsgs (EINVAL for a malformed one, a level other than SOL_SOCKET is
// skipped, an unknown SOL_SOCKET type is EINVAL), takes the SCM_RIGHTS descriptors' files
// from the caller's table (EBADF) and SCM_CREDENTIALS (EINVAL unless exactly a ucred).
Result<> parse_unix_control(std::span<const std::byte> control, UnixControl& out);

struct UnixMessage {
  ListNode node;
  std::byte* data = nullptr;
  size_t length = 0;
  size_t offset = 0;  // bytes of a stream segment already read
  UnixRights rights;
  UnixCredentials credentials;
  SocketAddress source;  // the sender's name when it sent (length 0: unbound)
  RefPtr<UnixSocket> sender;  // charged for charge() bytes until the message is freed

  // What a message costs its sender against SO_SNDBUF: its data and a fixed overhead, so
  // that many tiny messages cannot pin unbounded kernel memory (Linux charges skb truesize).
  static constexpr size_t kOverhead = 512;
  size_t charge() const { return length + kOverhead; }

  // One allocation holds the message and its data; nullptr when out of memory.
  static UnixMessage* create(size_t length);
  static void destroy(UnixMessage* message);
};

// Writes recvmsg's control data as put_cmsg/scm_detach_fds do: whatever fits, MSG_CTRUNC in
// `flags` for what does not.
class UnixControlWriter {
 public:
  UnixControlWriter(std::span<std::byte> buffer, uint32_t* flags) : m_buffer(buffer), m_flags(flags) {}
  void put(int level, int type, const void* data, size_t length);
  // Installs the files as new descriptors (MSG_CMSG_CLOEXEC: close-on-exec) as far as they
  // fit; the others are dropped (closed).
  void put_rights(UnixRights& rights, bool cloexec);
  size_t used() const { return m_used; }

 private:
  std::span<std::byte> m_buffer;
  uint32_t* m_flags;
  size_t m_used = 0;
};

}  // namespace nimbus::net
