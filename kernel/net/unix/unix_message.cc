// UnixMessage and the SCM_RIGHTS / SCM_CREDENTIALS control messages (net/core/scm.c:
// __scm_send, scm_fp_copy, put_cmsg, scm_detach_fds).
#include "kernel/net/unix/unix_message.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>

#include "kernel/net/socket_abi.h"
#include "kernel/net/unix/unix_host.h"
#include "kernel/net/unix/unix_socket.h"

namespace nimbus::net {

using namespace abi;

UnixRights::~UnixRights() {
  for (size_t i = 0; i < m_count; i++) m_files[i].~RefPtr();
  ::operator delete(m_files);
}

Result<> UnixRights::reserve_more(size_t more) {
  if (m_count + more > scm_max_fd) return error(Errno::einval);
  if (m_count + more <= m_capacity) return {};
  size_t capacity = m_count + more;
  auto* files = static_cast<RefPtr<fs::File>*>(::operator new(capacity * sizeof(RefPtr<fs::File>), kNoThrow));
  if (!files) return error(Errno::enomem);
  for (size_t i = 0; i < m_count; i++) {
    new (&files[i]) RefPtr<fs::File>(std::move(m_files[i]));
    m_files[i].~RefPtr();
  }
  for (size_t i = m_count; i < capacity; i++) new (&files[i]) RefPtr<fs::File>();
  ::operator delete(m_files);
  m_files = files;
  m_capacity = capacity;
  return {};
}

void UnixRights::move_to(UnixRights& other) {
  std::swap(m_files, other.m_files);
  std::swap(m_count, other.m_count);
  std::swap(m_capacity, other.m_capacity);
}

Result<> parse_unix_control(std::span<const std::byte> control, UnixControl& out) {
  size_t offset = 0;
  // for_each_cmsghdr: a header must fit in what is left; CMSG_OK checks its length.
  while (control.size() - offset >= sizeof(CmsgHdr)) {
    CmsgHdr header;
    memcpy(&header, control.data() + offset, sizeof(header));
    if (header.length < sizeof(CmsgHdr) || header.length > control.size() - offset) return error(Errno::einval);
    const std::byte* data = control.data() + offset + sizeof(CmsgHdr);
    size_t data_length = header.length - sizeof(CmsgHdr);
    if (header.level == sol_socket) {
      switch (header.type) {
        case scm_rights: {
          size_t count = data_length / sizeof(int);
          if (count == 0) break;
          TRY(out.rights.reserve_more(count));
          for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, data + i * sizeof(int), sizeof(fd));
            out.rights.append(TRY(unix_file_context().fds().get(fd)));
          }
          break;
        }
        case scm_credentials: {
          if (header.length != cmsg_len(sizeof(Ucred))) return error(Errno::einval);
          Ucred credentials;
          memcpy(&credentials, data, sizeof(credentials));
          // scm_check_creds (another identity needs the capabilities; root has them unless
          // capset dropped them), then __scm_send's find_get_pid: the process must exist
          // (ESRCH once it is reaped).
          UnixCredentials claimed{credentials.pid, credentials.uid, credentials.gid};
          if (!unix_may_claim_credentials(claimed)) return error(Errno::eperm);
          if (!unix_pid_exists(credentials.pid)) return error(Errno::esrch);
          out.credentials = claimed;
          out.explicit_credentials = true;
          break;
        }
        default: return error(Errno::einval);
      }
    }
    size_t step = cmsg_align(header.length);
    if (step > control.size() - offset) break;
    offset += step;
  }
  return {};
}

UnixMessage* UnixMessage::create(size_t length) {
  constexpr size_t kHeader = (sizeof(UnixMessage) + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);
  if (length > SIZE_MAX - kHeader) return nullptr;
  void* memory = ::operator new(kHeader + length, kNoThrow);
  if (!memory) return nullptr;
  auto* message = new (memory) UnixMessage;
  message->data = static_cast<std::byte*>(memory) + kHeader;
  message->length = length;
  return message;
}

void UnixMessage::destroy(UnixMessage* message) {
  message->~UnixMessage();
  ::operator delete(message);
}

void UnixControlWriter::put(int level, int type, const void* data, size_t length) {
  size_t room = m_buffer.size() - m_used;
  if (room < sizeof(CmsgHdr)) {
    *m_flags |= msg_ctrunc;
    return;
  }
  size_t full = cmsg_len(length);
  if (room < full) {
    *m_flags |= msg_ctrunc;
    full = room;
  }
  CmsgHdr header{full, level, type};
  memcpy(m_buffer.data() + m_used, &header, sizeof(header));
  memcpy(m_buffer.data() + m_used + sizeof(header), data, full - sizeof(header));
  m_used += std::min(cmsg_space(length), room);
}

void UnixControlWriter::put_rights(UnixRights& rights, bool cloexec) {
  if (!rights.count()) return;
  size_t room = m_buffer.size() - m_used;
  size_t fit = room > sizeof(CmsgHdr) ? (room - sizeof(CmsgHdr)) / sizeof(int) : 0;
  size_t limit = std::min(fit, rights.count());
  size_t installed = 0;
  std::byte* out = m_buffer.data() + m_used + sizeof(CmsgHdr);
  for (; installed < limit; installed++) {
    auto fd = unix_file_context().fds().install(rights[installed], cloexec);
    if (!fd) break;
    int value = *fd;
    memcpy(out + installed * sizeof(int), &value, sizeof(value));
  }
  if (installed > 0) {
    CmsgHdr header{cmsg_len(installed * sizeof(int)), sol_socket, scm_rights};
    memcpy(m_buffer.data() + m_used, &header, sizeof(header));
    m_used += std::min(cmsg_space(installed * sizeof(int)), room);
  }
  if (installed < rights.count()) *m_flags |= msg_ctrunc;
  // The files not installed are closed with the message.
}

}  // namespace nimbus::net
