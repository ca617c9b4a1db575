/* Differential test: shared file mappings, SIGBUS past the end of a file, guard pages, mremap,
 * mincore, mlock, msync, madvise and membarrier. Prints no addresses: only what Linux
 * promises, so that the host and Nimbus print the same. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sched.h>
#include <unistd.h>

static size_t page;
static sigjmp_buf jump;
static volatile int fault_signal, fault_code;
static void* volatile fault_address;

static void on_fault(int signal, siginfo_t* info, void* context) {
  (void)context;
  fault_signal = signal;
  fault_code = info->si_code;
  fault_address = info->si_addr;
  siglongjmp(jump, 1);
}

/* Reads or writes one byte; returns the signal it raised, or 0. */
static int touch(volatile char* p, int write) {
  fault_signal = 0;
  if (sigsetjmp(jump, 1) == 0) {
    if (write) *p = 1;
    else (void)*p;
  }
  return fault_signal;
}

static const char* result(long value) {
  static char text[64];
  if (value == -1) snprintf(text, sizeof(text), "-1 %s", strerrorname_np(errno));
  else snprintf(text, sizeof(text), "%ld", value);
  return text;
}

/* Whether `call` fails on two pages of which only the first is mapped. The hole is made
 * between two mappings, so that no other mapping can be placed there meanwhile. */
static const char* past_the_end(int (*call)(char* p, size_t length)) {
  char* p = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(p + page, page);
  const char* text = result(call(p, 2 * page));
  munmap(p, 3 * page);
  return text;
}
static int call_mincore(char* p, size_t length) { return mincore(p, length, (unsigned char[2]){0}); }
static int call_madvise(char* p, size_t length) { return madvise(p, length, MADV_NORMAL); }
static int call_mlock(char* p, size_t length) { return mlock(p, length); }

static const char* residency(char* p, size_t pages) {
  static char text[64];
  unsigned char vector[32];
  if (mincore(p, pages * page, vector) != 0) return result(-1);
  for (size_t i = 0; i < pages; i++) text[i] = (char)('0' + (vector[i] & 1));
  text[pages] = '\0';
  return text;
}

static char file_byte(int fd, off_t at) {
  char c = 0;
  if (pread(fd, &c, 1, at) != 1) return '?';
  return c;
}

/* Another thread keeps reading a shared page while the file shrinks under it: its CPU must
 * forget the page (TLB shootdown), so it ends with a SIGBUS instead of reading forever. */
static volatile char* watched;
static volatile int watching;
static void* watcher(void* unused) {
  (void)unused;
  int raised;
  while ((raised = touch(watched, 0)) == 0) watching = 1;
  return (void*)(long)raised;
}

static void truncated_under_another_thread(int fd, char* mapping) {
  watched = mapping + 2 * page;
  pthread_t thread;
  pthread_create(&thread, NULL, watcher, NULL);
  while (!watching) sched_yield();
  ftruncate(fd, (off_t)(2 * page));
  void* raised;
  pthread_join(thread, &raised);
  printf("other thread after truncate: signal %d\n", (int)(long)raised);
  ftruncate(fd, (off_t)(3 * page));
}

