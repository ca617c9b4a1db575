// What language runtimes lean on, as a program sees it: futex wake counts and argument checks,
// robust mutexes whose owner exits (EOWNERDEAD), sigaltstack with SS_AUTODISARM, select's
// remaining time, CPU-time clocks, RLIMIT_NOFILE, O_TMPFILE and getrandom's flags.
// With the argument "kill-all" it only tries kill(-1, SIGKILL), which must not kill the caller
// (never run that on a host: there it kills every other process); with "stop-signals" it
// raises SIGTSTP, SIGTTIN and SIGTTOU (which would stop it on a host with job control).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)  // linux/signal.h, not in glibc 2.36's headers
#endif

static const char* error_name(int e) {
  switch (e) {
    case 0: return "ok";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case EAGAIN: return "EAGAIN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EPERM: return "EPERM";
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    case ESRCH: return "ESRCH";
    case ENOENT: return "ENOENT";
    case EOWNERDEAD: return "EOWNERDEAD";
    case EINTR: return "EINTR";
    case EBADF: return "EBADF";
    case ESPIPE: return "ESPIPE";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    case ENXIO: return "ENXIO";
    case ENOSPC: return "ENOSPC";
    default: return "other";
  }
}

static long futex(uint32_t* word, int op, uint32_t value, const struct timespec* timeout, uint32_t* word2,
                  uint32_t value3) {
  return syscall(SYS_futex, word, op, value, timeout, word2, value3);
}

static const char* futex_result(long r) { return r < 0 ? error_name(errno) : "ok"; }

static uint32_t word;
static volatile int waiters_done;

static void* wait_on_word(void* argument) {
  (void)argument;
  futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
  __atomic_add_fetch(&waiters_done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void futexes(void) {
  printf("-- futex\n");
  pthread_t threads[2];
  for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, wait_on_word, NULL);
  // Wake with a count of 0 until both waiters are gone: each call wakes one, as Linux does.
  long total = 0;
  for (int tries = 0; tries < 2000 && total < 2; tries++) {
    long woken = futex(&word, FUTEX_WAKE_PRIVATE, 0, NULL, NULL, 0);
    if (woken > 1) printf("woke %ld at once\n", woken);
    total += woken;
    usleep(1000);
  }
  for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
  printf("woken by counts of 0: %ld\n", total);

  struct timespec short_wait = {0, 20 * 1000 * 1000};
  printf("timed wait: %s\n", futex_result(futex(&word, FUTEX_WAIT_PRIVATE, 0, &short_wait, NULL, 0)));
  printf("value differs: %s\n", futex_result(futex(&word, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0)));
  printf("unaligned wake: %s\n",
         futex_result(futex((uint32_t*)((char*)&word + 1), FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)));
  printf("unaligned wait: %s\n",
         futex_result(futex((uint32_t*)((char*)&word + 1), FUTEX_WAIT_PRIVATE, 0, &short_wait, NULL, 0)));
  printf("CLOCK_REALTIME with FUTEX_WAIT: %s\n",
         futex_result(futex(&word, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 0, &short_wait, NULL, 0)));
  printf("negative requeue count: %s\n",
         futex_result(futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (struct timespec*)(intptr_t)-1, &word, 0)));
  printf("bitset 0: %s\n", futex_result(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, 0)));
  printf("unknown operation: %s\n", futex_result(futex(&word, 99, 0, NULL, NULL, 0)));
  struct timespec bad = {0, 1000 * 1000 * 1000};
  printf("bad timeout: %s\n", futex_result(futex(&word, FUTEX_WAIT_PRIVATE, 0, &bad, NULL, 0)));
}

static pthread_mutex_t robust;

static void* lock_and_exit(void* argument) {
  (void)argument;
  pthread_mutex_lock(&robust);
  return NULL;  // exits holding the mutex
}

