// Scatter/gather copies between kernel bytes and a checked array of application buffers
// (the iovecs of readv, sendmsg and recvmsg).
#pragma once

#include <cstddef>
#include <cstring>
#include <span>

#include "kernel/fs/file.h"

namespace nimbus::net {

inline size_t total_length(std::span<const fs::IoVec> vectors) {
  size_t total = 0;
  for (const fs::IoVec& v : vectors) total += v.length;
  return total;
}

// Copies as much of `bytes` as the vectors hold, from byte `offset` of their concatenation
// on; returns how much.
inline size_t copy_to_vectors(std::span<const fs::IoVec> vectors, std::span<const std::byte> bytes,
                              size_t offset = 0) {
  size_t done = 0;
  for (const fs::IoVec& v : vectors) {
    if (done == bytes.size()) break;
    if (offset >= v.length) {
      offset -= v.length;
      continue;
    }
    size_t room = v.length - offset;
    size_t n = room < bytes.size() - done ? room : bytes.size() - done;
    memcpy(static_cast<std::byte*>(v.base) + offset, bytes.data() + done, n);
    done += n;
    offset = 0;
  }
  return done;
}

// Copies up to out.size() bytes gathered from the vectors, skipping the first `offset`;
// returns how many.
inline size_t copy_from_vectors(std::span<const fs::IoVec> vectors, std::span<std::byte> out, size_t offset = 0) {
  size_t done = 0;
  for (const fs::IoVec& v : vectors) {
    if (done == out.size()) break;
    if (offset >= v.length) {
      offset -= v.length;
      continue;
    }
    size_t available = v.length - offset;
    size_t n = available < out.size() - done ? available : out.size() - done;
    memcpy(out.data() + done, static_cast<const std::byte*>(v.base) + offset, n);
    done += n;
    offset = 0;
  }
  return done;
}

}  // namespace nimbus::net
