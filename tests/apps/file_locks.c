// File locks as a program sees them: POSIX record locks (ranges, splits, upgrades, release on
// any close), open file description locks, flock, waits across threads and their errors.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <unistd.h>

static const char* error_name(int e) {
  switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EINTR: return "EINTR";
    case EOVERFLOW: return "EOVERFLOW";
    case EDEADLK: return "EDEADLK";
    case ENOLCK: return "ENOLCK";
    default: return "other";
  }
}

static const char* type_name(int type) {
  switch (type) {
    case F_RDLCK: return "F_RDLCK";
    case F_WRLCK: return "F_WRLCK";
    case F_UNLCK: return "F_UNLCK";
    default: return "?";
  }
}

static int lock_call(int fd, int command, short type, short whence, off_t start, off_t length) {
  struct flock fl = {.l_type = type, .l_whence = whence, .l_start = start, .l_len = length};
  return fcntl(fd, command, &fl) == 0 ? 0 : errno;
}

static void set(const char* what, int fd, int command, short type, off_t start, off_t length) {
  printf("%s: %s\n", what, error_name(lock_call(fd, command, type, SEEK_SET, start, length)));
}

// What F_GETLK / F_OFD_GETLK says about [start, start + length).
static void show(const char* what, int fd, int command, short type, off_t start, off_t length) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = length};
  if (fcntl(fd, command, &fl) != 0) {
    printf("%s: %s\n", what, error_name(errno));
    return;
  }
  if (fl.l_type == F_UNLCK) {
    printf("%s: F_UNLCK\n", what);
    return;
  }
  const char* pid = fl.l_pid == getpid() ? "this process" : fl.l_pid == -1 ? "-1" : "another";
  printf("%s: %s start %lld length %lld whence %d pid %s\n", what, type_name(fl.l_type), (long long)fl.l_start,
         (long long)fl.l_len, fl.l_whence, pid);
}

static void flock_call(const char* what, int fd, int operation) {
  printf("%s: %s\n", what, error_name(flock(fd, operation) == 0 ? 0 : errno));
}

static char path[] = "/tmp/nimbus-file-locks-XXXXXX";

static int open_again(int flags) {
  int fd = open(path, flags);
  if (fd < 0) {
    perror("open");
    exit(1);
  }
  return fd;
}

static void posix_ranges(void) {
  printf("-- POSIX record locks\n");
  int fd1 = open_again(O_RDWR);
  int fd2 = open_again(O_RDWR);
  set("write lock [0,10)", fd1, F_SETLK, F_WRLCK, 0, 10);
  show("own lock through another descriptor", fd2, F_GETLK, F_WRLCK, 0, 0);
  show("seen by an OFD owner", fd2, F_OFD_GETLK, F_WRLCK, 5, 1);
  set("OFD write lock over it", fd2, F_OFD_SETLK, F_WRLCK, 5, 1);
  set("unlock [3,5)", fd1, F_SETLK, F_UNLCK, 3, 2);
  show("first piece", fd2, F_OFD_GETLK, F_WRLCK, 0, 0);
  show("second piece", fd2, F_OFD_GETLK, F_WRLCK, 3, 0);
  set("OFD lock in the hole", fd2, F_OFD_SETLK, F_WRLCK, 3, 2);
  set("OFD unlock", fd2, F_OFD_SETLK, F_UNLCK, 0, 0);
  set("downgrade [0,100) to read", fd1, F_SETLK, F_RDLCK, 0, 100);
  show("read beside a read lock", fd2, F_OFD_GETLK, F_RDLCK, 0, 0);
  show("write beside a read lock", fd2, F_OFD_GETLK, F_WRLCK, 50, 0);
  set("upgrade [40,60)", fd1, F_SETLK, F_WRLCK, 40, 20);
  show("read at 0", fd2, F_OFD_GETLK, F_RDLCK, 0, 0);
  show("write at 0", fd2, F_OFD_GETLK, F_WRLCK, 0, 0);
  show("write at 70", fd2, F_OFD_GETLK, F_WRLCK, 70, 0);
  show("a negative length", fd2, F_OFD_GETLK, F_RDLCK, 60, -30);
  // Closing any descriptor of the file drops the process's locks, even one never locked.
  int fd3 = open_again(O_RDONLY);
  close(fd3);
  show("after closing another descriptor", fd2, F_OFD_GETLK, F_WRLCK, 0, 0);
  set("lock to the end of the file", fd1, F_SETLK, F_WRLCK, 10, 0);
  show("far past the end", fd2, F_OFD_GETLK, F_RDLCK, 1 << 30, 1);
  close(fd1);
  close(fd2);
}