static void robust_mutexes(void) {
  printf("-- robust mutex\n");
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&robust, &attributes);
  pthread_t thread;
  pthread_create(&thread, NULL, lock_and_exit, NULL);
  pthread_join(thread, NULL);
  int r = pthread_mutex_lock(&robust);
  printf("lock after the owner exited: %s\n", error_name(r));
  if (r == EOWNERDEAD) printf("consistent: %s\n", error_name(pthread_mutex_consistent(&robust)));
  printf("unlock: %s\n", error_name(pthread_mutex_unlock(&robust)));
  printf("lock again: %s\n", error_name(pthread_mutex_lock(&robust)));
  pthread_mutex_unlock(&robust);
}

static char alternate[64 * 1024];
static volatile int on_alternate;
static volatile int handler_flags;

static void on_usr1(int signal) {
  (void)signal;
  char here;
  on_alternate = &here >= alternate && &here < alternate + sizeof(alternate);
  stack_t now;
  sigaltstack(NULL, &now);
  handler_flags = now.ss_flags;
}

static void alternate_stacks(void) {
  printf("-- sigaltstack\n");
  stack_t old;
  sigaltstack(NULL, &old);
  printf("initially: flags %d size %zu\n", old.ss_flags, old.ss_size);
  stack_t bad = {.ss_sp = alternate, .ss_size = sizeof(alternate), .ss_flags = 4};
  printf("unknown flag: %s\n", error_name(sigaltstack(&bad, NULL) == 0 ? 0 : errno));
  stack_t small = {.ss_sp = alternate, .ss_size = 1024, .ss_flags = 0};
  printf("too small: %s\n", error_name(sigaltstack(&small, NULL) == 0 ? 0 : errno));
  stack_t stack = {.ss_sp = alternate, .ss_size = sizeof(alternate), .ss_flags = SS_AUTODISARM};
  printf("SS_AUTODISARM: %s\n", error_name(sigaltstack(&stack, NULL) == 0 ? 0 : errno));
  sigaltstack(NULL, &old);
  printf("reads back: flags %#x size %zu\n", (unsigned)old.ss_flags, old.ss_size);
  struct sigaction action = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK};
  sigaction(SIGUSR1, &action, NULL);
  raise(SIGUSR1);
  printf("handler on the alternate stack: %d, flags there %#x\n", on_alternate, (unsigned)handler_flags);
  sigaltstack(NULL, &old);
  printf("after the handler: flags %#x size %zu\n", (unsigned)old.ss_flags, old.ss_size);
  stack_t onstack = {.ss_sp = alternate, .ss_size = sizeof(alternate), .ss_flags = SS_ONSTACK};
  printf("SS_ONSTACK: %s\n", error_name(sigaltstack(&onstack, NULL) == 0 ? 0 : errno));
  raise(SIGUSR1);
  printf("handler on the alternate stack: %d, flags there %#x\n", on_alternate, (unsigned)handler_flags);
  stack_t off = {.ss_flags = SS_DISABLE};
  printf("SS_DISABLE: %s\n", error_name(sigaltstack(&off, NULL) == 0 ? 0 : errno));
  sigaltstack(NULL, &old);
  printf("disabled: flags %d size %zu\n", old.ss_flags, old.ss_size);
}

static void on_alarm(int signal) { (void)signal; }

static void select_time(void) {
  printf("-- select\n");
  struct timeval timeout = {0, 30 * 1000};
  int r = select(0, NULL, NULL, NULL, &timeout);
  printf("select: %d, left %ld.%06ld\n", r, (long)timeout.tv_sec, (long)timeout.tv_usec);
  struct sigaction action = {.sa_handler = on_alarm};
  sigaction(SIGALRM, &action, NULL);
  ualarm(50 * 1000, 0);
  struct timeval longer = {5, 0};
  r = select(0, NULL, NULL, NULL, &longer);
  int e = errno;
  printf("interrupted: %d %s, some time left %d, less than given %d\n", r, error_name(r < 0 ? e : 0),
         longer.tv_sec > 0 || longer.tv_usec > 0, longer.tv_sec < 5);
  struct timespec spec = {0, 20 * 1000 * 1000};
  r = (int)syscall(SYS_pselect6, 0, NULL, NULL, NULL, &spec, NULL);
  printf("pselect6: %d, left %ld.%09ld\n", r, (long)spec.tv_sec, spec.tv_nsec);
}

