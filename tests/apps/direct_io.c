// direct_io: O_DIRECT reads and writes into and out of the program's own pages, checked byte
// for byte: a fresh (never touched) anonymous mapping, buffers that straddle pages, private and
// shared file mappings of the same file system, a buffer another thread unmaps during the I/O
// (the call completes or fails with EFAULT; the kernel neither crashes nor writes elsewhere)
// and forks while direct reads run in another thread (the parent keeps the data read).
//
// usage: direct_io DIR   prints "direct ok"; a mismatch prints what and where and exits 1.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIB 1024
#define MIB (1024 * 1024)
#define PAGE 4096
#define FILE_SIZE (4 * MIB)

static char path_buffer[4096];
static const char* in_dir(const char* dir, const char* name) {
  snprintf(path_buffer, sizeof path_buffer, "%s/%s", dir, name);
  return path_buffer;
}

static void die(const char* what) {
  perror(what);
  exit(2);
}

static unsigned char pattern(uint64_t offset, unsigned seed) {
  uint64_t x = (offset + seed * 0x9e3779b9ull) * 0x2545f4914f6cdd1dull;
  return (unsigned char)(x >> 56);
}

static void fill(unsigned char* buffer, size_t length, uint64_t offset, unsigned seed) {
  for (size_t i = 0; i < length; i++) buffer[i] = pattern(offset + i, seed);
}

// The file's model: which seed wrote each 4 KiB block.
static unsigned seeds[FILE_SIZE / PAGE];

static void record(uint64_t offset, size_t length, unsigned seed) {
  for (uint64_t at = offset; at < offset + length; at += PAGE) seeds[at / PAGE] = seed;
}

static void expect_model(const char* what, const unsigned char* data, uint64_t offset, size_t length) {
  for (size_t i = 0; i < length; i++) {
    uint64_t at = offset + i;
    if (data[i] != pattern(at, seeds[at / PAGE])) {
      printf("mismatch: %s at file offset %llu\n", what, (unsigned long long)at);
      exit(1);
    }
  }
}

static void direct_pwrite(int fd, const void* data, size_t length, off_t offset, const char* what) {
  ssize_t n = pwrite(fd, data, length, offset);
  if (n != (ssize_t)length) {
    printf("%s: pwrite gave %zd (%s)\n", what, n, n < 0 ? strerror(errno) : "short");
    exit(1);
  }
}

static void direct_pread(int fd, void* data, size_t length, off_t offset, const char* what) {
  ssize_t n = pread(fd, data, length, offset);
  if (n != (ssize_t)length) {
    printf("%s: pread gave %zd (%s)\n", what, n, n < 0 ? strerror(errno) : "short");
    exit(1);
  }
}

static unsigned char* fresh_mapping(size_t length) {
  void* p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  return p;
}

// Reads the whole file with buffered I/O (another descriptor) and checks it against the model.
static void check_buffered(const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) die("open buffered");
  unsigned char* data = malloc(FILE_SIZE);
  if (!data) die("malloc");
  ssize_t n = pread(fd, data, FILE_SIZE, 0);
  if (n != FILE_SIZE) die("buffered pread");
  expect_model("buffered read", data, 0, FILE_SIZE);
  free(data);
  close(fd);
}

struct race {
  int fd;
  unsigned char* buffer;
  size_t length;
  volatile int started;
  int completed;
  int faulted;
  int write;
};

static void* race_io(void* argument) {
  struct race* r = argument;
  r->started = 1;
  ssize_t n = r->write ? pwrite(r->fd, r->buffer, r->length, 0) : pread(r->fd, r->buffer, r->length, 0);
  if (n == (ssize_t)r->length) {
    r->completed = 1;
  } else if (n < 0 && errno == EFAULT) {
    r->faulted = 1;
  } else if (n >= 0 && n % 512 == 0) {
    r->completed = 1;  // a short transfer, stopped at the unmapped part
  } else {
    printf("racing %s gave %zd (%s)\n", r->write ? "write" : "read", n, n < 0 ? strerror(errno) : "odd length");
    exit(1);
  }
  return NULL;
}

