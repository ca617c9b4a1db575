/* Differential test: AF_UNIX sockets and the socket calls, printing values (results, errno
 * names, byte counts, address lengths, flags) that are the same on Linux and Nimbus. Paths
 * live in a fresh directory under /tmp; abstract names carry the pid, so only their lengths
 * and shapes are printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define CHECK(expr) check(#expr, (long)(expr))
static long check(const char* what, long result) {
  if (result < 0)
    printf("%-64s = -1 %s\n", what, strerrorname_np(errno));
  else
    printf("%-64s = %ld\n", what, result);
  return result;
}

/* Descriptor numbers depend on what the parent left open, so only their validity is shown. */
#define CHECK_FD(expr) check_fd(#expr, (int)(expr))
static int check_fd(const char* what, int fd) {
  if (fd >= 0)
    printf("%-64s -> a descriptor\n", what);
  else
    printf("%-64s -> %s\n", what, strerrorname_np(errno));
  return fd;
}

static void show_events(const char* what, int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, 0};
  int n = poll(&p, 1, 0);
  printf("poll %-40s: n=%d%s%s%s%s%s\n", what, n, p.revents & POLLIN ? " IN" : "", p.revents & POLLOUT ? " OUT" : "",
         p.revents & POLLHUP ? " HUP" : "", p.revents & POLLRDHUP ? " RDHUP" : "", p.revents & POLLERR ? " ERR" : "");
}

static socklen_t path_address(struct sockaddr_un* a, const char* path) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  strcpy(a->sun_path, path);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static char g_abstract[64];
static socklen_t abstract_address(struct sockaddr_un* a, const char* tag) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  int n = snprintf(g_abstract, sizeof g_abstract, "nimbus-%s-%08d", tag, (int)getpid());
  memcpy(a->sun_path + 1, g_abstract, (size_t)n);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static void show_name(const char* what, int fd, int peer) {
  struct sockaddr_un a;
  memset(&a, 0x55, sizeof a);
  socklen_t length = sizeof a;
  int r = peer ? getpeername(fd, (struct sockaddr*)&a, &length) : getsockname(fd, (struct sockaddr*)&a, &length);
  if (r < 0) {
    printf("%s %s: %s\n", peer ? "getpeername" : "getsockname", what, strerrorname_np(errno));
    return;
  }
  printf("%s %s: len=%u family=%d", peer ? "getpeername" : "getsockname", what, length, a.sun_family);
  if (length > offsetof(struct sockaddr_un, sun_path)) {
    if (a.sun_path[0])
      printf(" path=%s", a.sun_path);
    else
      printf(" abstract, first=%s", length == 8 ? "autobind" : (memcmp(a.sun_path + 1, g_abstract, 7) == 0 ? "ours" : "?"));
  }
  printf("\n");
}

static int get_int(int fd, int level, int name) {
  int v = -12345;
  socklen_t l = sizeof v;
  if (getsockopt(fd, level, name, &v, &l) < 0) return -errno;
  return v;
}

static void test_socket_errors(void) {
  printf("-- socket() and descriptor errors\n");
  CHECK(socket(AF_UNIX, SOCK_STREAM, 2));
  CHECK(socket(AF_UNIX, 7, 0));
  CHECK(socket(AF_UNIX, 20, 0));
  CHECK(socket(AF_UNIX, SOCK_STREAM | 0x100, 0));
  CHECK(socket(9999, SOCK_STREAM, 0));
  CHECK(socket(-1, SOCK_STREAM, 0));
  int raw = CHECK_FD(socket(AF_UNIX, SOCK_RAW, 0));
  printf("SOCK_RAW unix type: %d\n", get_int(raw, SOL_SOCKET, SO_TYPE));
  close(raw);
  int p[2];
  pipe(p);
  struct sockaddr_un a;
  socklen_t l = path_address(&a, "x");
  CHECK(bind(p[0], (struct sockaddr*)&a, l));
  CHECK(bind(-1, (struct sockaddr*)&a, l));
  CHECK(listen(p[0], 1));
  CHECK(shutdown(p[0], SHUT_RD));
  int v = 1;
  CHECK(setsockopt(p[0], SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
  CHECK(send(p[1], "x", 1, 0));
  close(p[0]);
  close(p[1]);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(bind(s, (struct sockaddr*)&a, 1));
  CHECK(bind(s, (struct sockaddr*)&a, 200));
  CHECK(bind(s, (struct sockaddr*)&a, -1));
  a.sun_family = AF_INET;
  CHECK(bind(s, (struct sockaddr*)&a, l));
  CHECK(shutdown(s, 7));
  CHECK(shutdown(s, SHUT_RDWR));
  CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | 0x100, 0, p));
  struct stat st;
  fstat(s, &st);
  printf("fstat socket: S_ISSOCK=%d mode=%o\n", S_ISSOCK(st.st_mode), st.st_mode & 0777);
  close(s);
}