static volatile int spinner_started;

static void* spin_briefly(void* argument) {
  (void)argument;
  spinner_started = 1;
  volatile unsigned long x = 0;
  for (unsigned long i = 0; i < 20 * 1000 * 1000; i++) x += i;
  return NULL;
}

static void cpu_clocks(void) {
  printf("-- CPU-time clocks\n");
  pthread_t thread;
  pthread_create(&thread, NULL, spin_briefly, NULL);
  while (!spinner_started) sched_yield();
  clockid_t thread_clock, process_clock, self_clock;
  printf("pthread_getcpuclockid: %s\n", error_name(pthread_getcpuclockid(thread, &thread_clock)));
  printf("clock_getcpuclockid: %s\n", error_name(clock_getcpuclockid(0, &process_clock)));
  pthread_getcpuclockid(pthread_self(), &self_clock);
  struct timespec t;
  printf("thread clock: %s\n", error_name(clock_gettime(thread_clock, &t) == 0 ? 0 : errno));
  printf("process clock: %s\n", error_name(clock_gettime(process_clock, &t) == 0 ? 0 : errno));
  printf("own thread clock: %s\n", error_name(clock_gettime(self_clock, &t) == 0 ? 0 : errno));
  struct timespec resolution;
  printf("resolution of the thread clock: %s ", error_name(clock_getres(thread_clock, &resolution) == 0 ? 0 : errno));
  printf("%ld.%09ld\n", (long)resolution.tv_sec, resolution.tv_nsec);
  printf("resolution of the process clock: %s ",
         error_name(clock_getres(process_clock, &resolution) == 0 ? 0 : errno));
  printf("%ld.%09ld\n", (long)resolution.tv_sec, resolution.tv_nsec);
  pthread_join(thread, NULL);
  printf("an fd clock: %s\n", error_name(clock_gettime((clockid_t)((~3u << 3) | 3), &t) == 0 ? 0 : errno));
  printf("another process: %s\n", error_name(clock_gettime((clockid_t)(~0x7ffffffu << 3 | 2), &t) == 0 ? 0 : errno));
  struct timespec nap = {0, 1000};
  printf("sleep on a thread clock: %s\n", error_name(clock_nanosleep(self_clock, 0, &nap, NULL)));
}

static void descriptor_limit(void) {
  printf("-- RLIMIT_NOFILE\n");
  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  struct rlimit raised = {4096, limit.rlim_max > 4096 ? limit.rlim_max : 4096};
  printf("raise to 4096: %s\n", error_name(setrlimit(RLIMIT_NOFILE, &raised) == 0 ? 0 : errno));
  printf("dup to 3000: %s\n", error_name(dup2(1, 3000) == 3000 ? 0 : errno));
  printf("F_DUPFD from 4000: %s\n", error_name(fcntl(1, F_DUPFD, 4000) >= 4000 ? 0 : errno));
  printf("dup to 5000: %s\n", error_name(dup2(1, 5000) == 5000 ? 0 : errno));
  close(3000);
  struct rlimit lowered = {64, raised.rlim_max};
  setrlimit(RLIMIT_NOFILE, &lowered);
  printf("F_DUPFD from 100 under 64: %s\n", error_name(fcntl(1, F_DUPFD, 100) >= 0 ? 0 : errno));
  struct rlimit too_high = {64, (1ul << 20) + 1};
  printf("hard limit past nr_open: %s\n", error_name(setrlimit(RLIMIT_NOFILE, &too_high) == 0 ? 0 : errno));
  setrlimit(RLIMIT_NOFILE, &limit);
}

