/* Differential test: memory system calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf jump;
static void on_segv(int sig) { siglongjmp(jump, sig); }

static int faults(volatile char* p, char value) {
  if (sigsetjmp(jump, 1)) return 1;
  *p = value;
  return 0;
}

int main(void) {
  signal(SIGSEGV, on_segv);
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  printf("page size %zu\n", page);
  char* p = mmap(NULL, 64 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mmap ok %d\n", p != MAP_FAILED);
  printf("fresh memory is zero %d\n", p[0] == 0 && p[63 * page + 5] == 0);
  memset(p, 7, 64 * page);
  printf("madvise %d\n", madvise(p, 8 * page, MADV_DONTNEED));
  printf("after DONTNEED zero %d, rest kept %d\n", p[10] == 0, p[9 * page] == 7);
  printf("mprotect ro %d\n", mprotect(p, page, PROT_READ));
  printf("write to ro faults %d\n", faults(p, 1));
  printf("write to rw works %d\n", !faults(p + page, 1));
  printf("munmap middle %d\n", munmap(p + 10 * page, page));
  printf("write to unmapped faults %d\n", faults(p + 10 * page, 1));
  printf("neighbours intact %d %d\n", p[9 * page] == 7, p[11 * page] == 7);
  char* fixed = mmap(p + 10 * page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  printf("MAP_FIXED back %d\n", fixed == p + 10 * page);
  void* taken = mmap(p, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  printf("MAP_FIXED_NOREPLACE on used %d errno EEXIST %d\n", taken == MAP_FAILED, errno == EEXIST);
  printf("munmap all %d\n", munmap(p, 64 * page));
  printf("munmap bad alignment %d\n", munmap(p + 1, page));
  char* big = mmap(NULL, 1UL << 32, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  printf("4 GiB reservation %d\n", big != MAP_FAILED);
  big[123456789] = 1;
  printf("touch one page %d\n", big[123456789]);
  munmap(big, 1UL << 32);
  void* start = sbrk(0);
  printf("brk grows %d\n", sbrk(1 << 20) == start);
  memset(start, 1, 1 << 20);
  printf("brk memory usable %d\n", ((char*)start)[(1 << 20) - 1] == 1);
  char* m = malloc(10 << 20);
  memset(m, 3, 10 << 20);
  printf("malloc 10 MiB %d\n", m[(10 << 20) - 1] == 3);
  free(m);
  return 0;
}