static void test_socketpair_stream(void) {
  printf("-- socketpair stream\n");
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  show_name("pair", sv[0], 0);
  show_name("pair", sv[0], 1);
  show_events("fresh pair", sv[0]);
  /* /proc/self/fd/N of a socket names "socket:[INODE]" and cannot be opened again (ENXIO). */
  char link[64], target[128];
  snprintf(link, sizeof link, "/proc/self/fd/%d", sv[0]);
  ssize_t length = readlink(link, target, sizeof target - 1);
  target[length > 0 ? length : 0] = 0;
  printf("/proc/self/fd link of a socket: %.8s...]: %d\n", target, length > 9 && target[length - 1] == ']');
  CHECK_FD(open(link, O_WRONLY));
  CHECK_FD(open(link, O_RDONLY));
  CHECK(write(sv[0], "hello", 5));
  show_events("after write (reader)", sv[1]);
  int n = -1;
  CHECK(ioctl(sv[1], FIONREAD, &n));
  printf("FIONREAD=%d\n", n);
  CHECK(ioctl(sv[0], TIOCOUTQ, &n));
  printf("SIOCOUTQ>0: %d\n", n > 0);
  char buf[64] = {0};
  CHECK(recv(sv[1], buf, 3, MSG_PEEK));
  CHECK(recv(sv[1], buf, sizeof buf, 0));
  printf("data: %.5s\n", buf);
  CHECK(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
  CHECK(write(sv[0], "ab", 2));
  CHECK(write(sv[0], "cd", 2));
  CHECK(recv(sv[1], buf, 0, 0));
  CHECK(recv(sv[1], buf, sizeof buf, 0));
  printf("glued: %.4s\n", buf);
  struct iovec v[3] = {{"one ", 4}, {"two ", 4}, {"three", 5}};
  struct msghdr m = {0};
  m.msg_iov = v;
  m.msg_iovlen = 3;
  CHECK(sendmsg(sv[0], &m, 0));
  char b1[6] = {0}, b2[20] = {0};
  struct iovec r[2] = {{b1, 5}, {b2, sizeof b2}};
  struct msghdr rm = {0};
  rm.msg_iov = r;
  rm.msg_iovlen = 2;
  CHECK(recvmsg(sv[1], &rm, 0));
  printf("scattered: [%s] [%s] flags=%#x namelen=%u\n", b1, b2, rm.msg_flags, rm.msg_namelen);
  /* sendfile from a file into the socket */
  int f = open("sendfile.txt", O_CREAT | O_RDWR | O_TRUNC, 0600);
  write(f, "file contents", 13);
  off_t off = 5;
  CHECK(sendfile(sv[0], f, &off, 100));
  printf("offset after sendfile: %ld\n", (long)off);
  memset(buf, 0, sizeof buf);
  CHECK(read(sv[1], buf, sizeof buf));
  printf("sendfile data: %s\n", buf);
  close(f);
  /* shutdown */
  CHECK(shutdown(sv[0], SHUT_WR));
  show_events("reader after peer SHUT_WR", sv[1]);
  show_events("writer after own SHUT_WR", sv[0]);
  CHECK(read(sv[1], buf, sizeof buf));
  CHECK(send(sv[0], "x", 1, MSG_NOSIGNAL));
  CHECK(write(sv[1], "back", 4));
  CHECK(read(sv[0], buf, sizeof buf));
  CHECK(shutdown(sv[1], SHUT_RD));
  CHECK(send(sv[0], "x", 1, MSG_NOSIGNAL));
  close(sv[0]);
  close(sv[1]);
}

static int g_sigpipes;
static void on_sigpipe(int sig) {
  (void)sig;
  g_sigpipes++;
}

static void test_epipe(void) {
  printf("-- EPIPE and SIGPIPE\n");
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  close(sv[1]);
  show_events("stream after peer close", sv[0]);
  signal(SIGPIPE, SIG_IGN);
  CHECK(write(sv[0], "x", 1));
  signal(SIGPIPE, SIG_DFL);
  CHECK(send(sv[0], "x", 1, MSG_NOSIGNAL));
  signal(SIGPIPE, on_sigpipe);
  CHECK(send(sv[0], "x", 1, 0));
  CHECK(write(sv[0], "x", 1));
  printf("SIGPIPE count: %d\n", g_sigpipes);
  CHECK(read(sv[0], &sv[1], 1));
  close(sv[0]);
  /* A peer that closes with unread data resets the connection. */
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  write(sv[0], "unread", 6);
  close(sv[1]);
  show_events("after peer closed with unread data", sv[0]);
  char c;
  CHECK(read(sv[0], &c, 1));
  CHECK(read(sv[0], &c, 1));
  int err = 0;
  socklen_t l = sizeof err;
  getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &err, &l);
  printf("SO_ERROR afterwards: %d\n", err);
  close(sv[0]);
  /* seqpacket: EPIPE without a signal */
  g_sigpipes = 0;
  socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
  close(sv[1]);
  CHECK(send(sv[0], "x", 1, 0));
  CHECK(write(sv[0], "x", 1));
  CHECK(recv(sv[0], &c, 1, 0));
  printf("SIGPIPE count (seqpacket): %d\n", g_sigpipes);
  close(sv[0]);
  signal(SIGPIPE, SIG_IGN);
}

