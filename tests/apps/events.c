/* Differential test: waiting and events. poll/select/epoll wake-ups (level, edge, one-shot)
 * on pipes, eventfds, timerfds and signalfds; timers that signal (alarm, setitimer, POSIX
 * timers); signals that interrupt blocking calls (EINTR, SA_RESTART). Prints only facts that
 * do not depend on timing. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

static void test_eventfd(void) {
  int fd = eventfd(0, EFD_NONBLOCK);
  uint64_t v = 3;
  write(fd, &v, 8);
  v = 4;
  write(fd, &v, 8);
  read(fd, &v, 8);
  printf("eventfd: read %llu\n", (unsigned long long)v);
  printf("eventfd: empty read %s\n", read(fd, &v, 8) < 0 && errno == EAGAIN ? "EAGAIN" : "data?");
  close(fd);
  fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
  uint64_t a = 0, b = 0;
  read(fd, &a, 8);
  read(fd, &b, 8);
  printf("eventfd semaphore: %llu %llu then %s\n", (unsigned long long)a, (unsigned long long)b,
         read(fd, &v, 8) < 0 && errno == EAGAIN ? "EAGAIN" : "data?");
  printf("eventfd short read: %s\n", read(fd, &v, 4) < 0 && errno == EINVAL ? "EINVAL" : "?");
  close(fd);
}

static int g_write_fd;
static void* write_later(void* arg) {
  sleep_ms(30);
  write(g_write_fd, arg, strlen(arg));
  return NULL;
}

static void test_poll_wakeup(void) {
  int p[2];
  pipe(p);
  g_write_fd = p[1];
  pthread_t t;
  pthread_create(&t, NULL, write_later, "wake");
  struct pollfd fds[2] = {{p[0], POLLIN, 0}, {-1, POLLIN, 0}};
  int n = poll(fds, 2, 10000);
  printf("poll: %d ready, revents %#x\n", n, fds[0].revents);
  pthread_join(t, NULL);
  char buffer[8];
  read(p[0], buffer, sizeof buffer);
  n = poll(fds, 1, 0);
  printf("poll on empty pipe with zero timeout: %d\n", n);
  pthread_create(&t, NULL, write_later, "select");
  fd_set set;
  FD_ZERO(&set);
  FD_SET(p[0], &set);
  n = select(p[0] + 1, &set, NULL, NULL, NULL);
  printf("select: %d ready, readable %d\n", n, FD_ISSET(p[0], &set) != 0);
  pthread_join(t, NULL);
  read(p[0], buffer, sizeof buffer);
  close(p[1]);
  n = poll(fds, 1, 1000);
  printf("poll after the writer closed: %d, revents %#x\n", n, fds[0].revents);
  close(p[0]);
}

static void test_epoll(void) {
  int p[2];
  pipe(p);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 1};
  epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
  struct epoll_event out[4];
  write(p[1], "x", 1);
  int first = epoll_wait(ep, out, 4, 1000);
  int second = epoll_wait(ep, out, 4, 0);
  printf("epoll level-triggered: %d then %d (data %llu)\n", first, second, (unsigned long long)out[0].data.u64);
  e.events = EPOLLIN | EPOLLET;
  e.data.u64 = 2;
  epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e);
  first = epoll_wait(ep, out, 4, 1000);
  second = epoll_wait(ep, out, 4, 0);
  write(p[1], "y", 1);
  int third = epoll_wait(ep, out, 4, 1000);
  printf("epoll edge-triggered: %d, %d, after another write %d\n", first, second, third);
  e.events = EPOLLIN | EPOLLONESHOT;
  e.data.u64 = 3;
  epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e);
  first = epoll_wait(ep, out, 4, 1000);
  write(p[1], "z", 1);
  second = epoll_wait(ep, out, 4, 0);
  epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e);
  third = epoll_wait(ep, out, 4, 0);
  printf("epoll one-shot: %d, %d, re-armed %d\n", first, second, third);
  printf("epoll add twice: %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e) < 0 && errno == EEXIST ? "EEXIST" : "?");
  epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);
  printf("epoll after delete: %d\n", epoll_wait(ep, out, 4, 0));
  int closing[2];
  pipe(closing);
  epoll_ctl(ep, EPOLL_CTL_ADD, closing[0], &e);
  write(closing[1], "c", 1);
  close(closing[0]);
  printf("epoll after the watched file closed: %d\n", epoll_wait(ep, out, 4, 0));
  close(closing[1]);
  printf("epoll adding itself: %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e) < 0 && errno == EINVAL ? "EINVAL" : "?");

  /* A thread writes while we sleep in poll on an epoll that watches the (drained) pipe. */
  char drained[16];
  read(p[0], drained, sizeof drained);
  int efd = eventfd(0, 0);
  e.events = EPOLLIN;
  e.data.u64 = 4;
  epoll_ctl(ep, EPOLL_CTL_ADD, efd, &e);
  g_write_fd = p[1];
  int inner = epoll_create1(0);
  struct epoll_event ie = {.events = EPOLLIN, .data.u64 = 5};
  epoll_ctl(inner, EPOLL_CTL_ADD, p[0], &ie);
  pthread_t t;
  pthread_create(&t, NULL, write_later, "w");
  struct pollfd pf = {inner, POLLIN, 0};
  int n = poll(&pf, 1, 10000);
  printf("poll on an epoll: %d, revents %#x\n", n, pf.revents);
  pthread_join(t, NULL);
  uint64_t one = 1;
  write(efd, &one, 8);
  n = epoll_wait(ep, out, 4, 10000);
  printf("epoll on eventfd: %d, data %llu\n", n, (unsigned long long)out[0].data.u64);
  close(inner);
  close(efd);
  close(ep);
  close(p[0]);
  close(p[1]);
}