static void ofd_locks(void) {
  printf("-- open file description locks\n");
  int fd1 = open_again(O_RDWR);
  int fd2 = open_again(O_RDWR);
  set("OFD write lock", fd1, F_OFD_SETLK, F_WRLCK, 0, 0);
  set("same description again", fd1, F_OFD_SETLK, F_WRLCK, 100, 10);
  show("seen by POSIX", fd2, F_GETLK, F_RDLCK, 0, 1);
  set("POSIX lock over it", fd2, F_SETLK, F_RDLCK, 0, 1);
  set("other description", fd2, F_OFD_SETLK, F_RDLCK, 0, 1);
  int copy = dup(fd1);
  close(fd1);
  show("after closing one of two descriptors", fd2, F_OFD_GETLK, F_RDLCK, 0, 1);
  close(copy);
  show("after the last close", fd2, F_OFD_GETLK, F_WRLCK, 0, 0);
  close(fd2);
}

static void flock_locks(void) {
  printf("-- flock\n");
  int fd1 = open_again(O_RDWR);
  int fd2 = open_again(O_RDONLY);
  int copy = dup(fd1);
  flock_call("exclusive", fd1, LOCK_EX);
  flock_call("shared elsewhere", fd2, LOCK_SH | LOCK_NB);
  flock_call("exclusive elsewhere", fd2, LOCK_EX | LOCK_NB);
  flock_call("converted through a dup", copy, LOCK_SH);
  flock_call("shared elsewhere now", fd2, LOCK_SH | LOCK_NB);
  flock_call("exclusive again", fd1, LOCK_EX | LOCK_NB);
  set("POSIX locks are separate", fd1, F_SETLK, F_WRLCK, 0, 0);
  set("POSIX unlock", fd1, F_SETLK, F_UNLCK, 0, 0);
  flock_call("unlock elsewhere", fd2, LOCK_UN);
  flock_call("exclusive again", fd1, LOCK_EX | LOCK_NB);
  close(fd1);
  flock_call("held through the dup", fd2, LOCK_SH | LOCK_NB);
  close(copy);
  flock_call("free after the last close", fd2, LOCK_EX | LOCK_NB);
  flock_call("unlock", fd2, LOCK_UN);
  flock_call("unlock when not locked", fd2, LOCK_UN);
  flock_call("no operation", fd2, 0);
  flock_call("two operations", fd2, LOCK_SH | LOCK_EX);
  flock_call("bad descriptor", -1, LOCK_SH);
  close(fd2);
}