// Another thread's I/O on a buffer this thread unmaps meanwhile, many times.
static void unmap_during_io(int fd, int write, int rounds, int* completed, int* faulted) {
  for (int round = 0; round < rounds; round++) {
    struct race r = {.fd = fd, .length = 2 * MIB, .write = write};
    r.buffer = fresh_mapping(r.length);
    memset(r.buffer, 0x5a, r.length);
    // Mapped now (elsewhere), filled after the unmap: its pages may be the frames the unmap
    // gave back, which a read still running must not reach.
    unsigned char* other = fresh_mapping(r.length);
    pthread_t thread;
    if (pthread_create(&thread, NULL, race_io, &r)) die("pthread_create");
    while (!r.started) sched_yield();
    // Sometimes at once, sometimes a little later.
    for (volatile int spin = 0; spin < (round % 4) * 20000; spin++) {
    }
    if (munmap(r.buffer, r.length)) die("munmap");
    memset(other, 0xa5, r.length);
    pthread_join(thread, NULL);
    for (size_t i = 0; i < r.length; i++) {
      if (other[i] != 0xa5) {
        printf("memory mapped after the unmap changed at %zu\n", i);
        exit(1);
      }
    }
    munmap(other, r.length);
    *completed += r.completed;
    *faulted += r.faulted;
  }
}

struct reader {
  int fd;
  volatile int stop;
  int reads;
};