static void test_datagrams(void) {
  printf("-- datagrams and seqpackets\n");
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
  show_events("fresh dgram pair", sv[0]);
  CHECK(send(sv[0], "first message", 13, 0));
  CHECK(send(sv[0], "", 0, 0));
  CHECK(send(sv[0], "third", 5, 0));
  char buf[64] = {0};
  struct iovec v = {buf, 5};
  struct msghdr m = {0};
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  CHECK(recvmsg(sv[1], &m, MSG_PEEK));
  printf("peek flags: %s\n", m.msg_flags & MSG_TRUNC ? "MSG_TRUNC" : "none");
  CHECK(recvmsg(sv[1], &m, MSG_TRUNC));
  printf("data: %.5s flags: %s\n", buf, m.msg_flags & MSG_TRUNC ? "MSG_TRUNC" : "none");
  CHECK(recv(sv[1], buf, sizeof buf, 0));
  CHECK(ioctl(sv[1], FIONREAD, &v.iov_len));
  printf("FIONREAD (next datagram): %d\n", (int)(int)v.iov_len);
  CHECK(recv(sv[1], buf, sizeof buf, 0));
  CHECK(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
  int small = 1000;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  static char big[8000];
  CHECK(send(sv[0], big, 5000, 0));
  CHECK(send(sv[0], big, 4576, MSG_DONTWAIT));
  CHECK(recv(sv[1], big, sizeof big, 0));
  close(sv[0]);
  CHECK(send(sv[1], "x", 1, 0));
  CHECK(send(sv[1], "x", 1, 0));
  close(sv[1]);

  CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
  CHECK(send(sv[0], "abc", 3, 0));
  CHECK(send(sv[0], "defgh", 5, 0));
  CHECK(recv(sv[1], buf, 2, 0));
  CHECK(recv(sv[1], buf, 2, MSG_TRUNC));
  CHECK(shutdown(sv[0], SHUT_WR));
  CHECK(recv(sv[1], buf, sizeof buf, 0));
  show_events("seqpacket after peer SHUT_WR", sv[1]);
  close(sv[0]);
  close(sv[1]);
  int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  CHECK(send(s, "x", 1, 0));
  CHECK(recv(s, buf, 1, MSG_DONTWAIT));
  show_events("unconnected seqpacket", s);
  close(s);

  /* Named datagram sockets: sendto paths, sources, connected peers, the queue limit. */
  struct sockaddr_un a, b, from;
  socklen_t la = path_address(&a, "dgram-a"), lb = path_address(&b, "dgram-b");
  int da = socket(AF_UNIX, SOCK_DGRAM, 0), db = socket(AF_UNIX, SOCK_DGRAM, 0), dc = socket(AF_UNIX, SOCK_DGRAM, 0);
  CHECK(bind(da, (struct sockaddr*)&a, la));
  CHECK(bind(db, (struct sockaddr*)&b, lb));
  CHECK(sendto(dc, "anon", 4, 0, (struct sockaddr*)&a, la));
  socklen_t lf = sizeof from;
  memset(&from, 0, sizeof from);
  CHECK(recvfrom(da, buf, sizeof buf, 0, (struct sockaddr*)&from, &lf));
  printf("from unbound: len=%u\n", lf);
  CHECK(sendto(db, "named", 5, 0, (struct sockaddr*)&a, la));
  lf = sizeof from;
  CHECK(recvfrom(da, buf, sizeof buf, 0, (struct sockaddr*)&from, &lf));
  printf("from bound: len=%u path=%s\n", lf, from.sun_path);
  CHECK(send(dc, "x", 1, 0));
  CHECK(connect(dc, (struct sockaddr*)&a, la));
  show_name("connected dgram", dc, 1);
  CHECK(send(dc, "via connect", 11, 0));
  CHECK(recv(da, buf, sizeof buf, 0));
  CHECK(connect(da, (struct sockaddr*)&b, lb));
  CHECK(send(dc, "x", 1, 0));
  struct sockaddr unspec = {AF_UNSPEC};
  CHECK(connect(da, &unspec, sizeof unspec));
  int sent = 0;
  while (send(dc, "q", 1, MSG_DONTWAIT) == 1 && sent < 100) sent++;
  printf("datagrams queued before %s: %d\n", strerrorname_np(errno), sent);
  show_events("sender to a full queue", dc);
  struct sockaddr_un missing;
  socklen_t lm = path_address(&missing, "no-such-socket");
  CHECK(sendto(db, "x", 1, 0, (struct sockaddr*)&missing, lm));
  int st = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(sendto(st, "x", 1, 0, (struct sockaddr*)&a, la));
  close(st);
  close(da);
  CHECK(sendto(db, "x", 1, 0, (struct sockaddr*)&a, la));
  CHECK(send(dc, "x", 1, 0));
  CHECK(send(dc, "x", 1, 0));
  close(db);
  close(dc);

  /* sendmmsg / recvmmsg */
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  struct mmsghdr mm[4];
  struct iovec iv[4];
  char bufs[4][16];
  const char* words[3] = {"alpha", "be", "gamma!"};
  memset(mm, 0, sizeof mm);
  for (int i = 0; i < 3; i++) {
    iv[i].iov_base = (void*)words[i];
    iv[i].iov_len = strlen(words[i]);
    mm[i].msg_hdr.msg_iov = &iv[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  CHECK(sendmmsg(sv[0], mm, 3, 0));
  printf("sendmmsg lengths: %u %u %u\n", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
  memset(mm, 0, sizeof mm);
  for (int i = 0; i < 4; i++) {
    iv[i].iov_base = bufs[i];
    iv[i].iov_len = sizeof bufs[i];
    mm[i].msg_hdr.msg_iov = &iv[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  CHECK(recvmmsg(sv[1], mm, 4, MSG_DONTWAIT, NULL));
  printf("recvmmsg lengths: %u %u %u\n", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
  send(sv[0], "one", 3, 0);
  struct timespec t = {1, 0};
  CHECK(recvmmsg(sv[1], mm, 4, MSG_WAITFORONE, &t));
  CHECK(recvmmsg(sv[1], mm, 4, MSG_DONTWAIT, NULL));
  close(sv[0]);
  close(sv[1]);
}

static void test_names(void) {
  printf("-- names, listen, connect, accept\n");
  struct sockaddr_un a;
  socklen_t la = path_address(&a, "server.sock");
  int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  show_name("unbound", listener, 0);
  show_name("unbound", listener, 1);
  CHECK(listen(listener, 5));
  printf("SO_ACCEPTCONN before listen: %d\n", get_int(listener, SOL_SOCKET, SO_ACCEPTCONN));
  CHECK(bind(listener, (struct sockaddr*)&a, la));
  show_name("bound", listener, 0);
  struct stat st;
  CHECK(stat("server.sock", &st));
  printf("socket node: S_ISSOCK=%d\n", S_ISSOCK(st.st_mode));
  CHECK(bind(listener, (struct sockaddr*)&a, la));
  struct sockaddr_un other;
  socklen_t lo = path_address(&other, "other.sock");
  CHECK(bind(listener, (struct sockaddr*)&other, lo));
  CHECK(access("other.sock", F_OK));
  int second = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(bind(second, (struct sockaddr*)&a, la));
  int client = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(connect(client, (struct sockaddr*)&a, la));
  CHECK(listen(listener, 5));
  printf("SO_ACCEPTCONN after listen: %d\n", get_int(listener, SOL_SOCKET, SO_ACCEPTCONN));
  show_events("listener, nothing pending", listener);
  CHECK(connect(client, (struct sockaddr*)&a, la));
  show_events("listener, one pending", listener);
  CHECK(connect(client, (struct sockaddr*)&a, la));
  CHECK(connect(listener, (struct sockaddr*)&a, la));
  show_name("client", client, 0);
  show_name("client", client, 1);
  struct sockaddr_un peer;
  memset(&peer, 0, sizeof peer);
  socklen_t lp = sizeof peer;
  int accepted = CHECK_FD(accept4(listener, (struct sockaddr*)&peer, &lp, SOCK_CLOEXEC));
  printf("accepted peer address length: %u, cloexec=%d\n", lp, (fcntl(accepted, F_GETFD) & FD_CLOEXEC) != 0);
  show_name("accepted", accepted, 0);
  show_name("accepted", accepted, 1);
  CHECK(write(client, "ping", 4));
  char buf[64] = {0};
  CHECK(read(accepted, buf, sizeof buf));
  /* a short address buffer: the full length is reported */
  struct sockaddr_un small;
  memset(&small, 0x55, sizeof small);
  socklen_t ls = 4;
  CHECK(getsockname(listener, (struct sockaddr*)&small, &ls));
  printf("short getsockname: len=%u family=%d path[0..1]=%c%c untouched=%d\n", ls, small.sun_family, small.sun_path[0],
         small.sun_path[1], small.sun_path[2] == 0x55);
  ls = (socklen_t)-1;
  CHECK(getsockname(listener, (struct sockaddr*)&small, &ls));
  CHECK(accept4(listener, NULL, NULL, 0x1234));
  int flags = fcntl(listener, F_GETFL);
  fcntl(listener, F_SETFL, flags | O_NONBLOCK);
  CHECK(accept(listener, NULL, NULL));
  fcntl(listener, F_SETFL, flags);
  CHECK(accept(client, NULL, NULL));
  int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
  CHECK(listen(dg, 1));
  CHECK(accept(dg, NULL, NULL));
  CHECK(connect(dg, (struct sockaddr*)&a, la));
  int sp = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  CHECK(connect(sp, (struct sockaddr*)&a, la));
  close(sp);
  close(dg);
  /* a stream send that names an address */
  CHECK(sendto(client, "x", 1, 0, (struct sockaddr*)&a, la));
  int unconnected = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(sendto(unconnected, "x", 1, 0, (struct sockaddr*)&a, la));
  CHECK(send(unconnected, "x", 1, 0));
  CHECK(recv(unconnected, buf, 1, 0));
  show_events("unconnected stream", unconnected);
  /* connect errors */
  struct sockaddr_un bad;
  socklen_t lb = path_address(&bad, "missing.sock");
  CHECK(connect(unconnected, (struct sockaddr*)&bad, lb));
  close(open("plain.txt", O_CREAT | O_WRONLY, 0600));
  lb = path_address(&bad, "plain.txt");
  CHECK(connect(unconnected, (struct sockaddr*)&bad, lb));
  lb = path_address(&bad, "nodir/x.sock");
  CHECK(connect(unconnected, (struct sockaddr*)&bad, lb));
  int bound_only = socket(AF_UNIX, SOCK_STREAM, 0);
  lb = path_address(&bad, "bound-only.sock");
  CHECK(bind(bound_only, (struct sockaddr*)&bad, lb));
  CHECK(connect(unconnected, (struct sockaddr*)&bad, lb));
  close(bound_only);
  CHECK(access("bound-only.sock", F_OK));
  CHECK(connect(unconnected, (struct sockaddr*)&bad, lb));
  CHECK(bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&bad, lb));
  CHECK(unlink("bound-only.sock"));
  close(unconnected);
  close(second);
  close(client);
  close(accepted);

  /* The backlog: Linux lets backlog+1 connections wait. */
  int nb = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un q;
  socklen_t lq = path_address(&q, "backlog.sock");
  bind(nb, (struct sockaddr*)&q, lq);
  listen(nb, 1);
  int waiting[5], connected = 0;
  for (int i = 0; i < 5; i++) {
    waiting[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (connect(waiting[i], (struct sockaddr*)&q, lq) == 0)
      connected++;
    else
      printf("connect %d: %s\n", i, strerrorname_np(errno));
  }
  printf("connections accepted into a backlog of 1: %d\n", connected);
  write(waiting[0], "queued", 6);
  close(nb);
  char c;
  CHECK(read(waiting[0], &c, 1));
  CHECK(read(waiting[0], &c, 1));
  CHECK(write(waiting[1], "x", 1));
  for (int i = 0; i < 5; i++) close(waiting[i]);
  CHECK(connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&q, lq));

  /* Abstract names and autobind. */
  struct sockaddr_un ab, family_only = {AF_UNIX};
  socklen_t lab = abstract_address(&ab, "abstract");
  int as = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(bind(as, (struct sockaddr*)&ab, lab));
  show_name("abstract", as, 0);
  int as2 = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(bind(as2, (struct sockaddr*)&ab, lab));
  CHECK(listen(as, 2));
  int ac = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(connect(ac, (struct sockaddr*)&ab, lab));
  show_name("abstract client", ac, 1);
  close(as);
  CHECK(connect(as2, (struct sockaddr*)&ab, lab));
  CHECK(bind(as2, (struct sockaddr*)&ab, lab));
  CHECK(bind(as2, (struct sockaddr*)&family_only, sizeof(sa_family_t)));
  show_name("abstract after autobind request", as2, 0);
  close(as2);
  as2 = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(bind(as2, (struct sockaddr*)&family_only, sizeof(sa_family_t)));
  show_name("autobound", as2, 0);
  struct sockaddr_un autoname;
  socklen_t lan = sizeof autoname;
  getsockname(as2, (struct sockaddr*)&autoname, &lan);
  int hex = 1;
  for (int i = 1; i < 6; i++) hex &= strchr("0123456789abcdef", autoname.sun_path[i]) != NULL;
  printf("autobind name: five hex digits=%d\n", hex);
  CHECK(bind(as2, (struct sockaddr*)&family_only, sizeof(sa_family_t)));
  close(as2);
  close(ac);
  /* A datagram sender with SO_PASSCRED is autobound when it sends. */
  int sv[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  int on = 1;
  setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  show_name("passcred before send", sv[0], 0);
  send(sv[0], "x", 1, 0);
  show_name("passcred after send", sv[0], 0);
  close(sv[0]);
  close(sv[1]);
  close(listener);
}

static void test_rights(void) {
  printf("-- SCM_RIGHTS and SCM_CREDENTIALS\n");
  int sv[2], p[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  pipe(p);
  union {
    char buf[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct iovec v = {"F", 1};
  struct msghdr m = {0};
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  m.msg_control = control.buf;
  m.msg_controllen = CMSG_SPACE(sizeof(int));
  struct cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &p[0], sizeof(int));
  CHECK(sendmsg(sv[0], &m, 0));
  close(p[0]);
  char data[8];
  struct iovec rv = {data, sizeof data};
  struct msghdr r = {0};
  r.msg_iov = &rv;
  r.msg_iovlen = 1;
  r.msg_control = control.buf;
  r.msg_controllen = sizeof control.buf;
  memset(&control, 0, sizeof control);
  CHECK(recvmsg(sv[1], &r, MSG_CMSG_CLOEXEC));
  c = CMSG_FIRSTHDR(&r);
  printf("controllen=%zu flags=%#x level=%d type=%d len=%zu\n", (size_t)r.msg_controllen, r.msg_flags,
         c ? c->cmsg_level : -1, c ? c->cmsg_type : -1, c ? (size_t)c->cmsg_len : 0);
  int received = -1;
  if (c) memcpy(&received, CMSG_DATA(c), sizeof(int));
  printf("received cloexec=%d\n", (fcntl(received, F_GETFD) & FD_CLOEXEC) != 0);
  CHECK(write(p[1], "through the pipe", 16));
  char buf[32] = {0};
  CHECK(read(received, buf, sizeof buf));
  printf("read through the passed descriptor: %s\n", buf);
  close(received);

  /* Two descriptors, room for one: MSG_CTRUNC, the other is closed. */
  int two[2];
  pipe(two);
  m.msg_controllen = CMSG_SPACE(2 * sizeof(int));
  c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(2 * sizeof(int));
  memcpy(CMSG_DATA(c), two, 2 * sizeof(int));
  CHECK(sendmsg(sv[0], &m, 0));
  close(two[0]);
  close(two[1]);
  r.msg_controllen = CMSG_LEN(sizeof(int));
  r.msg_flags = 0;
  CHECK(recvmsg(sv[1], &r, 0));
  c = CMSG_FIRSTHDR(&r);
  printf("truncated: controllen=%zu flags=%s len=%zu\n", (size_t)r.msg_controllen,
         r.msg_flags & MSG_CTRUNC ? "MSG_CTRUNC" : "none", c ? (size_t)c->cmsg_len : 0);
  memcpy(&received, CMSG_DATA(c), sizeof(int));
  /* the write end was dropped: reading the read end gives end of file */
  CHECK(read(received, buf, sizeof buf));
  close(received);
  /* No room at all. */
  pipe(two);
  c = CMSG_FIRSTHDR(&m);
  memcpy(CMSG_DATA(c), two, 2 * sizeof(int));
  CHECK(sendmsg(sv[0], &m, 0));
  close(two[0]);
  r.msg_controllen = 0;
  r.msg_control = NULL;
  CHECK(recvmsg(sv[1], &r, 0));
  printf("no room: controllen=%zu flags=%s\n", (size_t)r.msg_controllen, r.msg_flags & MSG_CTRUNC ? "MSG_CTRUNC" : "none");
  signal(SIGPIPE, SIG_IGN);
  CHECK(write(two[1], "x", 1));
  close(two[1]);
  /* Bad control data. */
  c = CMSG_FIRSTHDR(&m);
  int bad = 999;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &bad, sizeof bad);
  m.msg_controllen = CMSG_SPACE(sizeof(int));
  CHECK(sendmsg(sv[0], &m, 0));
  c->cmsg_len = 4;
  CHECK(sendmsg(sv[0], &m, 0));
  c->cmsg_len = CMSG_LEN(sizeof(int));
  c->cmsg_type = 77;
  CHECK(sendmsg(sv[0], &m, 0));
  c->cmsg_level = 99;
  CHECK(sendmsg(sv[0], &m, 0));
  CHECK(recv(sv[1], buf, sizeof buf, 0));

  /* Credentials. */
  int on = 1;
  CHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
  printf("SO_PASSCRED: %d\n", get_int(sv[1], SOL_SOCKET, SO_PASSCRED));
  CHECK(send(sv[0], "cred", 4, 0));
  r.msg_control = control.buf;
  r.msg_controllen = sizeof control.buf;
  r.msg_flags = 0;
  memset(&control, 0, sizeof control);
  CHECK(recvmsg(sv[1], &r, 0));
  c = CMSG_FIRSTHDR(&r);
  struct ucred cred = {0};
  if (c && c->cmsg_type == SCM_CREDENTIALS) memcpy(&cred, CMSG_DATA(c), sizeof cred);
  printf("SCM_CREDENTIALS: type=%d len=%zu pid ok=%d uid ok=%d gid ok=%d\n", c ? c->cmsg_type : -1,
         c ? (size_t)c->cmsg_len : 0, cred.pid == getpid(), cred.uid == getuid(), cred.gid == getgid());
  /* explicit credentials */
  m.msg_controllen = CMSG_SPACE(sizeof(struct ucred));
  c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
  struct ucred mine = {getpid(), getuid(), getgid()};
  memcpy(CMSG_DATA(c), &mine, sizeof mine);
  CHECK(sendmsg(sv[0], &m, 0));
  c->cmsg_len = CMSG_LEN(sizeof(struct ucred)) - 1;
  CHECK(sendmsg(sv[0], &m, 0));
  r.msg_controllen = sizeof(struct cmsghdr) + 4;
  r.msg_flags = 0;
  CHECK(recvmsg(sv[1], &r, 0));
  printf("short room for credentials: controllen=%zu flags=%s\n", (size_t)r.msg_controllen,
         r.msg_flags & MSG_CTRUNC ? "MSG_CTRUNC" : "none");
  socklen_t l = sizeof cred;
  CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &l));
  printf("SO_PEERCRED: len=%u pid ok=%d uid ok=%d\n", l, cred.pid == getpid(), cred.uid == getuid());
  close(sv[0]);
  close(sv[1]);
}

static void test_options(void) {
  printf("-- socket options\n");
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  printf("SO_TYPE=%d SO_DOMAIN=%d SO_PROTOCOL=%d SO_ERROR=%d\n", get_int(s, SOL_SOCKET, SO_TYPE),
         get_int(s, SOL_SOCKET, SO_DOMAIN), get_int(s, SOL_SOCKET, SO_PROTOCOL), get_int(s, SOL_SOCKET, SO_ERROR));
  printf("default SO_SNDBUF=%d SO_RCVBUF=%d SO_RCVLOWAT=%d SO_SNDLOWAT=%d\n", get_int(s, SOL_SOCKET, SO_SNDBUF),
         get_int(s, SOL_SOCKET, SO_RCVBUF), get_int(s, SOL_SOCKET, SO_RCVLOWAT), get_int(s, SOL_SOCKET, SO_SNDLOWAT));
  /* (The caps, net.core.rmem_max and wmem_max, are the host's settings, so not shown.) */
  struct ucred unconnected = {1, 2, 3};
  socklen_t cl = sizeof unconnected;
  CHECK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &unconnected, &cl));
  printf("unconnected SO_PEERCRED: pid=%d uid=%d gid=%d\n", unconnected.pid, (int)unconnected.uid, (int)unconnected.gid);
  int values[] = {0, 1000, 2000, 100000};
  for (int i = 0; i < 4; i++) {
    int v = values[i];
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    printf("set %d: SO_RCVBUF=%d SO_SNDBUF=%d\n", v, get_int(s, SOL_SOCKET, SO_RCVBUF), get_int(s, SOL_SOCKET, SO_SNDBUF));
  }
  int one = 1;
  CHECK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
  printf("SO_REUSEADDR=%d\n", get_int(s, SOL_SOCKET, SO_REUSEADDR));
  CHECK(setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one));
  CHECK(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one));
  printf("SO_KEEPALIVE=%d\n", get_int(s, SOL_SOCKET, SO_KEEPALIVE));
  CHECK(setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, 2));
  CHECK(setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, 8));
  CHECK(setsockopt(s, SOL_SOCKET, SO_TYPE, &one, sizeof one));
  CHECK(setsockopt(s, SOL_SOCKET, 9999, &one, sizeof one));
  CHECK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, -1));
  CHECK(setsockopt(s, 6, 1, &one, sizeof one));
  int v = 7;
  CHECK(setsockopt(s, SOL_SOCKET, SO_PRIORITY, &v, sizeof v));
  printf("SO_PRIORITY=%d\n", get_int(s, SOL_SOCKET, SO_PRIORITY));
  v = 0;
  CHECK(setsockopt(s, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v));
  printf("SO_RCVLOWAT after 0: %d\n", get_int(s, SOL_SOCKET, SO_RCVLOWAT));
  short half = 0;
  socklen_t l = sizeof half;
  CHECK(getsockopt(s, SOL_SOCKET, SO_TYPE, &half, &l));
  printf("short getsockopt: len=%u value=%d\n", l, half);
  int big[4] = {0};
  l = sizeof big;
  CHECK(getsockopt(s, SOL_SOCKET, SO_TYPE, big, &l));
  printf("long getsockopt: len=%u\n", l);
  l = (socklen_t)-1;
  CHECK(getsockopt(s, SOL_SOCKET, SO_TYPE, big, &l));
  CHECK(getsockopt(s, SOL_SOCKET, 9999, big, &l));
  struct linger lg = {1, 5};
  CHECK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  memset(&lg, 0, sizeof lg);
  l = sizeof lg;
  CHECK(getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &l));
  printf("SO_LINGER: onoff=%d linger=%d len=%u\n", lg.l_onoff, lg.l_linger, l);
  CHECK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, 4));
  struct timeval tv = {1, 500000};
  CHECK(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  memset(&tv, 0, sizeof tv);
  l = sizeof tv;
  CHECK(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &l));
  printf("SO_RCVTIMEO: %ld.%06ld len=%u\n", (long)tv.tv_sec, (long)tv.tv_usec, l);
  tv.tv_usec = 1000000;
  CHECK(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
  tv.tv_usec = -1;
  CHECK(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
  CHECK(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, 8));
  close(s);
  /* A receive timeout ends a blocking receive with EAGAIN. */
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct timeval short_wait = {0, 50000};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &short_wait, sizeof short_wait);
  char c;
  CHECK(read(sv[0], &c, 1));
  CHECK(recv(sv[0], &c, 1, 0));
  int nb = 1;
  CHECK(ioctl(sv[1], FIONBIO, &nb));
  printf("O_NONBLOCK after FIONBIO: %d\n", (fcntl(sv[1], F_GETFL) & O_NONBLOCK) != 0);
  CHECK(read(sv[1], &c, 1));
  CHECK(ioctl(sv[1], FIOASYNC, &nb));
  printf("O_ASYNC after FIOASYNC: %d\n", (fcntl(sv[1], F_GETFL) & O_ASYNC) != 0);
  close(sv[0]);
  close(sv[1]);
}