static void temporary_files(void) {
  printf("-- O_TMPFILE\n");
  int fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
  printf("open: %s\n", error_name(fd >= 0 ? 0 : errno));
  if (fd < 0) return;
  printf("write: %zd\n", write(fd, "scratch", 7));
  struct stat s;
  fstat(fd, &s);
  printf("links %lu, mode %o, size %ld\n", (unsigned long)s.st_nlink, s.st_mode & 07777, (long)s.st_size);
  char name[64];
  snprintf(name, sizeof(name), "/tmp/runtime-support-%d", getpid());
  printf("linkat: %s\n", error_name(linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH) == 0 ? 0 : errno));
  stat(name, &s);
  printf("named: links %lu size %ld\n", (unsigned long)s.st_nlink, (long)s.st_size);
  unlink(name);
  close(fd);
  printf("read-only: %s\n", error_name(open("/tmp", O_TMPFILE | O_RDONLY) >= 0 ? 0 : errno));
  printf("with O_CREAT: %s\n", error_name(open("/tmp", O_TMPFILE | O_CREAT | O_RDWR, 0600) >= 0 ? 0 : errno));
  printf("in a missing directory: %s\n", error_name(open("/tmp/missing-dir", O_TMPFILE | O_RDWR, 0600) >= 0 ? 0 : errno));
}

static void random_flags(void) {
  printf("-- getrandom\n");
  char buffer[16];
  printf("no flags: %zd\n", getrandom(buffer, sizeof(buffer), 0));
  printf("GRND_NONBLOCK: %zd\n", getrandom(buffer, sizeof(buffer), GRND_NONBLOCK));
  printf("GRND_INSECURE: %zd\n", getrandom(buffer, sizeof(buffer), GRND_INSECURE));
  ssize_t r = getrandom(buffer, sizeof(buffer), GRND_INSECURE | GRND_RANDOM);
  printf("GRND_INSECURE|GRND_RANDOM: %zd %s\n", r, error_name(r < 0 ? errno : 0));
  r = getrandom(buffer, sizeof(buffer), 8);
  printf("unknown flag: %zd %s\n", r, error_name(r < 0 ? errno : 0));
}

