// Reports what the standard streams are (isatty, fstat's type, TCGETS, the window size, the
// terminal's name), then
// reopens them by name (/dev/stderr, /proc/self/fd/1) and writes through the new descriptors,
// and makes one write from a bad pointer (EFAULT, which --strace shows as an address).
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static const char* type_name(mode_t mode) {
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISCHR(mode)) return "chr";
  if (S_ISREG(mode)) return "reg";
  if (S_ISSOCK(mode)) return "sock";
  return "other";
}

static void report(int fd) {
  struct stat st;
  struct termios settings;
  struct winsize size;
  if (fstat(fd, &st) != 0) {
    printf("%d: fstat errno %d\n", fd, errno);
    return;
  }
  int tty = isatty(fd);
  printf("%d: %s isatty=%d", fd, type_name(st.st_mode), tty);
  if (ioctl(fd, TCGETS, &settings) != 0)
    printf(" TCGETS=%s", errno == ENOTTY ? "ENOTTY" : strerror(errno));
  else if (ioctl(fd, TIOCGWINSZ, &size) == 0)
    printf(" winsize=%ux%u", size.ws_row, size.ws_col);
  if (tty) printf(" name=%s", ttyname(fd) ? ttyname(fd) : strerror(errno));
  printf(" access=%s\n", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY   ? "r"
                         : (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY ? "w"
                                                                        : "rw");
}

static void write_through(const char* path, const char* text) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) {
    printf("open %s: %s\n", path, strerror(errno));
    return;
  }
  if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
    printf("write %s: %s\n", path, strerror(errno));
  close(fd);
}

int main(void) {
  for (int fd = 0; fd < 3; fd++) report(fd);
  fflush(stdout);
  write_through("/dev/stderr", "to /dev/stderr\n");
  write_through("/proc/self/fd/1", "to /proc/self/fd/1\n");
  write_through("/dev/stdout", "to /dev/stdout\n");
  const void* volatile unmapped = (const void*)8;
  ssize_t bad = write(1, unmapped, 10);
  printf("bad pointer: %zd %s\n", bad, bad < 0 && errno == EFAULT ? "EFAULT" : "?");
  return 0;
}
