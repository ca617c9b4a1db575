// Access to program memory. One address space, but a bad pointer from the program must
// become -EFAULT, never a kernel fault. The range check against the program's mappings is a
// fast reject; the copy itself runs on fault-tolerant instructions (kernel/arch/x86_64/
// user_access.S, in the exception table), so a page that another thread unmaps meanwhile,
// a read-only page written, or a fault with interrupts off also end in -EFAULT. Pages not
// yet touched are filled by the fault handler as the copy touches them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.h"
#include "kernel/linux/process.h"
#include "kernel/linux/user_ptr.h"

namespace nimbus::linux::user {

// Fast rejects: the range lies in mappings that allow the access (not a promise that the
// access will succeed: another thread may unmap it).
inline bool readable(UserPtr<const void> p, size_t n) {
  return address_space().check_access(p.address(), n, prot::kRead);
}
inline bool writable(UserPtr<const void> p, size_t n) {
  return address_space().check_access(p.address(), n, prot::kWrite);
}

Result<> copy_from(void* to, UserPtr<const void> from, size_t n);
Result<> copy_to(UserPtr<void> to, const void* from, size_t n);
// Zeroes n bytes of program memory.
Result<> clear(UserPtr<void> to, size_t n);

template <typename T>
Result<T> read(UserPtr<const T> from) {
  T value;
  TRY(copy_from(&value, from, sizeof(T)));
  return value;
}
template <typename T>
Result<T> read(const T* from) {
  return read(UserPtr<const T>(from));
}
template <typename T>
Result<> write(UserPtr<T> to, const T& value) {
  return copy_to(to, &value, sizeof(T));
}
template <typename T>
Result<> write(T* to, const T& value) {
  return copy_to(UserPtr<T>(to), &value, sizeof(T));
}

// Copies a NUL-terminated string of at most size-1 characters; ENAMETOOLONG beyond.
Result<size_t> copy_string(char* to, UserPtr<const char> from, size_t size);

// The atomic operations futexes need, on an aligned word of program memory.
Result<uint32_t> load_u32(UserPtr<const uint32_t> address);
// As load_u32, for a word already checked, read while a spinlock is held: no range check
// (it takes a mutex) and no page fill (it may sleep), so a page gone meanwhile is EFAULT.
Result<uint32_t> load_u32_no_sleep(UserPtr<const uint32_t> address);
// Replaces `expected` with `desired` if the word holds it: true; otherwise false, with the
// word's value in `expected`. EFAULT for a page that cannot be written (read-only included).
Result<bool> compare_exchange_u32(UserPtr<uint32_t> address, uint32_t& expected, uint32_t desired);

}  // namespace nimbus::linux::user
