// UserVectors: a program's iovec array copied into the kernel and checked, so that readv,
// writev and the socket calls never read the program's array again (another thread may
// change or unmap it meanwhile).
#pragma once

#include <algorithm>
#include <new>
#include <span>

#include "kernel/fs/file.h"
#include "kernel/linux/user_memory.h"

namespace nimbus::linux {

constexpr size_t kMaxIoVectors = 1024;  // UIO_MAXIOV

// EINVAL for a negative length, EFAULT for a bad array or buffer, `too_many` (EINVAL for
// readv/writev, EMSGSIZE for sendmsg/recvmsg) past UIO_MAXIOV; the total is capped at
// MAX_RW_COUNT as Linux does.
class UserVectors {
 public:
  enum class Direction : uint8_t { into_program, out_of_program };

  UserVectors() = default;
  ~UserVectors() {
    if (m_vectors != m_inline) ::operator delete(m_vectors);
  }
  UserVectors(const UserVectors&) = delete;
  UserVectors& operator=(const UserVectors&) = delete;

  Result<> load(UserPtr<const void> user_vectors, uint64_t count, Direction direction,
                Errno too_many = Errno::emsgsize) {
    if (count > kMaxIoVectors) return error(too_many);
    if (count > kInlineVectors) {
      m_vectors = static_cast<fs::IoVec*>(::operator new(count * sizeof(fs::IoVec), kNoThrow));
      if (!m_vectors) {
        m_vectors = m_inline;
        return error(Errno::enomem);
      }
    }
    if (count) TRY(user::copy_from(m_vectors, user_vectors, count * sizeof(fs::IoVec)));
    m_count = count;
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
      fs::IoVec& v = m_vectors[i];
      if (static_cast<int64_t>(v.length) < 0) return error(Errno::einval);
      v.length = std::min(v.length, fs::kMaxIoCount - total);
      total += v.length;
      bool ok = direction == Direction::into_program ? user::writable(v.base, v.length)
                                                      : user::readable(v.base, v.length);
      if (!ok) return error(Errno::efault);
    }
    return {};
  }
  void set_single(void* base, size_t length) {
    m_inline[0] = {base, std::min(length, fs::kMaxIoCount)};
    m_count = 1;
  }
  std::span<const fs::IoVec> span() const { return {m_vectors, m_count}; }

 private:
  static constexpr size_t kInlineVectors = 8;
  fs::IoVec m_inline[kInlineVectors];
  fs::IoVec* m_vectors = m_inline;
  size_t m_count = 0;
};

}  // namespace nimbus::linux