static void shared_files(void) {
  char path[64];
  snprintf(path, sizeof(path), "/tmp/shared_mapping.%d", (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  char* data = malloc(3 * page);
  for (size_t i = 0; i < 3 * page; i++) data[i] = (char)('a' + i % 26);
  printf("write file %d\n", write(fd, data, 3 * page) == (ssize_t)(3 * page));

  char* one = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char* two = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  printf("two shared mappings %d %d\n", one != MAP_FAILED, two != MAP_FAILED);
  printf("mapping shows the file %d\n", memcmp(one, data, 3 * page) == 0);
  one[5] = 'X';
  printf("store through one: read sees %c, other mapping sees %c\n", file_byte(fd, 5), two[5]);
  pwrite(fd, "Y", 1, page + 7);
  printf("write through fd: mappings see %c %c\n", one[page + 7], two[page + 7]);
  two[2 * page] = 'Z';
  printf("store through two: one sees %c\n", one[2 * page]);
  printf("write from the mapping into its file %d\n", (int)pwrite(fd, one + 5, 1, 2 * page + 1));
  printf("read from the file into its mapping %d ", (int)pread(fd, two + 100, 2, 2 * page));
  printf("then %c%c\n", one[100], one[101]);
  printf("msync MS_SYNC %s\n", result(msync(one, 3 * page, MS_SYNC)));
  printf("msync MS_ASYNC|MS_INVALIDATE %s\n", result(msync(one, page, MS_ASYNC | MS_INVALIDATE)));
  printf("msync MS_SYNC|MS_ASYNC %s\n", result(msync(one, page, MS_SYNC | MS_ASYNC)));
  printf("msync unaligned %s\n", result(msync(one + 1, page, MS_SYNC)));
  printf("msync bad flag %s\n", result(msync(one, page, 8)));

  /* Shrinking the file: whole pages past the end become SIGBUS; the cut page reads zeros. */
  printf("ftruncate to 1.5 pages %s\n", result(ftruncate(fd, (off_t)(page + page / 2))));
  int raised = touch(one + page + page / 2 + 1, 0);
  printf("cut page kept %c, tail zero %d, signal %d\n", one[page + 7], one[page + page / 2 + 1] == 0, raised);
  raised = touch(two + 2 * page + 3, 0);
  printf("past the end: signal %d (SIGBUS %d) code BUS_ADRERR %d address right %d\n", raised, SIGBUS,
         fault_code == BUS_ADRERR, fault_address == two + 2 * page + 3);
  printf("store past the end: signal %d\n", touch(one + 2 * page, 1));
  printf("ftruncate to 3 pages %s\n", result(ftruncate(fd, (off_t)(3 * page))));
  printf("grown again: zero %d %d, ", one[2 * page] == 0, two[page + page / 2 + 1] == 0);
  printf("signal %d\n", touch(one + 2 * page, 1));
  printf("store after growing reaches the file %d\n", file_byte(fd, 2 * page) == 1);

  truncated_under_another_thread(fd, one);

  /* A private mapping copies: its stores stay its own. */
  char* private = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  private[0] = 'P';
  printf("private store: file keeps %c, shared mapping keeps %c\n", file_byte(fd, 0), one[0]);
  printf("MADV_FREE on a file mapping %s\n", result(madvise(private, page, MADV_FREE)));
  munmap(private, page);

  /* MADV_DONTNEED on a shared mapping drops the mapping, not the data. */
  printf("MADV_DONTNEED shared %s, data kept %c\n", result(madvise(one, page, MADV_DONTNEED)), one[5]);

  /* Unlinked while mapped: the pages live on with the mapping. */
  printf("unlink %s\n", result(unlink(path)));
  one[3] = 'U';
  printf("after unlink: fd reads %c, other mapping %c\n", file_byte(fd, 3), two[3]);

  /* mremap moves a shared file mapping's page-table entries; it still shows the file. */
  char* moved = mremap(two, 3 * page, 4 * page, MREMAP_MAYMOVE);
  printf("mremap shared file %d\n", moved != MAP_FAILED);
  moved[page + 9] = 'M';
  raised = touch(moved + 3 * page, 0);
  printf("moved mapping still shared: fd %c, one %c, past the end signal %d\n", file_byte(fd, page + 9),
         one[page + 9], raised);
  munmap(moved, 4 * page);
  munmap(one, 3 * page);

  int read_only = open("/proc/self/exe", O_RDONLY);
  void* denied = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, read_only, 0);
  printf("shared writable mapping of a read-only fd %s\n", result(denied == MAP_FAILED ? -1 : 0));
  char* exe = mmap(NULL, page, PROT_READ, MAP_SHARED, read_only, 0);
  char header[64];
  pread(read_only, header, sizeof(header), 0);
  printf("shared read-only mapping of the program shows it %d\n", exe != MAP_FAILED && !memcmp(exe, header, 64));
  printf("made writable %s\n", result(mprotect(exe, page, PROT_READ | PROT_WRITE)));
  char* private_exe = mmap(NULL, page, PROT_READ, MAP_PRIVATE, read_only, 0);
  printf("a private one may be %s\n", result(mprotect(private_exe, page, PROT_READ | PROT_WRITE)));
  munmap(private_exe, page);
  munmap(exe, page);
  close(read_only);
  void* validate = mmap(NULL, page, PROT_READ, MAP_SHARED_VALIDATE | 0x800000, fd, 0);
  printf("MAP_SHARED_VALIDATE with an unknown flag %s\n", result(validate == MAP_FAILED ? -1 : 0));
  close(fd);
  free(data);
}

static void anonymous(void) {
  /* A guard page. */
  char* guarded = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mprotect PROT_NONE %s\n", result(mprotect(guarded + page, page, PROT_NONE)));
  int raised = touch(guarded + page + 8, 0);
  printf("guard page read: signal %d (SIGSEGV %d) SEGV_ACCERR %d address right %d\n", raised, SIGSEGV,
         fault_code == SEGV_ACCERR, fault_address == guarded + page + 8);
  raised = touch(guarded, 1);
  printf("neighbours work %d %d\n", raised, touch(guarded + 2 * page, 1));

  /* mincore and MAP_POPULATE. */
  char* sparse = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  sparse[0] = 1;
  sparse[2 * page] = 1;
  printf("mincore after touching pages 0 and 2: %s\n", residency(sparse, 4));
  madvise(sparse, page, MADV_DONTNEED);
  printf("after MADV_DONTNEED of page 0: %s\n", residency(sparse, 4));
  printf("mincore unaligned %s\n", result(mincore(sparse + 1, page, (unsigned char[1]){0})));
  printf("mincore past the mapping %s\n", past_the_end(call_mincore));
  char* populated = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  printf("MAP_POPULATE: %s\n", residency(populated, 4));

  /* madvise. */
  printf("madvise WILLNEED %s\n", result(madvise(sparse, 4 * page, MADV_WILLNEED)));
  printf("madvise SEQUENTIAL %s\n", result(madvise(sparse, 4 * page, MADV_SEQUENTIAL)));
  printf("madvise DONTDUMP %s\n", result(madvise(sparse, 4 * page, MADV_DONTDUMP)));
  printf("madvise FREE %s\n", result(madvise(sparse, 4 * page, MADV_FREE)));
  printf("madvise POPULATE_WRITE %s ", result(madvise(sparse, 4 * page, MADV_POPULATE_WRITE)));
  printf("then %s\n", residency(sparse, 4));
  printf("madvise unknown advice %s\n", result(madvise(sparse, page, 999)));
  printf("madvise unaligned %s\n", result(madvise(sparse + 1, page, MADV_NORMAL)));
  printf("madvise past the mapping %s\n", past_the_end(call_madvise));

  /* mlock. */
  char* locked = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mlock %s ", result(mlock(locked, 4 * page)));
  printf("then %s\n", residency(locked, 4));
  FILE* status = fopen("/proc/self/status", "r");
  char line[256];
  while (status && fgets(line, sizeof(line), status)) {
    if (!strncmp(line, "VmLck:", 6)) printf("%s", line);
  }
  if (status) fclose(status);
  printf("MADV_DONTNEED on locked memory %s\n", result(madvise(locked, page, MADV_DONTNEED)));
  printf("munlock %s\n", result(munlock(locked, 4 * page)));
  char* on_fault = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mlock2 MLOCK_ONFAULT %s ", result(mlock2(on_fault, 4 * page, MLOCK_ONFAULT)));
  printf("then %s\n", residency(on_fault, 4));
  printf("mlock2 bad flag %s\n", result(mlock2(on_fault, page, 2)));
  printf("mlock past the mapping %s\n", past_the_end(call_mlock));
  printf("mlockall(0) %s\n", result(mlockall(0)));
  printf("mlockall(MCL_ONFAULT) %s\n", result(mlockall(MCL_ONFAULT)));
  printf("munlockall %s\n", result(munlockall()));
  munmap(on_fault, 4 * page);
  munmap(locked, 4 * page);
  munmap(populated, 4 * page);
  munmap(sparse, 4 * page);
  munmap(guarded, 3 * page);
}

static void fill(char* p, size_t n, char seed) {
  for (size_t i = 0; i < n; i++) p[i] = (char)(seed + i % 7);
}
static int filled(const char* p, size_t n, char seed) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (char)(seed + i % 7)) return 0;
  return 1;
}