/* A server thread accepts clients one by one and echoes what each sends, upper-cased. */
static struct sockaddr_un g_server;
static socklen_t g_server_length;
static int g_listener;

static void* echo_server(void* arg) {
  int clients = *(int*)arg;
  for (int i = 0; i < clients; i++) {
    int fd = accept(g_listener, NULL, NULL);
    if (fd < 0) return NULL;
    char buf[256];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
      for (ssize_t j = 0; j < n; j++)
        if (buf[j] >= 'a' && buf[j] <= 'z') buf[j] -= 32;
      write(fd, buf, (size_t)n);
    }
    close(fd);
  }
  return NULL;
}

static int g_slow_fd;
static void* slow_writer(void* arg) {
  (void)arg;
  const char* parts[] = {"wait", "all ", "data"};
  for (int i = 0; i < 3; i++) {
    struct timespec t = {0, 20000000};
    nanosleep(&t, NULL);
    write(g_slow_fd, parts[i], 4);
  }
  return NULL;
}

static void* big_reader(void* arg) {
  int fd = *(int*)arg;
  static char buf[65536];
  long total = 0;
  unsigned sum = 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) sum = sum * 31 + (unsigned char)buf[i];
    total += n;
  }
  printf("reader got %ld bytes, checksum %08x\n", total, sum);
  return NULL;
}

