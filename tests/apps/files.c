/* Differential test: the file system calls, with output that is the same on Linux and Nimbus. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHECK(expr) check(#expr, (long)(expr))
static long check(const char* what, long result) {
  printf("%-60s = %ld%s%s\n", what, result, result < 0 ? " errno=" : "", result < 0 ? strerror(errno) : "");
  return result;
}

/* Descriptor numbers depend on what the parent left open, so only their validity is shown. */
#define CHECK_FD(expr) check_fd(#expr, (int)(expr))
static int check_fd(const char* what, int fd) {
  printf("%-60s -> %s\n", what, fd >= 0 ? "a descriptor" : strerror(errno));
  return fd;
}

static int compare(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

int main(void) {
  char dir[] = "/tmp/nimbus-files-XXXXXX";
  if (!mkdtemp(dir)) return 2;
  CHECK(chdir(dir));
  int fd = CHECK_FD(open("a.txt", O_CREAT | O_RDWR | O_EXCL, 0640));
  CHECK(write(fd, "hello, world\n", 13));
  CHECK(lseek(fd, 0, SEEK_CUR));
  CHECK(lseek(fd, 7, SEEK_SET));
  char buf[64] = {0};
  CHECK(read(fd, buf, sizeof buf));
  printf("read back: %s", buf);
  CHECK(pwrite(fd, "W", 1, 7));
  memset(buf, 0, sizeof buf);
  CHECK(pread(fd, buf, 5, 7));
  printf("pread: %s\n", buf);
  struct iovec v[2] = {{"abc", 3}, {"def\n", 4}};
  CHECK(lseek(fd, 0, SEEK_END));
  CHECK(writev(fd, v, 2));
  struct stat st;
  CHECK(fstat(fd, &st));
  printf("size=%ld regular=%d mode=%o\n", (long)st.st_size, S_ISREG(st.st_mode), st.st_mode & 0777);
  CHECK(ftruncate(fd, 5));
  CHECK(fstat(fd, &st));
  printf("size after truncate=%ld\n", (long)st.st_size);
  CHECK(open("a.txt", O_CREAT | O_EXCL | O_RDWR, 0600));
  CHECK(open("missing", O_RDONLY));
  CHECK(dup2(fd, 10));
  CHECK(fcntl(10, F_GETFD));
  CHECK(fcntl(fd, F_DUPFD_CLOEXEC, 20));
  CHECK(close(10));
  CHECK(close(10));
  CHECK(mkdir("sub", 0755));
  CHECK(mkdir("sub", 0755));
  CHECK(rename("a.txt", "sub/b.txt"));
  CHECK(symlink("sub/b.txt", "link"));
  char target[64] = {0};
  CHECK(readlink("link", target, sizeof target));
  printf("link -> %s\n", target);
  CHECK(stat("link", &st));
  printf("via link size=%ld\n", (long)st.st_size);
  CHECK(lstat("link", &st));
  printf("lstat is link=%d\n", S_ISLNK(st.st_mode));
  CHECK(link("sub/b.txt", "hard"));
  CHECK(stat("hard", &st));
  printf("nlink=%ld\n", (long)st.st_nlink);
  CHECK(access("hard", R_OK | W_OK));
  CHECK(access("nope", F_OK));
  CHECK(rmdir("sub"));
  CHECK(unlink("sub/b.txt"));
  CHECK(rmdir("sub"));
  DIR* d = opendir(".");
  char* names[16];
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) && n < 16) names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, n, sizeof names[0], compare);
  for (int i = 0; i < n; i++) printf("entry %s\n", names[i]);
  {
    /* The older getdents(2): struct linux_dirent, d_type in each record's last byte. */
    char records[1024];
    int fd = open(".", O_RDONLY | O_DIRECTORY);
    long got = syscall(SYS_getdents, fd, records, sizeof records);
    char* old_names[16];
    char old_types[16];
    int count = 0;
    for (long at = 0; at < got && count < 16;) {
      unsigned short length;
      memcpy(&length, records + at + 16, sizeof length);
      old_names[count] = strdup(records + at + 18);
      old_types[count++] = records[at + length - 1];
      at += length;
    }
    for (int i = 0; i < count; i++)
      for (int j = i + 1; j < count; j++)
        if (strcmp(old_names[i], old_names[j]) > 0) {
          char* name = old_names[i];
          old_names[i] = old_names[j];
          old_names[j] = name;
          char type = old_types[i];
          old_types[i] = old_types[j];
          old_types[j] = type;
        }
    for (int i = 0; i < count; i++) printf("getdents entry %s type %d\n", old_names[i], old_types[i]);
    close(fd);
    fd = open("hard", O_RDONLY);
    got = syscall(SYS_getdents, fd, records, sizeof records);
    printf("getdents on a file: %ld %s\n", got, strerror(errno));
    close(fd);
  }
  char cwd[256];
  printf("getcwd ends with dir name: %d\n", getcwd(cwd, sizeof cwd) && strcmp(cwd, dir) == 0);
  int p[2];
  CHECK(pipe(p));
  CHECK(write(p[1], "pipe!", 5));
  memset(buf, 0, sizeof buf);
  CHECK(read(p[0], buf, sizeof buf));
  printf("pipe: %s\n", buf);
  CHECK(unlink("hard"));
  CHECK(unlink("link"));
  CHECK(chdir("/"));
  CHECK(rmdir(dir));
  return 0;
}
