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

  // readv/writev (`shorten`): as Linux's copy that faults, the transfer stops at the first
  // byte that cannot be reached (a short count), EFAULT only if that is the very first one.
  enum class Unreachable : uint8_t { efault, shorten };

  Result<> load(UserPtr<const void> user_vectors, uint64_t count, Direction direction,
                Errno too_many = Errno::emsgsize, Unreachable unreachable = Unreachable::efault) {
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
    }
    for (size_t i = 0; i < count; i++) {
      fs::IoVec& v = m_vectors[i];
      size_t reachable = accessible_prefix(v.base, v.length, direction);
      if (reachable == v.length) continue;
      if (unreachable == Unreachable::efault) return error(Errno::efault);
      v.length = reachable;
      m_count = i + (reachable ? 1 : 0);
      bool anything = false;
      for (size_t k = 0; k < m_count; k++) anything |= m_vectors[k].length != 0;
      if (!anything) return error(Errno::efault);
      return {};
    }
    return {};
  }
  void set_single(void* base, size_t length) {
    m_inline[0] = {base, std::min(length, fs::kMaxIoCount)};
    m_count = 1;
  }
  std::span<const fs::IoVec> span() const { return {m_vectors, m_count}; }

 private:
  // The length of the accessible prefix of [base, +length), page by page.
  static size_t accessible_prefix(void* base, size_t length, Direction direction) {
    auto accessible = [direction](void* p, size_t n) {
      return direction == Direction::into_program ? user::writable(p, n) : user::readable(p, n);
    };
    if (accessible(base, length)) return length;
    auto start = reinterpret_cast<uintptr_t>(base);
    size_t done = 0;
    while (done < length) {
      uintptr_t at = start + done;
      size_t chunk = std::min(length - done, static_cast<size_t>(4096 - (at % 4096)));
      if (!accessible(reinterpret_cast<void*>(at), chunk)) break;
      done += chunk;
    }
    return done;
  }

  static constexpr size_t kInlineVectors = 8;
  fs::IoVec m_inline[kInlineVectors];
  fs::IoVec* m_vectors = m_inline;
  size_t m_count = 0;
};

}  // namespace nimbus::linux