static void test_threads(void) {
  printf("-- threads\n");
  g_listener = socket(AF_UNIX, SOCK_STREAM, 0);
  g_server_length = path_address(&g_server, "echo.sock");
  bind(g_listener, (struct sockaddr*)&g_server, g_server_length);
  listen(g_listener, 4);
  int clients = 3;
  pthread_t server;
  pthread_create(&server, NULL, echo_server, &clients);
  for (int i = 0; i < clients; i++) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(fd, (struct sockaddr*)&g_server, g_server_length));
    char message[64], reply[64] = {0};
    int n = snprintf(message, sizeof message, "hello from client %d", i);
    write(fd, message, (size_t)n);
    CHECK(recv(fd, reply, (size_t)n, MSG_WAITALL));
    printf("echo: %s\n", reply);
    close(fd);
  }
  pthread_join(server, NULL);
  close(g_listener);
  /* MSG_WAITALL gathers pieces written over time. */
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  g_slow_fd = sv[0];
  pthread_t writer;
  pthread_create(&writer, NULL, slow_writer, NULL);
  char buf[16] = {0};
  CHECK(recv(sv[1], buf, 12, MSG_WAITALL));
  printf("waitall: %s\n", buf);
  pthread_join(writer, NULL);
  close(sv[0]);
  close(sv[1]);
  /* A megabyte through a stream, the writer blocking on a full buffer. */
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  pthread_t reader;
  pthread_create(&reader, NULL, big_reader, &sv[1]);
  static char data[1 << 20];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (char)(i * 7 + i / 4096);
  CHECK(write(sv[0], data, sizeof data));
  close(sv[0]);
  pthread_join(reader, NULL);
  close(sv[1]);
  /* A blocked accept is woken by a connect from another thread. */
  socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
  g_slow_fd = sv[0];
  pthread_create(&writer, NULL, slow_writer, NULL);
  struct pollfd p = {sv[1], POLLIN, 0};
  CHECK(poll(&p, 1, 5000));
  CHECK(recv(sv[1], buf, sizeof buf, 0));
  pthread_join(writer, NULL);
  close(sv[0]);
  close(sv[1]);
}