static void lock_errors(void) {
  printf("-- errors\n");
  int rw = open_again(O_RDWR);
  int ro = open_again(O_RDONLY);
  int wo = open_again(O_WRONLY);
  printf("write lock, read-only: %s\n", error_name(lock_call(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1)));
  printf("read lock, write-only: %s\n", error_name(lock_call(wo, F_SETLK, F_RDLCK, SEEK_SET, 0, 1)));
  printf("unlock, read-only: %s\n", error_name(lock_call(ro, F_SETLK, F_UNLCK, SEEK_SET, 0, 1)));
  printf("bad whence: %s\n", error_name(lock_call(rw, F_SETLK, F_RDLCK, 7, 0, 1)));
  printf("bad type: %s\n", error_name(lock_call(rw, F_SETLK, 5, SEEK_SET, 0, 1)));
  printf("negative start: %s\n", error_name(lock_call(rw, F_SETLK, F_RDLCK, SEEK_SET, -1, 1)));
  printf("length before 0: %s\n", error_name(lock_call(rw, F_SETLK, F_RDLCK, SEEK_SET, 2, -3)));
  printf("end past OFFSET_MAX: %s\n", error_name(lock_call(rw, F_SETLK, F_RDLCK, SEEK_SET, INT64_MAX, 2)));
  printf("F_GETLK of F_UNLCK: %s\n", error_name(lock_call(rw, F_GETLK, F_UNLCK, SEEK_SET, 0, 1)));
  struct flock with_pid = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_pid = 1};
  printf("OFD with a pid: %s\n", error_name(fcntl(rw, F_OFD_SETLK, &with_pid) == 0 ? 0 : errno));
  printf("bad pointer: %s\n", error_name(fcntl(rw, F_SETLK, (struct flock*)16) == 0 ? 0 : errno));
  printf("bad descriptor: %s\n", error_name(lock_call(99, F_SETLK, F_RDLCK, SEEK_SET, 0, 1)));
  int path_only = open(path, O_PATH);
  printf("O_PATH descriptor: %s\n", error_name(lock_call(path_only, F_SETLK, F_RDLCK, SEEK_SET, 0, 1)));
  printf("flock O_PATH descriptor: %s\n", error_name(flock(path_only, LOCK_SH) == 0 ? 0 : errno));
  // Relative ranges: SEEK_END from the size (4), SEEK_CUR from the position (2).
  lseek(rw, 2, SEEK_SET);
  printf("SEEK_CUR lock: %s\n", error_name(lock_call(rw, F_SETLK, F_WRLCK, SEEK_CUR, 1, 1)));
  printf("SEEK_END lock: %s\n", error_name(lock_call(rw, F_SETLK, F_WRLCK, SEEK_END, -4, 1)));
  show("from SEEK_SET", ro, F_OFD_GETLK, F_RDLCK, 0, 0);
  show("next one", ro, F_OFD_GETLK, F_RDLCK, 1, 0);
  close(path_only);
  close(rw);
  close(ro);
  close(wo);
}

struct holder {
  int fd;
  int use_flock;
  volatile int released;
};

// Holds its lock for a while, then releases it (marking that first).
static void* release_later(void* argument) {
  struct holder* h = argument;
  usleep(100 * 1000);
  h->released = 1;
  if (h->use_flock)
    flock(h->fd, LOCK_UN);
  else
    lock_call(h->fd, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 0);
  return NULL;
}

static void on_alarm(int signal) { (void)signal; }

static void waits(void) {
  printf("-- waits\n");
  int fd1 = open_again(O_RDWR);
  int fd2 = open_again(O_RDWR);
  struct holder h = {fd1, 0, 0};
  set("OFD lock held", fd1, F_OFD_SETLK, F_WRLCK, 0, 0);
  pthread_t thread;
  pthread_create(&thread, NULL, release_later, &h);
  set("F_OFD_SETLKW waits", fd2, F_OFD_SETLKW, F_WRLCK, 0, 10);
  printf("acquired after the release: %d\n", h.released);
  pthread_join(thread, NULL);

  // A signal without SA_RESTART ends the wait with EINTR.
  struct sigaction action = {.sa_handler = on_alarm};
  sigaction(SIGALRM, &action, NULL);
  struct itimerval timer = {.it_value = {0, 100 * 1000}};
  setitimer(ITIMER_REAL, &timer, NULL);
  set("F_OFD_SETLKW interrupted", fd1, F_OFD_SETLKW, F_RDLCK, 5, 1);
  set("F_OFD_SETLK unlock", fd2, F_OFD_SETLK, F_UNLCK, 0, 0);

  struct holder f = {fd1, 1, 0};
  flock_call("flock held", fd1, LOCK_EX);
  pthread_create(&thread, NULL, release_later, &f);
  flock_call("flock waits", fd2, LOCK_SH);
  printf("acquired after the release: %d\n", f.released);
  pthread_join(thread, NULL);
  close(fd1);
  close(fd2);
}

int main(void) {
  int fd = mkstemp(path);
  if (fd < 0) {
    perror("mkstemp");
    return 1;
  }
  if (write(fd, "data", 4) != 4) return 1;
  close(fd);
  posix_ranges();
  ofd_locks();
  flock_locks();
  lock_errors();
  waits();
  unlink(path);
  return 0;
}