// Direct reads of the whole file into one buffer, checked each time, until told to stop.
static void* read_repeatedly(void* argument) {
  struct reader* r = argument;
  unsigned char* buffer = fresh_mapping(MIB);
  while (!r->stop) {
    memset(buffer, 0, MIB);
    direct_pread(r->fd, buffer, MIB, MIB, "read during forks");
    expect_model("direct read while another thread forks", buffer, MIB, MIB);
    r->reads++;
  }
  munmap(buffer, MIB);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: direct_io DIR\n");
    return 2;
  }
  const char* dir = argv[1];
  char path[4096];
  snprintf(path, sizeof path, "%s", in_dir(dir, "direct.bin"));
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
  if (fd < 0) die("open O_DIRECT");

  // The file, written in 1 MiB direct writes from a page-aligned heap buffer.
  unsigned char* heap = NULL;
  if (posix_memalign((void**)&heap, PAGE, MIB)) die("posix_memalign");
  for (int i = 0; i < FILE_SIZE / MIB; i++) {
    fill(heap, MIB, (uint64_t)i * MIB, 1);
    direct_pwrite(fd, heap, MIB, (off_t)i * MIB, "1 MiB write");
  }
  record(0, FILE_SIZE, 1);

  // Into a fresh mapping, never touched: its pages are filled as the kernel pins them.
  unsigned char* fresh = fresh_mapping(2 * MIB);
  direct_pread(fd, fresh, 2 * MIB, MIB, "read into a fresh mapping");
  expect_model("direct read into a fresh mapping", fresh, MIB, 2 * MIB);

  // Buffers straddling pages (512-aligned, not page-aligned): reads, then writes.
  unsigned char* straddle = fresh_mapping(256 * KIB + PAGE);
  size_t shifts[] = {512, 1536, 3584};
  for (size_t s = 0; s < sizeof shifts / sizeof shifts[0]; s++) {
    unsigned char* at = straddle + shifts[s];
    memset(at, 0, 256 * KIB);
    direct_pread(fd, at, 256 * KIB, 3 * 64 * KIB, "read into a straddling buffer");
    expect_model("direct read into a straddling buffer", at, 3 * 64 * KIB, 256 * KIB);
    uint64_t offset = (uint64_t)(s + 1) * 512 * KIB;
    fill(at, 64 * KIB, offset, 10 + (unsigned)s);
    direct_pwrite(fd, at, 64 * KIB, (off_t)offset, "write from a straddling buffer");
    record(offset, 64 * KIB, 10 + (unsigned)s);
  }
  // Sub-block pieces at a 512-byte offset in the file (copied through the bounce buffer).
  fill(straddle + 512, 1024, 2 * MIB + 512, 20);
  {
    unsigned char* block = fresh_mapping(PAGE);
    direct_pread(fd, block, PAGE, 2 * MIB, "read of a block");
    memcpy(block + 512, straddle + 512, 1024);
    direct_pwrite(fd, straddle + 512, 1024, 2 * MIB + 512, "sub-block write");
    unsigned char* again = fresh_mapping(PAGE);
    direct_pread(fd, again, PAGE, 2 * MIB, "read after a sub-block write");
    if (memcmp(again, block, PAGE)) {
      printf("mismatch: sub-block write\n");
      return 1;
    }
    // The model keeps whole blocks: put the block back as it was.
    fill(block, PAGE, 2 * MIB, seeds[2 * MIB / PAGE]);
    direct_pwrite(fd, block, PAGE, 2 * MIB, "block restored");
  }

  // A private mapping of another file of this file system: written from (the device reads
  // its page-cache pages) and read into (its pages become the program's own copies).
  int other_fd = open(in_dir(dir, "mapped.bin"), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (other_fd < 0) die("open mapped.bin");
  fill(heap, MIB, 0, 30);
  if (pwrite(other_fd, heap, MIB, 0) != MIB) die("pwrite mapped.bin");
  unsigned char* private_map = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE, other_fd, 0);
  if (private_map == MAP_FAILED) die("mmap private");
  direct_pwrite(fd, private_map, 256 * KIB, 0, "write from a private file mapping");
  for (size_t i = 0; i < 256 * KIB; i++) {
    if (private_map[i] != pattern(i, 30)) die("private mapping changed");
  }
  {
    unsigned char* check = fresh_mapping(256 * KIB);
    direct_pread(fd, check, 256 * KIB, 0, "read back");
    if (memcmp(check, private_map, 256 * KIB)) {
      printf("mismatch: write from a private file mapping\n");
      return 1;
    }
    munmap(check, 256 * KIB);
  }
  fill(heap, 256 * KIB, 0, 1);
  direct_pwrite(fd, heap, 256 * KIB, 0, "rewrite");
  direct_pread(fd, private_map + 512 * KIB, 256 * KIB, 0, "read into a private file mapping");
  expect_model("direct read into a private file mapping", private_map + 512 * KIB, 0, 256 * KIB);
  // A shared mapping of the file (its pages are the page cache's: copied, not pinned): read
  // into it, which changes the file through the mapping; written from it.
  unsigned char* shared_map = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_SHARED, other_fd, 0);
  if (shared_map == MAP_FAILED) die("mmap shared");
  direct_pread(fd, shared_map, 128 * KIB, 3 * MIB, "read into a shared file mapping");
  expect_model("direct read into a shared file mapping", shared_map, 3 * MIB, 128 * KIB);
  direct_pwrite(fd, shared_map + 128 * KIB, 128 * KIB, 3 * MIB, "write from a shared file mapping");
  {
    unsigned char* check = fresh_mapping(128 * KIB);
    direct_pread(fd, check, 128 * KIB, 3 * MIB, "read back");
    if (memcmp(check, shared_map + 128 * KIB, 128 * KIB)) {
      printf("mismatch: write from a shared file mapping\n");
      return 1;
    }
    // Back to the model.
    fill(check, 128 * KIB, 3 * MIB, 1);
    direct_pwrite(fd, check, 128 * KIB, 3 * MIB, "restore");
    record(3 * MIB, 128 * KIB, 1);
    munmap(check, 128 * KIB);
  }
  if (msync(shared_map, MIB, MS_SYNC)) die("msync");
  unsigned char* through_read = malloc(128 * KIB);
  if (pread(other_fd, through_read, 128 * KIB, 0) != 128 * KIB) die("pread mapped.bin");
  expect_model("the shared mapping's file after a direct read into it", through_read, 3 * MIB, 128 * KIB);
  munmap(shared_map, MIB);
  munmap(private_map, MIB);
  close(other_fd);

  // Another thread's buffer unmapped during its direct read or write.
  int completed = 0, faulted = 0;
  unmap_during_io(fd, 0, 24, &completed, &faulted);
  int read_completed = completed, read_faulted = faulted;
  completed = faulted = 0;
  unmap_during_io(fd, 1, 24, &completed, &faulted);
  {
    // The racing writes left bytes of 0x5a (or whatever the pages held): the model again.
    for (int i = 0; i < 2; i++) {
      fill(heap, MIB, (uint64_t)i * MIB, 1);
      direct_pwrite(fd, heap, MIB, (off_t)i * MIB, "rewrite after the races");
    }
    record(0, 2 * MIB, 1);
  }
  if (read_completed + read_faulted != 24 || completed + faulted != 24) {
    printf("racing I/O lost: reads %d+%d, writes %d+%d\n", read_completed, read_faulted, completed, faulted);
    return 1;
  }

  // Forks while another thread reads directly: the parent keeps every byte it read.
  struct reader reader = {.fd = fd};
  pthread_t thread;
  if (pthread_create(&thread, NULL, read_repeatedly, &reader)) die("pthread_create");
  for (int i = 0; i < 20; i++) {
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) _exit(0);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) die("waitpid");
  }
  while (reader.reads < 3) sched_yield();
  reader.stop = 1;
  pthread_join(thread, NULL);

  // Everything through a fresh mapping once more, and through buffered reads.
  unsigned char* all = fresh_mapping(FILE_SIZE);
  direct_pread(fd, all, FILE_SIZE, 0, "final read");
  expect_model("final direct read", all, 0, FILE_SIZE);
  if (fsync(fd)) die("fsync");
  close(fd);
  check_buffered(path);
  fprintf(stderr, "unmap races: reads %d completed %d EFAULT, writes %d completed %d EFAULT\n", read_completed,
          read_faulted, completed, faulted);
  printf("direct ok\n");
  return 0;
}