static void on_alarm(int sig) { (void)sig; }

static void alarm_in_ms(long ms) {
  struct itimerval t = {{0, 0}, {0, ms * 1000}};
  setitimer(ITIMER_REAL, &t, NULL);
}

static void use_alarm_handler(int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = flags;
  sigaction(SIGALRM, &sa, NULL);
}

static int g_late_fd;
static void* connect_late(void* arg) {
  struct timespec t = {0, 40000000};
  nanosleep(&t, NULL);
  struct sockaddr_un* a = arg;
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  connect(fd, (struct sockaddr*)a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1));
  write(fd, "late", 4);
  g_late_fd = fd;
  return NULL;
}

static void* accept_late(void* arg) {
  struct timespec t = {0, 40000000};
  nanosleep(&t, NULL);
  int fd = accept(*(int*)arg, NULL, NULL);
  return (void*)(long)fd;
}

static void test_blocking(void) {
  printf("-- blocking calls: signals, epoll, wake-ups\n");
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  char c;
  /* A signal without SA_RESTART ends a blocking receive with EINTR. */
  use_alarm_handler(0);
  alarm_in_ms(30);
  CHECK(recv(sv[0], &c, 1, 0));
  /* With SA_RESTART the receive restarts, unless the socket has a receive timeout. */
  use_alarm_handler(SA_RESTART);
  struct timeval tv = {0, 300000};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  alarm_in_ms(30);
  CHECK(recv(sv[0], &c, 1, 0));
  tv.tv_usec = 0;
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  g_slow_fd = sv[1];
  pthread_t writer;
  pthread_create(&writer, NULL, slow_writer, NULL);
  alarm_in_ms(10);
  CHECK(recv(sv[0], &c, 1, 0));
  pthread_join(writer, NULL);
  signal(SIGALRM, SIG_DFL);
  char rest[16];
  CHECK(recv(sv[0], rest, sizeof rest, MSG_WAITALL | MSG_DONTWAIT));
  /* epoll: level-triggered input, then EPOLLRDHUP at the peer's SHUT_WR. */
  int ep = epoll_create1(0);
  struct epoll_event ev = {EPOLLIN | EPOLLRDHUP | EPOLLET, {.fd = sv[0]}};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev));
  CHECK(epoll_wait(ep, &ev, 1, 0));
  pthread_create(&writer, NULL, slow_writer, NULL);
  struct epoll_event got;
  CHECK(epoll_wait(ep, &got, 1, 5000));
  printf("epoll events: %s%s\n", got.events & EPOLLIN ? "IN" : "", got.events & EPOLLRDHUP ? " RDHUP" : "");
  pthread_join(writer, NULL);
  CHECK(recv(sv[0], rest, sizeof rest, 0) > 0);
  shutdown(sv[1], SHUT_WR);
  CHECK(epoll_wait(ep, &got, 1, 5000));
  printf("epoll events: %s%s\n", got.events & EPOLLIN ? "IN" : "", got.events & EPOLLRDHUP ? " RDHUP" : "");
  close(ep);
  close(sv[0]);
  close(sv[1]);
  /* A blocked accept is woken by a connect from another thread. */
  struct sockaddr_un a;
  socklen_t la = path_address(&a, "wake.sock");
  int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  bind(listener, (struct sockaddr*)&a, la);
  listen(listener, 0);
  pthread_t other;
  pthread_create(&other, NULL, connect_late, &a);
  int fd = CHECK_FD(accept(listener, NULL, NULL));
  char buf[8] = {0};
  CHECK(recv(fd, buf, 4, MSG_WAITALL));
  pthread_join(other, NULL);
  close(fd);
  close(g_late_fd);
  /* A connect waiting for room in the backlog is let in by an accept. */
  int first = socket(AF_UNIX, SOCK_STREAM, 0), second = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(connect(first, (struct sockaddr*)&a, la));
  pthread_create(&other, NULL, accept_late, &listener);
  CHECK(connect(second, (struct sockaddr*)&a, la));
  void* accepted;
  pthread_join(other, &accepted);
  printf("accepted in the other thread: %s\n", (long)accepted >= 0 ? "yes" : "no");
  close((int)(long)accepted);
  close(first);
  close(second);
  close(listener);
  unlink("wake.sock");
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  char dir[] = "/tmp/nimbus-sockets-XXXXXX";
  if (!mkdtemp(dir)) return 2;
  if (chdir(dir) != 0) return 2;
  test_socket_errors();
  test_socketpair_stream();
  test_epipe();
  test_datagrams();
  test_names();
  test_rights();
  test_options();
  test_threads();
  test_blocking();
  const char* made[] = {"sendfile.txt", "dgram-a", "dgram-b", "server.sock", "plain.txt", "backlog.sock", "echo.sock"};
  for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) unlink(made[i]);
  if (chdir("/") != 0 || rmdir(dir) != 0) printf("leftovers in the test directory: %s\n", strerrorname_np(errno));
  return 0;
}