static void small_calls(void) {
  printf("-- creat, mknod, fadvise64\n");
  char name[64];
  snprintf(name, sizeof(name), "/tmp/runtime-support-creat-%d", getpid());
  int fd = creat(name, 0640);
  printf("creat: %s, write-only %d\n", error_name(fd >= 0 ? 0 : errno), (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY);
  printf("write: %zd\n", write(fd, "abc", 3));
  printf("fadvise: %d\n", posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
  printf("fadvise bad advice: %s\n", error_name(posix_fadvise(fd, 0, 0, 77)));
  printf("fadvise negative length: %s\n", error_name(posix_fadvise(fd, 0, -1, POSIX_FADV_NORMAL)));
  printf("fadvise bad descriptor: %s\n", error_name(posix_fadvise(-1, 0, 0, POSIX_FADV_NORMAL)));
  close(fd);
  fd = creat(name, 0640);
  struct stat s;
  fstat(fd, &s);
  printf("creat truncates: size %ld\n", (long)s.st_size);
  close(fd);
  unlink(name);
  int pipe_ends[2];
  if (pipe(pipe_ends) == 0) {
    printf("fadvise on a pipe: %s\n", error_name(posix_fadvise(pipe_ends[0], 0, 0, POSIX_FADV_NORMAL)));
    close(pipe_ends[0]);
    close(pipe_ends[1]);
  }

  snprintf(name, sizeof(name), "/tmp/runtime-support-fifo-%d", getpid());
  printf("mkfifo: %s\n", error_name(mkfifo(name, 0600) == 0 ? 0 : errno));
  stat(name, &s);
  printf("is a FIFO: %d, mode %o\n", S_ISFIFO(s.st_mode), s.st_mode & 0777);
  int reader = open(name, O_RDONLY | O_NONBLOCK);
  int writer = open(name, O_WRONLY);
  printf("write: %zd\n", write(writer, "through", 7));
  char buffer[16] = {0};
  printf("read: %zd %s\n", read(reader, buffer, sizeof(buffer)), buffer);
  printf("fadvise on a FIFO: %s\n", error_name(posix_fadvise(reader, 0, 0, POSIX_FADV_NORMAL)));
  close(reader);
  close(writer);
  printf("mkfifo again: %s\n", error_name(mkfifo(name, 0600) == 0 ? 0 : errno));
  printf("non-blocking writer without a reader: %s\n",
         error_name(open(name, O_WRONLY | O_NONBLOCK) >= 0 ? 0 : errno));
  // Both ends opened blocking: each open waits for the other, so both must count themselves
  // before waiting (this open hung forever when they did not).
  fflush(stdout);
  pid_t fifo_writer = fork();
  if (fifo_writer == 0) {
    int end = open(name, O_WRONLY);
    _exit(end >= 0 && write(end, "met", 3) == 3 ? 0 : 1);
  }
  reader = open(name, O_RDONLY);
  memset(buffer, 0, sizeof(buffer));
  printf("blocking reader and writer: read %zd %s\n", read(reader, buffer, sizeof(buffer) - 1), buffer);
  int fifo_status = 0;
  waitpid(fifo_writer, &fifo_status, 0);
  printf("writer exit status %d, then read %zd\n", WEXITSTATUS(fifo_status), read(reader, buffer, sizeof(buffer)));
  close(reader);
  unlink(name);
  printf("mknod regular: %s\n", error_name(mknod(name, S_IFREG | 0600, 0) == 0 ? 0 : errno));
  stat(name, &s);
  printf("is regular: %d\n", S_ISREG(s.st_mode));
  unlink(name);
  printf("mknod directory: %s\n", error_name(mknod(name, S_IFDIR | 0700, 0) == 0 ? 0 : errno));
  printf("mknodat in a missing directory: %s\n",
         error_name(mknodat(AT_FDCWD, "/tmp/missing-dir/x", S_IFIFO | 0600, 0) == 0 ? 0 : errno));

  printf("-- capabilities\n");
  struct {
    uint32_t version;
    int pid;
  } header = {0, 0};
  struct {
    uint32_t effective, permitted, inheritable;
  } data[2];
  long r = syscall(SYS_capget, &header, NULL);
  printf("version probe: %ld, version %#x\n", r, header.version);
  header.version = 0x20080522;
  r = syscall(SYS_capget, &header, data);
  printf("capget: %ld, CAP_CHOWN %d CAP_KILL %d CAP_NET_RAW %d CAP_SYS_ADMIN %d\n", r, data[0].effective & 1,
         (data[0].effective >> 5) & 1, (data[0].effective >> 13) & 1, (data[0].effective >> 21) & 1);
  data[0].effective &= ~(1u << 13);
  printf("capset dropping CAP_NET_RAW: %ld\n", syscall(SYS_capset, &header, data));
  syscall(SYS_capget, &header, data);
  printf("CAP_NET_RAW now %d, permitted %d\n", (data[0].effective >> 13) & 1, (data[0].permitted >> 13) & 1);
  data[0].permitted &= ~(1u << 13);
  printf("capset dropping it from permitted: %ld\n", syscall(SYS_capset, &header, data));
  data[0].effective |= 1u << 13;
  r = syscall(SYS_capset, &header, data);
  printf("capset raising it again: %ld %s\n", r, error_name(r < 0 ? errno : 0));
  header.pid = 0x3fffffff;
  r = syscall(SYS_capget, &header, data);
  printf("capget of a missing process: %ld %s\n", r, error_name(r < 0 ? errno : 0));

  printf("-- protection keys\n");
  r = syscall(SYS_pkey_alloc, 0, 0);
  printf("pkey_alloc: %ld %s\n", r, error_name(r < 0 ? errno : 0));
  r = syscall(SYS_pkey_alloc, 1, 0);
  printf("pkey_alloc with flags: %ld %s\n", r, error_name(r < 0 ? errno : 0));
  void* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("pkey_mprotect key -1: %ld\n", syscall(SYS_pkey_mprotect, page, 4096, PROT_READ, -1));
  r = syscall(SYS_pkey_mprotect, page, 4096, PROT_READ, 0);
  printf("pkey_mprotect key 0: %ld %s\n", r, error_name(r < 0 ? errno : 0));
  r = syscall(SYS_pkey_mprotect, page, 4096, PROT_READ, 3);
  printf("pkey_mprotect key 3: %ld %s\n", r, error_name(r < 0 ? errno : 0));
  r = syscall(SYS_pkey_free, 3);
  printf("pkey_free 3: %ld %s\n", r, error_name(r < 0 ? errno : 0));
  munmap(page, 4096);
}

static void seeking_and_epoll(void) {
  printf("-- lseek on /proc\n");
  int fd = open("/proc/self/status", O_RDONLY);
  off_t r = lseek(fd, 0, SEEK_END);
  printf("file SEEK_END: %ld %s\n", (long)r, error_name(r < 0 ? errno : 0));
  printf("file SEEK_SET: %ld\n", (long)lseek(fd, 5, SEEK_SET));
  printf("file SEEK_CUR: %ld\n", (long)lseek(fd, 3, SEEK_CUR));
  r = lseek(fd, 0, SEEK_DATA);
  printf("file SEEK_DATA: %ld %s\n", (long)r, error_name(r < 0 ? errno : 0));
  close(fd);
  fd = open("/proc", O_RDONLY | O_DIRECTORY);
  r = lseek(fd, 0, SEEK_END);
  printf("directory SEEK_END: %ld %s\n", (long)r, error_name(r < 0 ? errno : 0));
  r = lseek(fd, 0, SEEK_DATA);
  printf("directory SEEK_DATA: %ld %s\n", (long)r, errno == ENXIO ? "ENXIO" : error_name(r < 0 ? errno : 0));
  printf("directory SEEK_SET: %ld\n", (long)lseek(fd, 0, SEEK_SET));
  close(fd);

  printf("-- pread and pwrite on the memory devices (any offset) and on a pipe\n");
  char byte = 'x';
  fd = open("/dev/full", O_RDWR);
  ssize_t n = pread(fd, &byte, 1, 5467370918175035385LL);
  printf("pread /dev/full: %ld %s byte %d\n", (long)n, error_name(n < 0 ? errno : 0), byte);
  n = pwrite(fd, &byte, 1, 4096);
  printf("pwrite /dev/full: %ld %s\n", (long)n, error_name(n < 0 ? errno : 0));
  n = pread(fd, &byte, 1, -1);
  printf("pread /dev/full at -1: %ld %s\n", (long)n, error_name(n < 0 ? errno : 0));
  close(fd);
  fd = open("/dev/null", O_RDWR);
  n = pwrite(fd, &byte, 1, 1 << 20);
  printf("pwrite /dev/null: %ld %s\n", (long)n, error_name(n < 0 ? errno : 0));
  close(fd);
  int ends[2];
  if (pipe(ends) == 0) {
    n = pwrite(ends[1], &byte, 1, 0);
    printf("pwrite pipe: %ld %s\n", (long)n, error_name(n < 0 ? errno : 0));
    close(ends[0]);
    close(ends[1]);
  }

  printf("-- readahead\n");
  fd = open("/proc/self/exe", O_RDONLY);
  printf("a regular file: %s\n", error_name(readahead(fd, 0, 4096) == 0 ? 0 : errno));
  close(fd);
  if (pipe(ends) == 0) {
    printf("a pipe: %s\n", error_name(readahead(ends[0], 0, 4096) == 0 ? 0 : errno));
    close(ends[0]);
    close(ends[1]);
  }
  fd = open("/dev/null", O_WRONLY);
  printf("write-only: %s\n", error_name(readahead(fd, 0, 4096) == 0 ? 0 : errno));
  close(fd);
  printf("not a descriptor: %s\n", error_name(readahead(-1, 0, 4096) == 0 ? 0 : errno));

  printf("-- epoll_ctl\n");
  int epoll = epoll_create1(0);
  int pipe_ends[2];
  if (pipe(pipe_ends) != 0) return;
  struct epoll_event event = {.events = EPOLLIN};
  printf("bad event pointer first: %s\n", error_name(epoll_ctl(-1, EPOLL_CTL_ADD, pipe_ends[0], NULL) == 0 ? 0 : errno));
  printf("bad epoll descriptor: %s\n", error_name(epoll_ctl(-1, EPOLL_CTL_ADD, pipe_ends[0], &event) == 0 ? 0 : errno));
  printf("not an epoll: %s\n", error_name(epoll_ctl(pipe_ends[1], EPOLL_CTL_ADD, pipe_ends[0], &event) == 0 ? 0 : errno));
  printf("itself: %s\n", error_name(epoll_ctl(epoll, EPOLL_CTL_ADD, epoll, &event) == 0 ? 0 : errno));
  int regular = open("/proc/self/status", O_RDONLY);
  printf("a regular file: %s\n", error_name(epoll_ctl(epoll, EPOLL_CTL_ADD, regular, &event) == 0 ? 0 : errno));
  close(regular);
  printf("unknown operation: %s\n", error_name(epoll_ctl(epoll, 7, pipe_ends[0], &event) == 0 ? 0 : errno));
  struct epoll_event exclusive = {.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT};
  printf("EPOLLEXCLUSIVE with EPOLLONESHOT: %s\n",
         error_name(epoll_ctl(epoll, EPOLL_CTL_ADD, pipe_ends[0], &exclusive) == 0 ? 0 : errno));
  exclusive.events = EPOLLIN | EPOLLEXCLUSIVE;
  printf("EPOLLEXCLUSIVE: %s\n", error_name(epoll_ctl(epoll, EPOLL_CTL_ADD, pipe_ends[0], &exclusive) == 0 ? 0 : errno));
  printf("EPOLLEXCLUSIVE in MOD: %s\n",
         error_name(epoll_ctl(epoll, EPOLL_CTL_MOD, pipe_ends[0], &exclusive) == 0 ? 0 : errno));
  int inner = epoll_create1(0);
  printf("EPOLLEXCLUSIVE on an epoll: %s\n",
         error_name(epoll_ctl(epoll, EPOLL_CTL_ADD, inner, &exclusive) == 0 ? 0 : errno));
  printf("add twice: %s\n", error_name(epoll_ctl(epoll, EPOLL_CTL_ADD, pipe_ends[0], &event) == 0 ? 0 : errno));
  printf("delete: %s\n", error_name(epoll_ctl(epoll, EPOLL_CTL_DEL, pipe_ends[0], NULL) == 0 ? 0 : errno));
  printf("delete again: %s\n", error_name(epoll_ctl(epoll, EPOLL_CTL_DEL, pipe_ends[0], NULL) == 0 ? 0 : errno));
  close(inner);
  close(epoll);
  close(pipe_ends[0]);
  close(pipe_ends[1]);
}

static void vectors(void) {
  printf("-- readv and pwritev at an unmapped page\n");
  char name[64];
  snprintf(name, sizeof(name), "/tmp/runtime-support-vectors-%d", getpid());
  int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
  unlink(name);
  static char data[20000];
  memset(data, 'v', sizeof(data));
  if (write(fd, data, sizeof(data)) != (ssize_t)sizeof(data)) return;
  // Two pages, the second unmapped: a vector running into it stops there.
  char* pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(pages + 4096, 4096);
  char first[100];
  struct iovec into[3] = {{first, sizeof(first)}, {pages + 4000, 500}, {first, 10}};
  lseek(fd, 0, SEEK_SET);
  printf("readv into a vector that crosses: %zd\n", readv(fd, into, 3));
  struct iovec unreachable[2] = {{pages + 4096, 10}, {first, 10}};
  ssize_t r = readv(fd, unreachable, 2);
  printf("readv starting unmapped: %zd %s\n", r, error_name(r < 0 ? errno : 0));
  struct iovec empty_then_bad[2] = {{first, 0}, {pages + 4096, 10}};
  r = readv(fd, empty_then_bad, 2);
  printf("readv empty then unmapped: %zd %s\n", r, error_name(r < 0 ? errno : 0));
  struct iovec negative[1] = {{first, (size_t)-1}};
  r = readv(fd, negative, 1);
  printf("readv negative length: %zd %s\n", r, error_name(r < 0 ? errno : 0));
  memset(pages, 'p', 4096);
  struct iovec from[2] = {{pages + 4000, 200}, {first, 10}};
  printf("pwritev from a vector that crosses: %zd\n", pwritev(fd, from, 2, 0));
  printf("readv of no vectors: %zd\n", readv(fd, into, 0));
  munmap(pages, 4096);
  close(fd);

  printf("-- mountinfo\n");
  FILE* f = fopen("/proc/self/mountinfo", "r");
  char line[512];
  int root = 0, proc = 0;
  while (f && fgets(line, sizeof(line), f)) {
    char mount_point[256], type[64];
    if (sscanf(line, "%*d %*d %*d:%*d %*s %255s %*s - %63s", mount_point, type) != 2 &&
        sscanf(line, "%*d %*d %*d:%*d %*s %255s %*s %*s - %63s", mount_point, type) != 2)
      continue;
    if (strcmp(mount_point, "/proc") == 0 && strcmp(type, "proc") == 0) proc = 1;
    if (strcmp(mount_point, "/") == 0) root = 1;
  }
  if (f) fclose(f);
  printf("has / %d and /proc %d\n", root, proc);
}

static void show_fd_path(int fd) {
  char link[64], target[512];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof(target) - 1);
  target[n > 0 ? n : 0] = '\0';
  // The process id in the name differs between runs: it is printed as N.
  char* id = strstr(target, "runtime-support-");
  if (!id) {
    printf("%s\n", target);
    return;
  }
  id += strlen("runtime-support-");
  char* rest = id;
  while (*rest >= '0' && *rest <= '9') rest++;
  *id = '\0';
  printf("%sN%s\n", target, rest);
}

static void fd_paths(void) {
  printf("-- /proc/self/fd paths\n");
  char directory[64], file[96], link[64];
  snprintf(directory, sizeof(directory), "/tmp/runtime-support-%d", getpid());
  snprintf(file, sizeof(file), "%s/file", directory);
  snprintf(link, sizeof(link), "/tmp/runtime-support-link-%d", getpid());
  mkdir(directory, 0755);
  int fds[5];
  fds[0] = open(file, O_CREAT | O_RDWR, 0600);
  char dotted[160];
  snprintf(dotted, sizeof(dotted), "%s/../%s/./file", directory, directory + 5);
  fds[1] = open(dotted, O_RDONLY);
  fds[2] = open(directory, O_RDONLY | O_DIRECTORY);
  symlink(directory, link);
  char through[96];
  snprintf(through, sizeof(through), "%s/file", link);
  fds[3] = open(through, O_RDONLY);
  fds[4] = open("/dev/null", O_RDONLY);
  for (int i = 0; i < 5; i++) show_fd_path(fds[i]);
  int root = open("/", O_RDONLY);
  show_fd_path(root);
  close(root);
  for (int i = 0; i < 5; i++) close(fds[i]);
  unlink(link);
  unlink(file);
  rmdir(directory);
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "kill-all") == 0) {
    int r = kill(-1, SIGKILL);
    printf("kill(-1, SIGKILL): %d %s\n", r, error_name(r < 0 ? errno : 0));
    r = kill(-1, 999);
    printf("kill(-1, 999): %d %s\n", r, error_name(r < 0 ? errno : 0));
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "stop-signals") == 0) {
    // Without job control, as in an orphaned process group, these are discarded.
    raise(SIGTSTP);
    raise(SIGTTIN);
    raise(SIGTTOU);
    printf("still running\n");
    return 0;
  }
  futexes();
  robust_mutexes();
  alternate_stacks();
  select_time();
  cpu_clocks();
  descriptor_limit();
  temporary_files();
  random_flags();
  small_calls();
  seeking_and_epoll();
  vectors();
  fd_paths();
  return 0;
}
