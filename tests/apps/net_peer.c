// net_peer: the guest side of the tap network tests (tests/vm/net_tap_test.cc) and of
// scripts/net-stress. One dual-stack listener on [::]:PORT (default 9000); each connection
// starts with a command line:
//   ping           -> "pong\n", then close once the client has (the short-connection test)
//   echo           -> echoes everything until the peer closes
//   bulk N         -> reads N bytes, answers their FNV-1a 64 checksum as 16 hex digits and a
//                     newline, then sends N bytes of the pattern pattern_byte() and closes
//   stat           -> /proc/net/sockstat and sockstat6 followed by MemFree/MemAvailable from /proc/meminfo
//   queues         -> /proc/net/queues (each interface's queue pairs and their counters)
//   quit           -> exit(0)
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// The bytes both sides generate: a xorshift64 stream seeded by the transfer's length.
typedef struct {
  uint64_t state;
} Pattern;
static void pattern_init(Pattern* p, uint64_t seed) { p->state = seed * 0x9E3779B97F4A7C15ull + 1; }
static void pattern_fill(Pattern* p, unsigned char* out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    p->state ^= p->state << 13;
    p->state ^= p->state >> 7;
    p->state ^= p->state << 17;
    out[i] = (unsigned char)(p->state >> 32);
  }
}

static int write_all(int fd, const void* data, size_t n) {
  const char* p = data;
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

// Reads one line (without the newline) byte by byte, so nothing after it is consumed.
static int read_line(int fd, char* line, size_t size) {
  size_t n = 0;
  while (n + 1 < size) {
    char c;
    if (recv(fd, &c, 1, 0) != 1) return -1;
    if (c == '\n') break;
    line[n++] = c;
  }
  line[n] = 0;
  return 0;
}

static void bulk(int fd, uint64_t length) {
  static __thread unsigned char buffer[1 << 16];
  uint64_t hash = 0xcbf29ce484222325ull, received = 0;
  while (received < length) {
    size_t want = length - received < sizeof buffer ? (size_t)(length - received) : sizeof buffer;
    ssize_t n = recv(fd, buffer, want, 0);
    if (n <= 0) return;
    for (ssize_t i = 0; i < n; i++) hash = (hash ^ buffer[i]) * 0x100000001b3ull;
    received += (uint64_t)n;
  }
  char reply[32];
  snprintf(reply, sizeof reply, "%016llx\n", (unsigned long long)hash);
  if (write_all(fd, reply, strlen(reply)) != 0) return;
  Pattern pattern;
  pattern_init(&pattern, length);
  for (uint64_t sent = 0; sent < length;) {
    size_t chunk = length - sent < sizeof buffer ? (size_t)(length - sent) : sizeof buffer;
    pattern_fill(&pattern, buffer, chunk);
    if (write_all(fd, buffer, chunk) != 0) return;
    sent += chunk;
  }
}

static void append_file(char* out, size_t size, const char* path, const char* prefix) {
  FILE* f = fopen(path, "r");
  if (!f) {
    snprintf(out + strlen(out), size - strlen(out), "%s: missing\n", path);
    return;
  }
  char line[256];
  while (fgets(line, sizeof line, f))
    if (!prefix || strncmp(line, prefix, strlen(prefix)) == 0) snprintf(out + strlen(out), size - strlen(out), "%s", line);
  fclose(f);
}

typedef struct {
  int fd;
  char line[128];
} Request;

static void* serve(void* argument) {
  Request* request = argument;
  int fd = request->fd;
  const char* line = request->line;
  {
    if (strncmp(line, "bulk ", 5) == 0) {
      bulk(fd, strtoull(line + 5, NULL, 10));
    } else if (strcmp(line, "echo") == 0) {
      char buffer[4096];
      ssize_t n;
      while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0)
        if (write_all(fd, buffer, (size_t)n) != 0) break;
    } else if (strcmp(line, "stat") == 0) {
      char text[2048] = "";
      append_file(text, sizeof text, "/proc/net/sockstat", NULL);
      append_file(text, sizeof text, "/proc/net/sockstat6", NULL);
      append_file(text, sizeof text, "/proc/meminfo", "MemFree:");
      write_all(fd, text, strlen(text));
    } else if (strcmp(line, "queues") == 0) {
      char text[2048] = "";
      append_file(text, sizeof text, "/proc/net/queues", NULL);
      write_all(fd, text, strlen(text));
    } else if (strcmp(line, "quit") == 0) {
      write_all(fd, "bye\n", 4);
      close(fd);
      exit(0);
    }
  }
  close(fd);
  free(request);
  return NULL;
}

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 9000;
  int listener = socket(AF_INET6, SOCK_STREAM, 0);
  int off = 0, on = 1;
  setsockopt(listener, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in6 address = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
  if (listener < 0 || bind(listener, (struct sockaddr*)&address, sizeof address) != 0 || listen(listener, 128) != 0) {
    perror("net_peer: listen");
    return 1;
  }
  printf("net_peer: listening on %d\n", port);
  fflush(stdout);
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) continue;
    // Short connections are answered here; the long ones get a thread each.
    Request* request = malloc(sizeof *request);
    request->fd = fd;
    if (read_line(fd, request->line, sizeof request->line) != 0 || strcmp(request->line, "ping") == 0) {
      // The client closes first (and keeps the TIME_WAIT), as an HTTP/1.1 client does.
      if (strcmp(request->line, "ping") == 0 && write_all(fd, "pong\n", 5) == 0) {
        char c;
        while (recv(fd, &c, 1, 0) > 0) {
        }
      }
      close(fd);
      free(request);
      continue;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, serve, request) != 0) {
      close(fd);
      free(request);
      continue;
    }
    pthread_detach(thread);
  }
}
