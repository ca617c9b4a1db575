// Memory edge cases as a program sees them: PROT_NONE and back keeps the data, MADV_DONTNEED
// on shared anonymous memory keeps it, brk refuses what it cannot give, madvise and mmap check
// their arguments, and RLIMIT_AS, RLIMIT_DATA and RLIMIT_FSIZE limit mappings, brk and writes.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096

static const char* error_name(int e) {
  switch (e) {
    case 0: return "ok";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EOVERFLOW: return "EOVERFLOW";
    case EFBIG: return "EFBIG";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    default: return "other";
  }
}

static const char* map_error(void* p) { return error_name(p == MAP_FAILED ? errno : 0); }

// A checksum of the bytes, to print.
static unsigned sum(const unsigned char* p, size_t n) {
  unsigned s = 0;
  for (size_t i = 0; i < n; i++) s = s * 31 + p[i];
  return s;
}

static void protection(void) {
  printf("-- mprotect\n");
  size_t n = 16 * PAGE;
  unsigned char* p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 7 + i / PAGE);
  unsigned before = sum(p, n);
  printf("PROT_NONE: %d\n", mprotect(p, n, PROT_NONE));
  printf("back to read: %d\n", mprotect(p + 4 * PAGE, 8 * PAGE, PROT_READ));
  printf("middle kept: %u\n", sum(p + 4 * PAGE, 8 * PAGE));
  printf("back to read-write: %d\n", mprotect(p, n, PROT_READ | PROT_WRITE));
  printf("all kept: %d (%u)\n", sum(p, n) == before, sum(p, n));
  p[0] = 1;
  printf("writable again: %u\n", p[0]);
  munmap(p, n);

  // A private file mapping's copies survive too.
  char path[] = "/tmp/nimbus-memory-edges-XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  char text[PAGE] = "file contents";
  if (write(fd, text, sizeof(text)) != (ssize_t)sizeof(text)) return;
  char* f = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  strcpy(f, "private copy");
  mprotect(f, PAGE, PROT_NONE);
  mprotect(f, PAGE, PROT_READ);
  printf("private file page: %s\n", f);
  munmap(f, PAGE);
  close(fd);
}

static void shared_anonymous(void) {
  printf("-- shared anonymous memory\n");
  size_t n = 4 * PAGE;
  char* s = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  printf("fresh: %d\n", s[0] + s[n - 1]);
  strcpy(s, "shared");
  strcpy(s + 3 * PAGE, "last page");
  printf("MADV_DONTNEED: %d\n", madvise(s, n, MADV_DONTNEED));
  printf("kept: %s %s\n", s, s + 3 * PAGE);
  printf("MADV_FREE: %s\n", error_name(madvise(s, n, MADV_FREE) == 0 ? 0 : errno));
  // Past the end of the object behind it, grown by mremap: SIGBUS on Linux, so not touched.
  char* grown = mremap(s, n, 2 * n, MREMAP_MAYMOVE);
  printf("mremap: %s, kept %s\n", map_error(grown), grown);
  munmap(grown, 2 * n);

  int zero = open("/dev/zero", O_RDWR);
  char* z = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
  strcpy(z, "zero device");
  madvise(z, n, MADV_DONTNEED);
  printf("shared /dev/zero kept: %s\n", z);
  munmap(z, n);
  close(zero);

  char* private = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  strcpy(private, "private");
  madvise(private, n, MADV_DONTNEED);
  printf("private after MADV_DONTNEED: %d\n", private[0]);
  munmap(private, n);
}

static void program_break(void) {
  printf("-- brk\n");
  uintptr_t start = (uintptr_t)syscall(SYS_brk, 0);
  uintptr_t huge = (uintptr_t)syscall(SYS_brk, (uintptr_t)-4096);
  printf("wrapping request refused: %d\n", huge == start);
  uintptr_t high = (uintptr_t)syscall(SYS_brk, (uintptr_t)1 << 47);
  printf("past the address space refused: %d\n", high == start);
  uintptr_t low = (uintptr_t)syscall(SYS_brk, 4096);
  printf("below the start refused: %d\n", low == start);
  uintptr_t grown = (uintptr_t)syscall(SYS_brk, start + 3 * PAGE);
  printf("grown by: %lu\n", (unsigned long)(grown - start));
  memset((void*)start, 1, 3 * PAGE);
  uintptr_t back = (uintptr_t)syscall(SYS_brk, start);
  printf("shrunk back: %d\n", back == start);
}

static void argument_checks(void) {
  printf("-- argument checks\n");
  char* p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void* both = mmap(NULL, PAGE, PROT_READ, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mmap anonymous MAP_SHARED|MAP_PRIVATE: %s\n", error_name(both == MAP_FAILED ? errno : 0));
  printf("madvise bad advice, empty range: %s\n", error_name(madvise(p, 0, 999) == 0 ? 0 : errno));
  printf("madvise bad advice: %s\n", error_name(madvise(p, PAGE, 999) == 0 ? 0 : errno));
  printf("madvise unaligned: %s\n", error_name(madvise(p + 1, PAGE, MADV_NORMAL) == 0 ? 0 : errno));
  printf("madvise length wraps: %s\n", error_name(madvise(p, (size_t)-100, MADV_DONTNEED) == 0 ? 0 : errno));
  printf("madvise past the end: %s\n",
         error_name(madvise(p, (size_t)-1 - (uintptr_t)p + 1 - PAGE, MADV_NORMAL) == 0 ? 0 : errno));
  printf("madvise empty: %s\n", error_name(madvise(p, 0, MADV_DONTNEED) == 0 ? 0 : errno));
  printf("madvise unmapped low: %s\n", error_name(madvise((void*)0x1000, PAGE, MADV_DONTNEED) == 0 ? 0 : errno));
  munmap(p + 2 * PAGE, PAGE);
  printf("madvise over a hole: %s\n", error_name(madvise(p, 4 * PAGE, MADV_WILLNEED) == 0 ? 0 : errno));
  munmap(p, 4 * PAGE);

  char path[] = "/tmp/nimbus-memory-edges-XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  if (ftruncate(fd, 4 * PAGE) != 0) return;
  printf("mmap unaligned offset: %s\n", map_error(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 100)));
  printf("mmap negative offset: %s\n", map_error(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, -4096)));
  printf("mmap offset past off_t: %s\n",
         map_error(mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, INT64_MAX - PAGE + 1)));
  void* far = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, (off_t)1 << 40);
  printf("mmap offset past the end of the file: %s\n", map_error(far));
  if (far != MAP_FAILED) munmap(far, PAGE);
  void* anon = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, -4096);
  printf("anonymous with a negative offset: %s\n", map_error(anon));
  if (anon != MAP_FAILED) munmap(anon, PAGE);
  printf("mmap zero length: %s\n", map_error(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)));
  close(fd);
}