static void remapping(void) {
  int raised;
  /* Grow in place into free space: a reservation freed just after the mapping. */
  char* a = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(a + 2 * page, 2 * page);
  fill(a, 2 * page, 1);
  char* grown = mremap(a, 2 * page, 4 * page, 0);
  printf("grow in place: same address %d, data kept %d, new pages zero %d\n", grown == a, filled(a, 2 * page, 1),
         a[3 * page] == 0);
  char* shrunk = mremap(a, 4 * page, page, 0);
  printf("shrink: same address %d, rest unmapped %s\n", shrunk == a, residency(a, 2));

  /* Blocked growth: ENOMEM without MREMAP_MAYMOVE, a move with it. */
  char* b = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mprotect(b + 2 * page, page, PROT_READ);
  fill(b, 2 * page, 2);
  printf("blocked growth %s\n", result(mremap(b, 2 * page, 3 * page, 0) == MAP_FAILED ? -1 : 0));
  char* moved = mremap(b, 2 * page, 8 * page, MREMAP_MAYMOVE);
  printf("moved: elsewhere %d, data kept %d, tail zero %d, old range gone %s\n", moved != b,
         filled(moved, 2 * page, 2), moved[7 * page] == 0, residency(b, 1));
  printf("mremap of unmapped memory %s\n", result(mremap(b, page, 2 * page, MREMAP_MAYMOVE) == MAP_FAILED ? -1 : 0));
  printf("mremap across the end of a mapping %s\n",
         result(mremap(moved, 9 * page, 10 * page, MREMAP_MAYMOVE) == MAP_FAILED ? -1 : 0));
  printf("mremap bad flags %s\n", result(mremap(moved, page, page, 8) == MAP_FAILED ? -1 : 0));
  printf("MREMAP_FIXED without MAYMOVE %s\n",
         result(mremap(moved, page, page, MREMAP_FIXED, b) == MAP_FAILED ? -1 : 0));

  /* MREMAP_FIXED onto a reservation, replacing it. */
  char* target = mmap(NULL, 8 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* fixed = mremap(moved, 8 * page, 8 * page, MREMAP_MAYMOVE | MREMAP_FIXED, target);
  raised = touch(fixed + 5 * page, 1);
  printf("MREMAP_FIXED: at the target %d, data kept %d, writable %d\n", fixed == target, filled(fixed, 2 * page, 2),
         raised == 0);
  printf("MREMAP_FIXED overlapping %s\n",
         result(mremap(fixed, 2 * page, 2 * page, MREMAP_MAYMOVE | MREMAP_FIXED, fixed + page) == MAP_FAILED ? -1 : 0));

  /* MREMAP_DONTUNMAP: the pages move, the old range stays mapped and empty. */
  fill(fixed, 2 * page, 3);
  char* kept = mremap(fixed, 2 * page, 2 * page, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
  printf("MREMAP_DONTUNMAP: data moved %d, old range zero %d\n", kept != MAP_FAILED && filled(kept, 2 * page, 3),
         fixed[0] == 0 && fixed[page] == 0);
  printf("MREMAP_DONTUNMAP resizing %s\n",
         result(mremap(kept, page, 2 * page, MREMAP_MAYMOVE | MREMAP_DONTUNMAP) == MAP_FAILED ? -1 : 0));
  munmap(kept, 2 * page);
  munmap(fixed, 8 * page);
  munmap(a, page);

  /* Shared anonymous memory survives a move and a shrink (growing it past its size would
   * be a SIGBUS on Linux, where it is a shmem file). */
  char* shared = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  fill(shared, 2 * page, 4);
  char* spot = mmap(NULL, 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* shared_moved = mremap(shared, 2 * page, 2 * page, MREMAP_MAYMOVE | MREMAP_FIXED, spot);
  printf("shared anonymous moved: at the target %d, data kept %d\n", shared_moved == spot,
         filled(shared_moved, 2 * page, 4));
  printf("shrunk: same address %d, data kept %d\n", mremap(spot, 2 * page, page, 0) == spot,
         filled(spot, page, 4));
  munmap(spot, page);
}

/* 64 KiB of stack per call, used after the recursive call so that it stays a real frame. */
static int deep(int depth) {
  volatile char frame[64 * 1024];
  frame[0] = (char)depth;
  frame[sizeof(frame) - 1] = (char)depth;
  int below = depth > 0 ? deep(depth - 1) : 0;
  return below + (frame[0] == (char)depth && frame[sizeof(frame) - 1] == (char)depth);
}

static void barriers(void) {
  long query = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  int wanted = MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_PRIVATE_EXPEDITED | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
  printf("membarrier query has global and private expedited %d\n", query > 0 && (query & wanted) == wanted);
  printf("private expedited unregistered %s\n",
         result(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0)));
  printf("register %s\n", result(syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0)));
  printf("private expedited %s\n", result(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0)));
  printf("global %s\n", result(syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0)));
  printf("bad command %s\n", result(syscall(SYS_membarrier, 1 << 20, 0, 0)));
  printf("bad flags %s\n", result(syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 4, 0)));
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  page = (size_t)sysconf(_SC_PAGESIZE);
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_sigaction = on_fault;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &action, NULL);
  sigaction(SIGBUS, &action, NULL);
  shared_files();
  anonymous();
  remapping();
  printf("6 MiB deep into the main stack: %d frames\n", deep(95));
  barriers();
  return 0;
}
