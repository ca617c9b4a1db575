// Linux errno values as a typed enum; only the syscall dispatcher turns them into -errno.
#pragma once

// Lower-case names so they never collide with the <errno.h> macros host builds pull in.
enum class Errno : int {
  eperm = 1,
  enoent = 2,
  eintr = 4,
  eio = 5,
  ebadf = 9,
  eagain = 11,
  enomem = 12,
  efault = 14,
  ebusy = 16,
  eexist = 17,
  einval = 22,
  enospc = 28,
  erange = 34,
  enosys = 38,
  etimedout = 110,
};
