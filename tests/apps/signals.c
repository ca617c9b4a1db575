/* Differential test: signal handlers, masks, faults caught by the program. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf jump;
static volatile sig_atomic_t usr1, usr2;
static void* fault_address;
static void on_segv(int sig, siginfo_t* info, void* context) {
  (void)sig;
  (void)context;
  fault_address = info->si_addr;
  siglongjmp(jump, 1);
}
static void on_usr1(int sig) { (void)sig; usr1++; }
static void on_usr2(int sig) { (void)sig; usr2++; }
static void on_fpe(int sig) { (void)sig; siglongjmp(jump, 2); }

/* O_ASYNC: readiness signals to the owner of a file (F_SETOWN, F_SETOWN_EX, F_SETSIG). */
static volatile sig_atomic_t io_count;
static volatile int io_signo, io_fd, io_code;
static volatile long io_band;
static void on_io(int sig, siginfo_t* info, void* context) {
  (void)context;
  io_count++;
  io_signo = sig;
  io_fd = info->si_fd;
  io_band = info->si_band;
  io_code = info->si_code;
}
static int expected_fd = -1;  /* the descriptor si_fd should name (numbers differ between runs) */
static void report_io(const char* what) {
  printf("%s: %d signal(s), last %d, si_code %d", what, (int)io_count, io_signo, io_code);
  if (io_signo != SIGIO) printf(", si_fd is the descriptor %d, si_band %#lx", io_fd == expected_fd, io_band);
  printf("\n");
  io_count = 0;
  io_signo = io_fd = io_code = 0;
  io_band = 0;
}
static void make_async(int fd, int owner, int signal) {
  fcntl(fd, F_SETOWN, owner);
  fcntl(fd, F_SETSIG, signal);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
}
static void* wait_to_be_checked(void* arg) {
  int* fds = arg;
  pid_t tid = (pid_t)syscall(SYS_gettid);
  if (write(fds[1], &tid, sizeof tid) < 0) return NULL;
  char byte;
  if (read(fds[0], &byte, 1) < 0) return NULL;
  return NULL;
}