static void test_timerfd(void) {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  uint64_t n = 0;
  printf("timerfd unarmed read: %s\n", read(fd, &n, 8) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
  struct itimerspec spec = {{0, 10000000}, {0, 20000000}}, got;
  timerfd_settime(fd, 0, &spec, NULL);
  timerfd_gettime(fd, &got);
  printf("timerfd interval %ld ns, armed %d\n", got.it_interval.tv_nsec, got.it_value.tv_nsec > 0);
  int ep = epoll_create1(0);
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 9}, out;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
  int ready = epoll_wait(ep, &out, 1, 10000);
  read(fd, &n, 8);
  printf("timerfd via epoll: %d ready, expirations >= 1: %d\n", ready, n >= 1);
  /* Blocking read of a periodic timer. */
  int blocking = timerfd_create(CLOCK_BOOTTIME, 0);
  timerfd_settime(blocking, 0, &spec, NULL);
  read(blocking, &n, 8);
  printf("timerfd blocking read: expirations >= 1: %d\n", n >= 1);
  /* Absolute time on the wall clock, already past: expires at once. */
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct itimerspec past = {{0, 0}, {now.tv_sec - 1, 0}};
  int wall = timerfd_create(CLOCK_REALTIME, 0);
  timerfd_settime(wall, TFD_TIMER_ABSTIME, &past, NULL);
  read(wall, &n, 8);
  printf("timerfd absolute past: %llu\n", (unsigned long long)n);
  struct itimerspec off = {{0, 0}, {0, 0}};
  timerfd_settime(fd, 0, &off, NULL);
  timerfd_gettime(fd, &got);
  printf("timerfd disarmed: %ld %ld\n", (long)got.it_value.tv_sec, got.it_value.tv_nsec);
  printf("timerfd bad clock: %s\n", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0) < 0 && errno == EINVAL ? "EINVAL" : "?");
  close(wall);
  close(blocking);
  close(ep);
  close(fd);
}

static volatile sig_atomic_t g_usr1, g_alarm;
static void on_usr1(int sig) { (void)sig; g_usr1++; }
static void on_alarm(int sig) { (void)sig; g_alarm++; }

static int g_read_fd;
static volatile int g_blocked_done;
static ssize_t g_blocked_result;
static int g_blocked_errno;
static void* blocked_read(void* arg) {
  (void)arg;
  char buffer[16];
  g_blocked_result = read(g_read_fd, buffer, sizeof buffer);
  g_blocked_errno = errno;
  g_blocked_done = 1;
  return NULL;
}

