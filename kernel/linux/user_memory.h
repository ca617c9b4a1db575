// Checked access to application memory. One address space, but a bad pointer from the
// application must become -EFAULT, never a kernel fault: ranges are checked against the
// application's mappings first (pages not yet touched are then filled by the fault handler).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernel/lib/result.h"
#include "kernel/linux/process.h"

namespace nimbus::linux::user {

inline bool readable(const void* p, size_t n) {
  return address_space().check_access(reinterpret_cast<uintptr_t>(p), n, prot::kRead);
}
inline bool writable(const void* p, size_t n) {
  return address_space().check_access(reinterpret_cast<uintptr_t>(p), n, prot::kWrite);
}

inline Result<> copy_from(void* to, const void* from, size_t n) {
  if (!readable(from, n)) return error(Errno::efault);
  memcpy(to, from, n);
  return {};
}
inline Result<> copy_to(void* to, const void* from, size_t n) {
  if (!writable(to, n)) return error(Errno::efault);
  memcpy(to, from, n);
  return {};
}
template <typename T>
Result<T> read(const T* from) {
  T value;
  TRY(copy_from(&value, from, sizeof(T)));
  return value;
}
template <typename T>
Result<> write(T* to, const T& value) {
  return copy_to(to, &value, sizeof(T));
}

// Copies a NUL-terminated string of at most size-1 characters; ENAMETOOLONG beyond.
Result<size_t> copy_string(char* to, const char* from, size_t size);

}  // namespace nimbus::linux::user