static void readiness_signal_checks(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_io;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGIO, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  char buffer[16];
  int p[2];
  if (pipe2(p, O_NONBLOCK) < 0) return;
  printf("F_GETOWN %d, F_GETSIG %d before any owner\n", fcntl(p[0], F_GETOWN), fcntl(p[0], F_GETSIG));
  int r = fcntl(p[0], F_SETOWN, 12345678);
  printf("F_SETOWN of no process: %d %s\n", r, r < 0 ? strerror(errno) : "");
  r = fcntl(p[0], F_SETSIG, 65);
  printf("F_SETSIG 65: %d %s\n", r, r < 0 ? strerror(errno) : "");
  /* F_SETSIG 0: a plain SIGIO when the read end becomes readable. */
  make_async(p[0], getpid(), 0);
  if (write(p[1], "x", 1) != 1) return;
  report_io("pipe read end, SIGIO");
  while (read(p[0], buffer, sizeof buffer) > 0) {
  }
  report_io("reading does not signal the read end");
  /* F_SETSIG SIGUSR1: the signal carries the descriptor and the band; a dup'd descriptor
   * keeps the one O_ASYNC was turned on through. */
  fcntl(p[0], F_SETSIG, SIGUSR1);
  int copy = dup(p[0]);
  fcntl(copy, F_SETFL, fcntl(copy, F_GETFL) | O_ASYNC);
  expected_fd = p[0];
  if (write(p[1], "y", 1) != 1) return;
  report_io("pipe read end, F_SETSIG SIGUSR1");
  close(copy);
  printf("F_GETSIG %d, F_GETOWN is the pid %d\n", fcntl(p[0], F_GETSIG), fcntl(p[0], F_GETOWN) == getpid());
  /* The write end hears that room was made. */
  make_async(p[1], getpid(), SIGUSR1);
  expected_fd = p[1];
  if (read(p[0], buffer, 1) != 1) return;
  report_io("pipe write end after a read");
  /* O_ASYNC off: no more signals. */
  fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) & ~O_ASYNC);
  fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) & ~O_ASYNC);
  if (write(p[1], "z", 1) != 1) return;
  report_io("O_ASYNC turned off");
  close(p[0]);
  close(p[1]);
  /* A socket through FIOASYNC, owned by the thread (F_OWNER_TID). */
  int s[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s) < 0) return;
  struct f_owner_ex owner = {F_OWNER_TID, (pid_t)syscall(SYS_gettid)};
  fcntl(s[0], F_SETOWN_EX, &owner);
  int on = 1;
  ioctl(s[0], FIOASYNC, &on);
  if (write(s[1], "s", 1) != 1) return;
  report_io("socket with FIOASYNC, owned by the thread");
  struct f_owner_ex got = {-1, -1};
  fcntl(s[0], F_GETOWN_EX, &got);
  printf("F_GETOWN_EX type %d, is the thread %d\n", got.type, got.pid == owner.pid);
  close(s[0]);
  close(s[1]);
  /* A regular file takes O_ASYNC but never signals. */
  char path[] = "/tmp/signals-async-XXXXXX";
  int f = mkstemp(path);
  if (f >= 0) {
    unlink(path);
    make_async(f, getpid(), 0);
    if (write(f, "data", 4) != 4) return;
    printf("regular file O_ASYNC kept %d\n", (fcntl(f, F_GETFL) & O_ASYNC) != 0);
    on = 1;
    r = ioctl(f, FIOASYNC, &on);
    printf("FIOASYNC on a regular file: %d %s\n", r, r < 0 ? strerror(errno) : "");
    report_io("regular file");
    close(f);
  }
  /* A process group owner, in a child that leads its own group (the host's test runner
   * shares the parent's group, and SIGIO would end it). */
  pid_t child = fork();
  if (child == 0) {
    setpgid(0, 0);
    int q[2];
    if (pipe(q) < 0) _exit(1);
    make_async(q[0], -getpgrp(), 0);
    struct f_owner_ex group = {-1, -1};
    fcntl(q[0], F_GETOWN_EX, &group);
    if (write(q[1], "g", 1) != 1) _exit(2);
    _exit(io_count == 1 && io_signo == SIGIO && group.type == F_OWNER_PGRP && group.pid == getpid() ? 0 : 3);
  }
  int status = 0;
  waitpid(child, &status, 0);
  printf("group owner child: exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
  /* kill() with the id of a thread other than the first signals its process. */
  int ping[2], pong[2];
  if (pipe(ping) < 0 || pipe(pong) < 0) return;
  int ends[2] = {ping[0], pong[1]};
  pthread_t thread;
  pthread_create(&thread, NULL, wait_to_be_checked, ends);
  pid_t tid = 0;
  if (read(pong[0], &tid, sizeof tid) != sizeof tid) return;
  r = kill(tid, 0);
  printf("kill(thread id, 0): %d %s\n", r, r < 0 ? strerror(errno) : "");
  r = kill(tid, SIGUSR1);
  if (write(ping[1], "", 1) != 1) return;
  pthread_join(thread, NULL);
  printf("kill(thread id, SIGUSR1): %d, handled %d signal(s) of %d\n", r, (int)io_count, io_signo);
  io_count = 0;
}

/* Handlers nested on the alternate stack until it overflows: Linux does not build the next
 * frame below the stack, the signal is fatal (SIGSEGV). */