static void set_handler(int sig, void (*handler)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigaction(sig, &sa, NULL);
}

static void test_eintr(void) {
  int p[2];
  pipe(p);
  g_read_fd = p[0];
  /* Without SA_RESTART a blocked read fails with EINTR. Signals sent before the read starts
     only run the handler, so keep sending until the read returns. */
  set_handler(SIGUSR1, on_usr1, 0);
  pthread_t t;
  g_blocked_done = 0;
  pthread_create(&t, NULL, blocked_read, NULL);
  while (!g_blocked_done) {
    pthread_kill(t, SIGUSR1);
    sleep_ms(20);
  }
  pthread_join(t, NULL);
  printf("read interrupted: %zd %s\n", g_blocked_result, g_blocked_errno == EINTR ? "EINTR" : strerror(g_blocked_errno));
  /* With SA_RESTART the read carries on and returns the data written later. */
  set_handler(SIGUSR1, on_usr1, SA_RESTART);
  g_blocked_done = 0;
  g_usr1 = 0;
  pthread_create(&t, NULL, blocked_read, NULL);
  for (int i = 0; i < 5; i++) {
    pthread_kill(t, SIGUSR1);
    sleep_ms(20);
  }
  write(p[1], "hello", 5);
  pthread_join(t, NULL);
  printf("restarted read: %zd bytes, handler ran %d\n", g_blocked_result, g_usr1 > 0);
  close(p[0]);
  close(p[1]);

  /* nanosleep, poll and futex-based waits end with EINTR under a handler. */
  set_handler(SIGALRM, on_alarm, SA_RESTART);
  struct itimerval it = {{0, 0}, {0, 30000}};
  setitimer(ITIMER_REAL, &it, NULL);
  struct timespec request = {10, 0}, remaining = {0, 0};
  int r = nanosleep(&request, &remaining);
  printf("nanosleep interrupted: %d %s, remaining below 10 s: %d\n", r, errno == EINTR ? "EINTR" : "?",
         remaining.tv_sec < 10 && (remaining.tv_sec > 0 || remaining.tv_nsec > 0));
  setitimer(ITIMER_REAL, &it, NULL);
  int q[2];
  pipe(q);
  struct pollfd pf = {q[0], POLLIN, 0};
  r = poll(&pf, 1, 10000);
  printf("poll interrupted despite SA_RESTART: %d %s\n", r, errno == EINTR ? "EINTR" : "?");
  int ep = epoll_create1(0);
  struct epoll_event e = {.events = EPOLLIN}, out;
  epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &e);
  setitimer(ITIMER_REAL, &it, NULL);
  r = epoll_wait(ep, &out, 1, 10000);
  printf("epoll_wait interrupted: %d %s\n", r, errno == EINTR ? "EINTR" : "?");
  close(ep);
  close(q[0]);
  close(q[1]);

  /* sigsuspend: SIGALRM blocked, then waited for with an empty mask. */
  sigset_t block, old, empty;
  sigemptyset(&block);
  sigaddset(&block, SIGALRM);
  sigprocmask(SIG_BLOCK, &block, &old);
  g_alarm = 0;
  setitimer(ITIMER_REAL, &it, NULL);
  sigemptyset(&empty);
  r = sigsuspend(&empty);
  sigset_t now;
  sigprocmask(SIG_SETMASK, NULL, &now);
  printf("sigsuspend: %d %s, handler ran %d, mask restored %d\n", r, errno == EINTR ? "EINTR" : "?", (int)g_alarm,
         sigismember(&now, SIGALRM));
  sigprocmask(SIG_SETMASK, &old, NULL);
  g_alarm = 0;
  setitimer(ITIMER_REAL, &it, NULL);
  pause();
  printf("pause returned after SIGALRM: %d\n", (int)g_alarm);
}

static sem_t g_timer_thread_ran;
static int g_timer_thread_value;
static void timer_thread(union sigval value) {
  g_timer_thread_value = value.sival_int;
  sem_post(&g_timer_thread_ran);
}

