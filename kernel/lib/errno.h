// Linux errno values as a typed enum; only the syscall dispatcher turns them into -errno.
#pragma once

// Lower-case names so they never collide with the <errno.h> macros host builds pull in.
enum class Errno : int {
  eperm = 1,
  enoent = 2,
  esrch = 3,
  eintr = 4,
  eio = 5,
  enxio = 6,
  e2big = 7,
  enoexec = 8,
  ebadf = 9,
  echild = 10,
  eagain = 11,
  enomem = 12,
  eacces = 13,
  efault = 14,
  ebusy = 16,
  eexist = 17,
  exdev = 18,
  enodev = 19,
  enotdir = 20,
  eisdir = 21,
  einval = 22,
  enfile = 23,
  emfile = 24,
  enotty = 25,
  efbig = 27,
  enospc = 28,
  espipe = 29,
  erofs = 30,
  emlink = 31,
  epipe = 32,
  edom = 33,
  erange = 34,
  enametoolong = 36,
  enosys = 38,
  enotempty = 39,
  eloop = 40,
  enodata = 61,
  eoverflow = 75,
  enotsup = 95,
  etimedout = 110,
  // Kernel-internal (never seen by the application): a wait ended by a signal. The syscall
  // exit turns them into EINTR or restarts the call, as Linux does (include/linux/errno.h).
  erestartsys = 512,     // restart if the handler has SA_RESTART (or no handler ran)
  erestartnointr = 513,  // always restart
  erestartnohand = 514,  // restart only if no handler ran
};
