// Access to program memory through the fault-tolerant primitives.
#include "kernel/linux/user_memory.h"

#include "kernel/arch/x86_64/user_access.h"

namespace nimbus::linux::user {
namespace {
template <typename T>
T* raw(UserPtr<T> p) {
  return reinterpret_cast<T*>(p.address());
}
}  // namespace

Result<> copy_from(void* to, UserPtr<const void> from, size_t n) {
  if (!readable(from, n)) return error(Errno::efault);
  if (user_access_copy(to, raw(from), n) != 0) return error(Errno::efault);
  return {};
}

Result<> copy_to(UserPtr<void> to, const void* from, size_t n) {
  if (!writable(to, n)) return error(Errno::efault);
  if (user_access_copy(raw(to), from, n) != 0) return error(Errno::efault);
  return {};
}

Result<> clear(UserPtr<void> to, size_t n) {
  if (!writable(to, n)) return error(Errno::efault);
  if (user_access_clear(raw(to), n) != 0) return error(Errno::efault);
  return {};
}

Result<size_t> copy_string(char* to, UserPtr<const char> from, size_t size) {
  // Page by page, so a string that ends just before an unmapped page is fine.
  size_t n = 0;
  while (n < size) {
    UserPtr<const char> at = from.at(n);
    size_t chunk = 4096 - (at.address() & 4095);
    if (chunk > size - n) chunk = size - n;
    if (!readable(at, 1)) return error(Errno::efault);
    long length = user_access_copy_string(to + n, raw(at), chunk);
    if (length < 0) return error(Errno::efault);
    if (static_cast<size_t>(length) < chunk) return n + static_cast<size_t>(length);
    n += chunk;
  }
  return error(Errno::enametoolong);
}

Result<uint32_t> load_u32(UserPtr<const uint32_t> address) {
  if (!readable(address, sizeof(uint32_t))) return error(Errno::efault);
  uint32_t value;
  if (user_access_load32(raw(address), &value) != 0) return error(Errno::efault);
  return value;
}

Result<uint32_t> load_u32_no_sleep(UserPtr<const uint32_t> address) {
  uint32_t value;
  if (user_access_load32(raw(address), &value) != 0) return error(Errno::efault);
  return value;
}

Result<bool> compare_exchange_u32(UserPtr<uint32_t> address, uint32_t& expected, uint32_t desired) {
  if (!writable(address, sizeof(uint32_t))) return error(Errno::efault);
  int done = user_access_cmpxchg32(raw(address), &expected, desired);
  if (done < 0) return error(Errno::efault);
  return done == 1;
}

}  // namespace nimbus::linux::user
