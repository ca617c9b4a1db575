// The system calls glibc no longer makes for its own wrappers (open, stat, pipe, select, fork,
// epoll_create, eventfd, ...) and the *at and newer variants that no other app reaches, each made
// directly with syscall(2) and its result printed, so the host and Nimbus can be compared.
// Printed: values (sizes, modes, counts, errno names) that are the same on any Linux; where a
// value depends on the machine (a uid, a file system type) the check compares two calls that
// must agree and prints whether they do.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char* errno_name(int error) {
  switch (error) {
    case 0: return "0";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENOTDIR: return "ENOTDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    default: return strerror(error);
  }
}

// "name: result" or "name: -1 ERRNO".
static long show(const char* name, long result) {
  if (result < 0)
    printf("%s: -1 %s\n", name, errno_name(errno));
  else
    printf("%s: %ld\n", name, result);
  return result;
}

static void show_mode(const char* name, const char* path) {
  struct stat st;
  if (syscall(SYS_lstat, path, &st) != 0) {
    printf("%s: lstat failed %s\n", name, errno_name(errno));
    return;
  }
  printf("%s: mode %04o size %lld\n", name, (unsigned)(st.st_mode & 07777), (long long)st.st_size);
}

int main(void) {
  char dir[] = "/tmp/nimbus-variants-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  if (chdir(dir) != 0) {
    perror("chdir");
    return 1;
  }
  setvbuf(stdout, NULL, _IONBF, 0);

  // umask: the old mask comes back; a new file takes it off its mode.
  syscall(SYS_umask, 027);
  printf("umask returns the old mask: %03lo\n", (unsigned long)syscall(SYS_umask, 022));

  // open, and the classic stat family.
  int fd = (int)syscall(SYS_open, "file", O_CREAT | O_RDWR | O_EXCL, 0666);
  printf("open O_CREAT: a descriptor %d\n", fd >= 0);
  show("open O_EXCL again", syscall(SYS_open, "file", O_CREAT | O_RDWR | O_EXCL, 0666));
  show("write", write(fd, "hello world", 11));
  struct stat by_path, by_fd;
  show("stat", syscall(SYS_stat, "file", &by_path));
  show("fstat", syscall(SYS_fstat, fd, &by_fd));
  printf("stat: size %lld mode %04o regular %d; fstat is the same file: %d\n",
         (long long)by_path.st_size, (unsigned)(by_path.st_mode & 07777), S_ISREG(by_path.st_mode),
         by_path.st_ino == by_fd.st_ino && by_path.st_dev == by_fd.st_dev);
  show("stat missing", syscall(SYS_stat, "missing", &by_path));
  show("symlinkat", syscall(SYS_symlinkat, "file", AT_FDCWD, "link"));
  struct stat link_stat;
  show("lstat", syscall(SYS_lstat, "link", &link_stat));
  printf("lstat: symlink %d size %lld\n", S_ISLNK(link_stat.st_mode), (long long)link_stat.st_size);
  char target[64] = {0};
  long n = show("readlinkat", syscall(SYS_readlinkat, AT_FDCWD, "link", target, sizeof target - 1));
  if (n > 0) printf("readlinkat: %.*s\n", (int)n, target);
  show("readlinkat on a file", syscall(SYS_readlinkat, AT_FDCWD, "file", target, sizeof target));

  // statx: what stat says, through the newer call.
  struct statx sx;
  show("statx", syscall(SYS_statx, AT_FDCWD, "file", 0, STATX_SIZE | STATX_MODE, &sx));
  printf("statx: size %llu mode %04o\n", (unsigned long long)sx.stx_size, (unsigned)(sx.stx_mode & 07777));

  // preadv: two buffers from offset 1.
  char a[4] = {0}, b[4] = {0};
  struct iovec iov[2] = {{a, 3}, {b, 3}};
  show("preadv", syscall(SYS_preadv, fd, iov, 2, 1, 0));
  printf("preadv: '%s' '%s'\n", a, b);

  // truncate, then the modes: chmod, fchmod, fchmodat.
  show("truncate", syscall(SYS_truncate, "file", 3));
  show_mode("after truncate", "file");
  show("chmod", syscall(SYS_chmod, "file", 0600));
  show_mode("after chmod", "file");
  show("fchmod", syscall(SYS_fchmod, fd, 0640));
  show_mode("after fchmod", "file");
  show("fchmodat", syscall(SYS_fchmodat, AT_FDCWD, "file", 0604));
  show_mode("after fchmodat", "file");
  show("chmod missing", syscall(SYS_chmod, "missing", 0600));

  // Owners: -1 keeps each; giving a file to its own owner is allowed to anyone.
  show("chown -1 -1", syscall(SYS_chown, "file", -1, -1));
  show("fchown to the owner", syscall(SYS_fchown, fd, by_fd.st_uid, by_fd.st_gid));
  show("lchown -1 -1", syscall(SYS_lchown, "link", -1, -1));
  show("fchownat -1 -1", syscall(SYS_fchownat, AT_FDCWD, "file", -1, -1, 0));
  show("chown missing", syscall(SYS_chown, "missing", -1, -1));

  // access checks.
  show("faccessat F_OK", syscall(SYS_faccessat, AT_FDCWD, "file", F_OK));
  show("faccessat missing", syscall(SYS_faccessat, AT_FDCWD, "missing", F_OK));
  show("faccessat2 AT_EACCESS", syscall(SYS_faccessat2, AT_FDCWD, "file", R_OK, AT_EACCESS));
  show("faccessat2 bad flag", syscall(SYS_faccessat2, AT_FDCWD, "file", F_OK, 0x40000000));

  // utimensat: a fixed time comes back from stat.
  struct timespec times[2] = {{1000000000, 5}, {1234567890, 123456789}};
  show("utimensat", syscall(SYS_utimensat, AT_FDCWD, "file", times, 0));
  syscall(SYS_stat, "file", &by_path);
  printf("utimensat: mtime %lld.%09ld\n", (long long)by_path.st_mtim.tv_sec, by_path.st_mtim.tv_nsec);

  // Directories: mkdirat, renameat, renameat2, unlinkat, fchdir.
  show("mkdirat", syscall(SYS_mkdirat, AT_FDCWD, "sub", 0755));
  show("mkdirat again", syscall(SYS_mkdirat, AT_FDCWD, "sub", 0755));
  struct stat sub_stat;
  syscall(SYS_stat, "sub", &sub_stat);
  printf("sub: directory %d mode %04o\n", S_ISDIR(sub_stat.st_mode), (unsigned)(sub_stat.st_mode & 07777));
  show("renameat", syscall(SYS_renameat, AT_FDCWD, "file", AT_FDCWD, "sub/moved"));
  show("renameat2 RENAME_NOREPLACE onto a file",
       syscall(SYS_renameat2, AT_FDCWD, "link", AT_FDCWD, "sub/moved", 1 /* RENAME_NOREPLACE */));
  show("renameat2 RENAME_NOREPLACE", syscall(SYS_renameat2, AT_FDCWD, "link", AT_FDCWD, "sub/link", 1));
  show("unlinkat a non-empty directory", syscall(SYS_unlinkat, AT_FDCWD, "sub", AT_REMOVEDIR));
  int sub = (int)syscall(SYS_open, "sub", O_RDONLY | O_DIRECTORY);
  show("fchdir", syscall(SYS_fchdir, sub));
  show("fchdir on a file", syscall(SYS_fchdir, fd));
  char cwd[256];
  if (getcwd(cwd, sizeof cwd)) printf("fchdir: now in %s\n", strrchr(cwd, '/'));
  show("unlinkat a file", syscall(SYS_unlinkat, AT_FDCWD, "moved", 0));
  show("unlinkat a symlink", syscall(SYS_unlinkat, AT_FDCWD, "link", 0));
  show("unlinkat missing", syscall(SYS_unlinkat, AT_FDCWD, "missing", AT_REMOVEDIR));
  show("mknod a FIFO", syscall(SYS_mknod, "fifo", S_IFIFO | 0600, 0));
  struct stat fifo;
  syscall(SYS_stat, "fifo", &fifo);
  printf("mknod: fifo %d\n", S_ISFIFO(fifo.st_mode));
  unlink("fifo");
  chdir(dir);
  show("unlinkat an empty directory", syscall(SYS_unlinkat, AT_FDCWD, "sub", AT_REMOVEDIR));
  close(sub);

  // statfs and fstatfs of one file system agree.
  struct statfs by_name, by_descriptor;
  show("statfs", syscall(SYS_statfs, ".", &by_name));
  show("fstatfs", syscall(SYS_fstatfs, fd, &by_descriptor));
  printf("statfs and fstatfs agree: type %d block size %d\n", by_name.f_type == by_descriptor.f_type,
         by_name.f_bsize == by_descriptor.f_bsize && by_name.f_bsize > 0);

  // pipe, select, ppoll.
  int p[2];
  show("pipe", syscall(SYS_pipe, p));
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(p[0], &readable);
  struct timeval zero = {0, 0};
  show("select on an empty pipe", syscall(SYS_select, p[0] + 1, &readable, NULL, NULL, &zero));
  write(p[1], "x", 1);
  FD_SET(p[0], &readable);
  zero.tv_sec = 0;
  zero.tv_usec = 0;
  show("select with a byte", syscall(SYS_select, p[0] + 1, &readable, NULL, NULL, &zero));
  printf("select: readable %d\n", FD_ISSET(p[0], &readable) != 0);
  struct pollfd pfd = {p[0], POLLIN, 0};
  struct timespec no_wait = {0, 0};
  show("ppoll", syscall(SYS_ppoll, &pfd, 1, &no_wait, NULL, 8));
  printf("ppoll: revents %#x\n", pfd.revents);

  // epoll_create, epoll_pwait, epoll_pwait2.
  show("epoll_create 0", syscall(SYS_epoll_create, 0));
  int ep = (int)syscall(SYS_epoll_create, 1);
  printf("epoll_create 1: a descriptor %d\n", ep >= 0);
  struct epoll_event interest = {EPOLLIN, {.u64 = 77}}, got = {0, {0}};
  epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &interest);
  show("epoll_pwait", syscall(SYS_epoll_pwait, ep, &got, 1, 0, NULL, 8));
  printf("epoll_pwait: events %#x data %llu\n", got.events, (unsigned long long)got.data.u64);
  got.events = 0;
  show("epoll_pwait2", syscall(SYS_epoll_pwait2, ep, &got, 1, &no_wait, NULL, 8));
  printf("epoll_pwait2: events %#x\n", got.events);
  show("epoll_pwait2 bad timeout",
       syscall(SYS_epoll_pwait2, ep, &got, 1, &(struct timespec){0, 2000000000}, NULL, 8));

  // dup3 and close_range.
  show("dup3", syscall(SYS_dup3, p[0], 50, O_CLOEXEC));
  printf("dup3: close-on-exec %d\n", fcntl(50, F_GETFD) & FD_CLOEXEC);
  show("dup3 onto itself", syscall(SYS_dup3, 50, 50, 0));
  dup2(p[0], 60);
  dup2(p[0], 61);
  dup2(p[0], 62);
  show("close_range", syscall(SYS_close_range, 60, 61, 0));
  printf("close_range: 60 %d 61 %d 62 %d\n", fcntl(60, F_GETFD) >= 0, fcntl(61, F_GETFD) >= 0,
         fcntl(62, F_GETFD) >= 0);
  show("close_range backwards", syscall(SYS_close_range, 62, 60, 0));

  // eventfd and signalfd (the old calls, without flags).
  int efd = (int)syscall(SYS_eventfd, 5);
  uint64_t count = 0;
  show("eventfd read", read(efd, &count, sizeof count));
  printf("eventfd: %llu\n", (unsigned long long)count);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);
  int sfd = (int)syscall(SYS_signalfd, -1, &usr1, 8);
  raise(SIGUSR1);
  struct signalfd_siginfo info;
  show("signalfd read", read(sfd, &info, sizeof info));
  printf("signalfd: signal %u\n", info.ssi_signo);

  // fork: the child's status reaches its parent.
  long child = syscall(SYS_fork);
  if (child == 0) _exit(7);
  int status = 0;
  waitpid((pid_t)child, &status, 0);
  printf("fork: child exited %d with %d\n", WIFEXITED(status), WEXITSTATUS(status));

  // Time: nanosleep, gettimeofday and time agree.
  struct timespec short_sleep = {0, 1000000}, left = {9, 9};
  show("nanosleep", syscall(SYS_nanosleep, &short_sleep, &left));
  show("nanosleep bad", syscall(SYS_nanosleep, &(struct timespec){0, 1000000000}, NULL));
  struct timeval now;
  show("gettimeofday", syscall(SYS_gettimeofday, &now, NULL));
  long seconds = syscall(SYS_time, NULL);
  printf("gettimeofday and time agree: %d\n", seconds - now.tv_sec >= 0 && seconds - now.tv_sec <= 1);

  // Identity: values depend on the machine; the calls that report one thing must agree.
  gid_t rgid, egid, sgid;
  show("getresgid", syscall(SYS_getresgid, &rgid, &egid, &sgid));
  printf("getegid is getresgid's effective id: %d\n", (gid_t)syscall(SYS_getegid) == egid);
  printf("getpgrp is getpgid(0): %d\n", syscall(SYS_getpgrp) == syscall(SYS_getpgid, 0));
  struct utsname names;
  show("uname", syscall(SYS_uname, &names));
  printf("uname: %s %s\n", names.sysname, names.machine);

  // Durability: each sync call succeeds on a file, and a closed descriptor is EBADF.
  show("fsync", syscall(SYS_fsync, fd));
  show("fdatasync", syscall(SYS_fdatasync, fd));
  show("syncfs", syscall(SYS_syncfs, fd));
  show("sync", syscall(SYS_sync));
  show("fsync bad", syscall(SYS_fsync, 999));

  // vmsplice into a pipe, tee it to a second pipe, splice the first into the file.
  int first[2], second[2];
  if (pipe(first) != 0 || pipe(second) != 0) {
    perror("pipe");
    return 1;
  }
  struct iovec gift = {(void*)"spliced", 7};
  show("vmsplice", syscall(SYS_vmsplice, first[1], &gift, 1, 0));
  show("tee", syscall(SYS_tee, first[0], second[1], 7, 0));
  loff_t at = 0;
  show("splice to the file", syscall(SYS_splice, first[0], NULL, fd, &at, 7, 0));
  printf("splice: offset now %lld\n", (long long)at);
  char copied[8] = {0};
  show("read the tee's copy", read(second[0], copied, 7));
  printf("tee: '%s'\n", copied);
  show("pread the spliced bytes", pread(fd, copied, 7, 0));
  printf("splice: '%s'\n", copied);
  show("splice between two files", syscall(SYS_splice, fd, NULL, fd, NULL, 1, 0));
  close(first[0]);
  close(first[1]);
  close(second[0]);
  close(second[1]);

  close(fd);
  unlink("file");

  /* sched_setattr/sched_getattr (struct sched_attr, 56 bytes; a forked child has its own). */
  {
    uint32_t attr[14] = {0};
    show("sched_getattr", syscall(SYS_sched_getattr, 0, attr, sizeof attr, 0));
    printf("sched_getattr: size %u policy %u nice %d\n", attr[0], attr[1], (int)attr[4]);
    uint32_t small[14] = {12};
    show("sched_setattr with size 12", syscall(SYS_sched_setattr, 0, small, 0));
    printf("sched_setattr wrote back size %u\n", small[0]);
    show("sched_setattr with a flag", syscall(SYS_sched_setattr, 0, attr, 2));
    pid_t child = fork();
    if (child == 0) {
      pause();
      _exit(0);
    }
    uint32_t batch[14] = {56, 3 /* SCHED_BATCH */, 0, 0, 5 /* nice */};
    show("sched_setattr(child, SCHED_BATCH, nice 5)", syscall(SYS_sched_setattr, child, batch, 0));
    uint32_t got[14] = {0};
    syscall(SYS_sched_getattr, child, got, sizeof got, 0);
    printf("child: policy %u nice %d\n", got[1], (int)got[4]);
    syscall(SYS_sched_getattr, 0, got, sizeof got, 0);
    printf("parent: policy %u nice %d\n", got[1], (int)got[4]);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
  }
  chdir("/");
  show("rmdir the scratch directory", syscall(SYS_unlinkat, AT_FDCWD, dir, AT_REMOVEDIR));
  return 0;
}
