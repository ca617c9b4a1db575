/* Waits in poll() for standard input twice: once for bytes that arrive a while later, once
 * for the end of input. Prints what poll and read returned each time. */
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

static void wait_and_read(void) {
  struct pollfd p = {0, POLLIN, 0};
  int ready = poll(&p, 1, 20000);
  char buffer[64];
  ssize_t n = read(0, buffer, sizeof buffer);
  printf("poll %d%s%s, read %zd\n", ready, p.revents & POLLIN ? " POLLIN" : "", p.revents & POLLHUP ? " POLLHUP" : "", n);
}

int main(void) {
  wait_and_read();
  wait_and_read();
  return 0;
}