static int xfsz_signals;
static void on_xfsz(int signal) {
  (void)signal;
  xfsz_signals++;
}

static void limits(void) {
  printf("-- resource limits\n");
  struct rlimit old_as, old_data;
  getrlimit(RLIMIT_AS, &old_as);
  getrlimit(RLIMIT_DATA, &old_data);

  struct rlimit as = {1ull << 30, old_as.rlim_max};
  printf("RLIMIT_AS 1 GiB: %d\n", setrlimit(RLIMIT_AS, &as));
  void* big = mmap(NULL, 2ull << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  printf("2 GiB mapping: %s\n", map_error(big));
  void* small = mmap(NULL, 64 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("64 MiB mapping: %s\n", map_error(small));
  if (small != MAP_FAILED) munmap(small, 64 << 20);
  uintptr_t start = (uintptr_t)syscall(SYS_brk, 0);
  uintptr_t moved = (uintptr_t)syscall(SYS_brk, start + (2ull << 30));
  printf("brk by 2 GiB: %s\n", moved == start ? "refused" : "moved");
  setrlimit(RLIMIT_AS, &old_as);

  struct rlimit data = {256 << 20, old_data.rlim_max};
  printf("RLIMIT_DATA 256 MiB: %d\n", setrlimit(RLIMIT_DATA, &data));
  void* writable = mmap(NULL, 512 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("512 MiB private writable: %s\n", map_error(writable));
  void* readable = mmap(NULL, 512 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("512 MiB read-only: %s\n", map_error(readable));
  if (readable != MAP_FAILED) munmap(readable, 512 << 20);
  void* shared = mmap(NULL, 512 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  printf("512 MiB shared writable: %s\n", map_error(shared));
  if (shared != MAP_FAILED) munmap(shared, 512 << 20);
  moved = (uintptr_t)syscall(SYS_brk, start + (512 << 20));
  printf("brk by 512 MiB: %s\n", moved == start ? "refused" : "moved");
  setrlimit(RLIMIT_DATA, &old_data);

  signal(SIGXFSZ, on_xfsz);
  char path[] = "/tmp/nimbus-memory-edges-XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  struct rlimit fsize = {10000, RLIM_INFINITY};
  printf("RLIMIT_FSIZE 10000: %d\n", setrlimit(RLIMIT_FSIZE, &fsize));
  static char block[8192];
  printf("write 8192: %zd\n", write(fd, block, sizeof(block)));
  printf("write 8192 more: %zd\n", write(fd, block, sizeof(block)));
  ssize_t at_limit = write(fd, block, 1);
  printf("write at the limit: %zd %s, signals %d\n", at_limit, error_name(at_limit < 0 ? errno : 0), xfsz_signals);
  ssize_t positioned = pwrite(fd, block, 100, 20000);
  printf("pwrite past it: %zd %s, signals %d\n", positioned, error_name(positioned < 0 ? errno : 0), xfsz_signals);
  printf("pwrite below it: %zd\n", pwrite(fd, block, 100, 9950));
  int truncated = ftruncate(fd, 20000);
  printf("ftruncate past it: %d %s, signals %d\n", truncated, error_name(truncated < 0 ? errno : 0), xfsz_signals);
  printf("ftruncate below it: %d\n", ftruncate(fd, 5000));
  printf("size: %ld\n", (long)lseek(fd, 0, SEEK_END));
  fsize.rlim_cur = RLIM_INFINITY;
  setrlimit(RLIMIT_FSIZE, &fsize);
  printf("write without a limit: %zd\n", write(fd, block, sizeof(block)));
  close(fd);
}

/* msync(MS_INVALIDATE) refuses locked memory: EBUSY while mlocked, fine once unlocked. */
static void invalidate_locked(void) {
  char* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int r = msync(page, 4096, MS_ASYNC | MS_INVALIDATE);
  printf("msync(MS_INVALIDATE) unlocked: %d\n", r);
  mlock(page, 4096);
  r = msync(page, 4096, MS_ASYNC | MS_INVALIDATE);
  printf("msync(MS_INVALIDATE) locked: %d %s\n", r, r < 0 ? strerror(errno) : "");
  munlock(page, 4096);
  r = msync(page, 4096, MS_INVALIDATE);
  printf("msync(MS_INVALIDATE) after munlock: %d\n", r);
  munmap(page, 4096);
}

int main(void) {
  protection();
  invalidate_locked();
  shared_anonymous();
  program_break();
  argument_checks();
  limits();
  return 0;
}