static void test_timers(void) {
  printf("alarm with none pending: %u\n", alarm(5));
  printf("alarm replaced: %u\n", alarm(0));
  struct itimerval it = {{0, 500000}, {2, 0}}, got;
  setitimer(ITIMER_REAL, &it, NULL);
  getitimer(ITIMER_REAL, &got);
  printf("getitimer: interval %ld us, value at most 2 s: %d\n", (long)got.it_interval.tv_usec,
         got.it_value.tv_sec < 2 || (got.it_value.tv_sec == 2 && got.it_value.tv_usec == 0));
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, &got);
  getitimer(ITIMER_REAL, &got);
  printf("setitimer disarmed: %ld %ld\n", (long)got.it_value.tv_sec, (long)got.it_value.tv_usec);
  printf("setitimer bad which: %s\n", setitimer(7, &off, NULL) < 0 && errno == EINVAL ? "EINVAL" : "?");

  /* A POSIX timer signalling SIGUSR2 with a value, taken with sigtimedwait. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, NULL);
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGUSR2;
  ev.sigev_value.sival_int = 42;
  timer_t timer;
  timer_create(CLOCK_MONOTONIC, &ev, &timer);
  struct itimerspec spec = {{0, 0}, {0, 10000000}}, left;
  timer_settime(timer, 0, &spec, NULL);
  siginfo_t info;
  struct timespec wait = {10, 0};
  int sig = sigtimedwait(&set, &info, &wait);
  printf("timer signal %d, code SI_TIMER %d, value %d\n", sig, info.si_code == SI_TIMER, info.si_value.sival_int);
  timer_gettime(timer, &left);
  printf("one-shot timer after expiry: %ld %ld, overrun %d\n", (long)left.it_value.tv_sec, left.it_value.tv_nsec,
         timer_getoverrun(timer));
  timer_delete(timer);
  /* Absolute time on the wall clock, 20 ms ahead. */
  ev.sigev_value.sival_int = 43;
  timer_create(CLOCK_REALTIME, &ev, &timer);
  struct itimerspec at = {{0, 0}, {0, 0}};
  clock_gettime(CLOCK_REALTIME, &at.it_value);
  at.it_value.tv_nsec += 20000000;
  if (at.it_value.tv_nsec >= 1000000000) at.it_value.tv_sec++, at.it_value.tv_nsec -= 1000000000;
  timer_settime(timer, TIMER_ABSTIME, &at, NULL);
  sig = sigtimedwait(&set, &info, &wait);
  printf("absolute wall-clock timer: signal %d, value %d\n", sig, info.si_value.sival_int);
  timer_delete(timer);
  struct timespec short_wait = {0, 10000000};
  sig = sigtimedwait(&set, &info, &short_wait);
  printf("sigtimedwait timeout: %d %s\n", sig, errno == EAGAIN ? "EAGAIN" : "?");

  /* SIGEV_THREAD: glibc runs the function in a thread of its own (SIGEV_THREAD_ID inside). */
  sem_init(&g_timer_thread_ran, 0, 0);
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD;
  ev.sigev_notify_function = timer_thread;
  ev.sigev_value.sival_int = 7;
  timer_create(CLOCK_REALTIME, &ev, &timer);
  timer_settime(timer, 0, &spec, NULL);
  sem_wait(&g_timer_thread_ran);
  printf("SIGEV_THREAD function ran with %d\n", g_timer_thread_value);
  timer_delete(timer);
}

static void test_signalfd(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  struct signalfd_siginfo si;
  printf("signalfd empty: %s\n", read(fd, &si, sizeof si) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
  struct pollfd pf = {fd, POLLIN, 0};
  printf("signalfd poll before: %d\n", poll(&pf, 1, 0));
  raise(SIGUSR1);
  printf("signalfd poll after raise: %d\n", poll(&pf, 1, 0));
  ssize_t n = read(fd, &si, sizeof si);
  printf("signalfd read %zd bytes: signal %u, code SI_TKILL %d\n", n, si.ssi_signo, si.ssi_code == SI_TKILL);
  sigset_t pending;
  sigpending(&pending);
  printf("taken from pending: %d\n", !sigismember(&pending, SIGUSR1));
  close(fd);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  test_eventfd();
  test_poll_wakeup();
  test_epoll();
  test_timerfd();
  test_eintr();
  test_timers();
  test_signalfd();
  printf("done\n");
  return 0;
}
