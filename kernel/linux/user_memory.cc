// Checked access to application memory.
#include "kernel/linux/user_memory.h"

namespace nimbus::linux::user {

Result<size_t> copy_string(char* to, const char* from, size_t size) {
  // Page by page, so a string that ends just before an unmapped page is fine.
  size_t n = 0;
  while (n < size) {
    uintptr_t at = reinterpret_cast<uintptr_t>(from + n);
    size_t in_page = 4096 - (at & 4095);
    if (!readable(from + n, 1)) return error(Errno::efault);
    for (size_t i = 0; i < in_page && n < size; i++, n++) {
      to[n] = from[n];
      if (to[n] == '\0') return n;
    }
  }
  return error(Errno::enametoolong);
}

}  // namespace nimbus::linux::user
