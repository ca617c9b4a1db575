// Files, for now only the console on descriptors 0-2 (the file layer replaces this).
#include "kernel/drivers/serial.h"
#include "kernel/drivers/serial_input.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::linux {
namespace {
Spinlock g_console_lock;
constexpr unsigned long kTcgets = 0x5401;
constexpr unsigned long kTiocgwinsz = 0x5413;
}  // namespace

Result<long> sys_write(int fd, const void* buffer, size_t count) {
  if (fd != 1 && fd != 2) return error(Errno::ebadf);
  if (!user::readable(buffer, count)) return error(Errno::efault);
  SpinlockGuard guard(g_console_lock);
  serial::write(static_cast<const char*>(buffer), count);
  return static_cast<long>(count);
}

Result<long> sys_read(int fd, void* buffer, size_t count) {
  if (fd != 0) return error(Errno::ebadf);
  if (!user::writable(buffer, count)) return error(Errno::efault);
  // Bytes land in a kernel buffer first: the application's pages may not be resident.
  uint8_t chunk[512];
  size_t n = serial_input::read(std::span<uint8_t>(chunk, count < sizeof(chunk) ? count : sizeof(chunk)), false);
  TRY(user::copy_to(buffer, chunk, n));
  return static_cast<long>(n);
}

Result<long> sys_writev(int fd, const IoVec* vectors, int count) {
  if (count < 0 || count > 1024) return error(Errno::einval);
  long total = 0;
  for (int i = 0; i < count; i++) {
    IoVec v = TRY(user::read(vectors + i));
    total += TRY(sys_write(fd, v.base, v.length));
  }
  return total;
}

Result<long> sys_ioctl(int fd, unsigned long request, uintptr_t) {
  if (fd < 0 || fd > 2) return error(Errno::ebadf);
  if (request == kTcgets || request == kTiocgwinsz) return error(Errno::enotty);
  return error(Errno::enotty);
}

}  // namespace nimbus::linux