static char* nest_frames[2];
static volatile int nest_left;
static void nest(int sig) {
  char here;
  if (!nest_frames[0]) nest_frames[0] = &here;
  else if (!nest_frames[1]) nest_frames[1] = &here;
  if (nest_left-- > 0) raise(sig);
}
static void alternate_stack_overflow_check(void) {
  pid_t child = fork();
  if (child == 0) {
    size_t size = 64 * 1024;
    char* memory = malloc(4 * size);
    stack_t ss = {.ss_sp = memory + 3 * size, .ss_size = size};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = nest;
    sa.sa_flags = SA_ONSTACK | SA_NODEFER;
    sigaction(SIGUSR2, &sa, NULL);
    nest_left = 1;
    raise(SIGUSR2);
    long frame = nest_frames[0] - nest_frames[1];
    if (frame <= 0) _exit(3);
    /* Enough nesting to pass the stack's bottom by about one frame, well inside `memory`. */
    nest_left = (int)((size + frame) / frame) + 1;
    raise(SIGUSR2);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  printf("handlers overflowing the alternate stack: %s %d\n", WIFSIGNALED(status) ? "killed by signal" : "exit",
         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* PR_SET_PDEATHSIG fires when the thread that forked the child exits, even though the
 * process goes on. */
static void* fork_child_with_death_signal(void* out) {
  int ready[2];
  if (pipe(ready) < 0) return NULL;
  pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (write(ready[1], "r", 1) != 1) _exit(2);
    sleep(10);
    _exit(7); /* no signal came */
  }
  char byte;
  if (read(ready[0], &byte, 1) != 1) return NULL;
  close(ready[0]);
  close(ready[1]);
  *(pid_t*)out = child;
  return NULL;
}
static void parent_death_signal_check(void) {
  pid_t child = 0;
  pthread_t thread;
  pthread_create(&thread, NULL, fork_child_with_death_signal, &child);
  pthread_join(thread, NULL);
  int status = 0;
  waitpid(child, &status, 0);
  printf("child with PR_SET_PDEATHSIG after its parent thread ended: %s %d\n",
         WIFSIGNALED(status) ? "killed by signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* A writer blocked on a full pipe whose reader closes: the write returns what it wrote and
 * raises SIGPIPE; the next write is EPIPE and raises it again. */
static volatile sig_atomic_t pipe_signals;
static void on_pipe(int sig) { (void)sig; pipe_signals++; }
static int blocked_pipe[2];
static long blocked_results[2];
static void* write_twice(void* unused) {
  (void)unused;
  static char data[2 * 65536];
  blocked_results[0] = write(blocked_pipe[1], data, sizeof data);
  blocked_results[1] = write(blocked_pipe[1], data, sizeof data);
  if (blocked_results[1] < 0) blocked_results[1] = -errno;
  return NULL;
}
static void broken_pipe_check(void) {
  signal(SIGPIPE, on_pipe);
  if (pipe(blocked_pipe) < 0) return;
  pthread_t thread;
  pthread_create(&thread, NULL, write_twice, NULL);
  int queued = 0;
  while (queued < 65536) {
    usleep(1000);
    ioctl(blocked_pipe[0], FIONREAD, &queued);
  }
  usleep(20000);
  close(blocked_pipe[0]);
  pthread_join(thread, NULL);
  printf("writer blocked on a full pipe: wrote %ld, then %ld (EPIPE is %d), SIGPIPE %d times\n", blocked_results[0],
         blocked_results[1], -EPIPE, (int)pipe_signals);
  close(blocked_pipe[1]);
  signal(SIGPIPE, SIG_DFL);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  if (sigsetjmp(jump, 1) == 0) *(volatile int*)0x1000 = 1;
  printf("SIGSEGV caught at %p\n", fault_address);
  signal(SIGUSR1, on_usr1);
  signal(SIGUSR2, on_usr2);
  raise(SIGUSR1);
  kill(getpid(), SIGUSR1);
  printf("SIGUSR1 handled %d times\n", (int)usr1);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  sigprocmask(SIG_BLOCK, &block, &old);
  raise(SIGUSR2);
  sigset_t pending;
  sigpending(&pending);
  printf("SIGUSR2 pending while blocked %d, handled %d\n", sigismember(&pending, SIGUSR2), (int)usr2);
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("SIGUSR2 handled after unblock %d\n", (int)usr2);
  signal(SIGFPE, on_fpe);
  int zero = 0, quotient;
  if (sigsetjmp(jump, 1) == 0) {
    __asm__ volatile("cltd; idivl %2" : "=a"(quotient) : "a"(1), "r"(zero) : "edx");
    printf("no SIGFPE: %d\n", quotient);
  } else {
    printf("SIGFPE caught\n");
  }
  double d = 1.25;
  for (int i = 0; i < 4; i++) d *= 3.5;
  printf("floating point intact %.4f\n", d);
  signal(SIGPIPE, SIG_IGN);
  printf("ignored signal survives %d\n", raise(SIGPIPE));
  readiness_signal_checks();
  alternate_stack_overflow_check();
  parent_death_signal_check();
  broken_pipe_check();
  return 0;
}
