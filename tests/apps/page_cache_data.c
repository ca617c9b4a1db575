// page_cache_data: writes files through write(2), truncate and shared mappings, and checks
// every byte against a model kept in memory, in the same VM (the page cache must be coherent)
// and in the next (write-back must have put everything on the disk).
//
// usage: page_cache_data write DIR   writes the files, checks them, prints "written"
//        page_cache_data check DIR   checks the files, prints "checked"
//        page_cache_data big DIR MIB writes a MIB MiB file in 1 MiB writes, fsyncs, reads it back
//                                    and checks it (a file larger than the VM's memory), "big ok"
//        page_cache_data mapped DIR MIB  maps a 4 MiB file and keeps it mapped while doing what
//                                    "big" does, then checks the mapping, "mapped ok"
// A mismatch prints "mismatch FILE at OFFSET" and exits 1.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define SEQ_SIZE (6 * MIB)
#define SEQ_MODEL (8 * MIB)
#define PAGE 4096

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

static uint32_t lcg_state;
static uint32_t lcg(void) {
  lcg_state = lcg_state * 1103515245u + 12345u;
  return lcg_state >> 8;
}

static void write_all(int fd, const unsigned char* data, size_t length, off_t offset) {
  while (length) {
    ssize_t n = pwrite(fd, data, length, offset);
    if (n <= 0) die("pwrite");
    data += n;
    length -= (size_t)n;
    offset += n;
  }
}

// Compares the whole file with `model` of `size` bytes, by read(2) in odd-sized pieces.
static int check_file(const char* dir, const char* name, const unsigned char* model, size_t size) {
  int fd = open(in_dir(dir, name), O_RDONLY);
  if (fd < 0) die(name);
  struct stat st;
  if (fstat(fd, &st) != 0) die("fstat");
  if ((size_t)st.st_size != size) {
    printf("mismatch %s size %lld, expected %zu\n", name, (long long)st.st_size, size);
    return 1;
  }
  static unsigned char buffer[300000];
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) die("read");
    for (ssize_t i = 0; i < n; i++) {
      if (buffer[i] != model[done + (size_t)i]) {
        printf("mismatch %s at %zu: %d, expected %d\n", name, done + (size_t)i, buffer[i], model[done + (size_t)i]);
        return 1;
      }
    }
    done += (size_t)n;
  }
  close(fd);
  return 0;
}

// The files' expected contents, built the same way by both modes.
static unsigned char* seq_model;
static size_t seq_size;
static unsigned char trunc_model[20000];
static unsigned char mapped_model[3 * PAGE + 500];
static unsigned char* sparse_model;
static const size_t sparse_size = 10 * MIB + 124;

static void build_models(void) {
  seq_model = calloc(1, SEQ_MODEL);
  sparse_model = calloc(1, sparse_size);
  if (!seq_model || !sparse_model) die("calloc");
  for (size_t i = 0; i < SEQ_SIZE; i++) seq_model[i] = pattern(i, 1);
  seq_size = SEQ_SIZE;
  lcg_state = 42;
  for (int w = 0; w < 300; w++) {
    size_t offset = lcg() % (SEQ_SIZE + 300000);
    size_t length = 1 + lcg() % 9000;
    for (size_t i = 0; i < length; i++) seq_model[offset + i] = pattern(offset + i, 2 + (unsigned)w);
    if (offset + length > seq_size) seq_size = offset + length;
  }
  memset(trunc_model, 0, sizeof trunc_model);
  for (size_t i = 0; i < 5000; i++) trunc_model[i] = pattern(i, 3);
  memcpy(trunc_model + 15000, "extended", 8);
  for (size_t i = 0; i < sizeof mapped_model; i++) mapped_model[i] = pattern(i, 4);
  memcpy(sparse_model + 5000, "in the first block", 18);
  sparse_model[10 * MIB + 123] = 'X';
}

static int check_all(const char* dir) {
  int bad = 0;
  bad |= check_file(dir, "seq", seq_model, seq_size);
  bad |= check_file(dir, "trunc", trunc_model, sizeof trunc_model);
  bad |= check_file(dir, "mapped", mapped_model, sizeof mapped_model);
  bad |= check_file(dir, "sparse", sparse_model, sparse_size);
  // A private mapping sees the same bytes.
  int fd = open(in_dir(dir, "seq"), O_RDONLY);
  if (fd < 0) die("seq");
  unsigned char* map = mmap(NULL, seq_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) die("mmap private");
  for (size_t i = 0; i < seq_size; i++) {
    if (map[i] != seq_model[i]) {
      printf("mismatch seq (private mapping) at %zu\n", i);
      bad = 1;
      break;
    }
  }
  munmap(map, seq_size);
  close(fd);
  return bad;
}

static int write_files(const char* dir) {
  // Sequential 1 MiB writes, then unaligned overwrites and extensions.
  int fd = open(in_dir(dir, "seq"), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("seq");
  unsigned char* chunk = malloc(MIB);
  for (size_t at = 0; at < SEQ_SIZE; at += MIB) {
    for (size_t i = 0; i < MIB; i++) chunk[i] = pattern(at + i, 1);
    if (write(fd, chunk, MIB) != MIB) die("write");
  }
  lcg_state = 42;
  for (int w = 0; w < 300; w++) {
    size_t offset = lcg() % (SEQ_SIZE + 300000);
    size_t length = 1 + lcg() % 9000;
    for (size_t i = 0; i < length; i++) chunk[i] = pattern(offset + i, 2 + (unsigned)w);
    write_all(fd, chunk, length, (off_t)offset);
  }
  if (fsync(fd) != 0) die("fsync");
  close(fd);

  // Truncate into the middle of a page, grow again, write past the old end.
  fd = open(in_dir(dir, "trunc"), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("trunc");
  for (size_t i = 0; i < 3 * PAGE + 100; i++) chunk[i] = pattern(i, 3);
  write_all(fd, chunk, 3 * PAGE + 100, 0);
  if (ftruncate(fd, 5000) != 0 || ftruncate(fd, 20000) != 0) die("ftruncate");
  write_all(fd, (const unsigned char*)"extended", 8, 15000);
  if (fdatasync(fd) != 0) die("fdatasync");
  close(fd);

  // A shared mapping writes the file; msync makes it durable; read(2) sees it at once.
  fd = open(in_dir(dir, "mapped"), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("mapped");
  if (ftruncate(fd, sizeof mapped_model) != 0) die("ftruncate mapped");
  unsigned char* map = mmap(NULL, sizeof mapped_model, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) die("mmap shared");
  for (size_t i = 0; i < sizeof mapped_model; i++) map[i] = pattern(i, 4);
  if (msync(map, sizeof mapped_model, MS_SYNC) != 0) die("msync");
  munmap(map, sizeof mapped_model);
  close(fd);

  // A sparse file: a byte far out, then one early (a hole before and after it).
  fd = open(in_dir(dir, "sparse"), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("sparse");
  write_all(fd, (const unsigned char*)"X", 1, 10 * MIB + 123);
  write_all(fd, (const unsigned char*)"in the first block", 18, 5000);
  close(fd);

  // An unlinked file keeps its data while open.
  fd = open(in_dir(dir, "gone"), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("gone");
  write_all(fd, seq_model, 100000, 0);
  unlink(in_dir(dir, "gone"));
  unsigned char back[1000];
  if (pread(fd, back, sizeof back, 50000) != (ssize_t)sizeof back || memcmp(back, seq_model + 50000, sizeof back)) {
    printf("mismatch gone\n");
    return 1;
  }
  close(fd);
  free(chunk);
  sync();
  return check_all(dir);
}

// Writes NAME as MIB MiB of pattern(seed) in 1 MiB writes, fsyncs it, reads it back and checks it.
static int write_and_check(const char* dir, const char* name, size_t mib, unsigned seed) {
  int fd = open(in_dir(dir, name), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die(name);
  unsigned char* chunk = malloc(MIB);
  for (size_t m = 0; m < mib; m++) {
    for (size_t i = 0; i < MIB; i++) chunk[i] = pattern(m * MIB + i, seed);
    if (write(fd, chunk, MIB) != MIB) die("write");
  }
  if (fsync(fd) != 0) die("fsync");
  if (lseek(fd, 0, SEEK_SET) != 0) die("lseek");
  for (size_t m = 0; m < mib; m++) {
    size_t done = 0;
    while (done < MIB) {
      ssize_t n = read(fd, chunk + done, MIB - done);
      if (n <= 0) die("read");
      done += (size_t)n;
    }
    for (size_t i = 0; i < MIB; i++) {
      if (chunk[i] != pattern(m * MIB + i, seed)) {
        printf("mismatch %s at %zu\n", name, m * MIB + i);
        return 1;
      }
    }
  }
  free(chunk);
  close(fd);
  return 0;
}

static int big(const char* dir, size_t mib) {
  if (write_and_check(dir, "big", mib, 5)) return 1;
  printf("big ok\n");
  return 0;
}

static int mapping_matches(const unsigned char* map, size_t size, unsigned seed) {
  for (size_t i = 0; i < size; i++) {
    if (map[i] != pattern(i, seed)) {
      printf("mismatch lib (mapping) at %zu\n", i);
      return 0;
    }
  }
  return 1;
}

// A program's libraries are the first file pages it maps, and stay mapped: 4 MiB of them here,
// then a file larger than the VM's memory written and read through the cache. The cache must
// give back the clean pages behind the mapped ones.
static int mapped_then_big(const char* dir, size_t mib) {
  const size_t lib_size = 4 * MIB;
  if (write_and_check(dir, "lib", lib_size / MIB, 6)) return 1;
  int fd = open(in_dir(dir, "lib"), O_RDONLY);
  if (fd < 0) die("lib");
  const unsigned char* map = mmap(NULL, lib_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) die("mmap lib");
  if (!mapping_matches(map, lib_size, 6)) return 1;
  if (write_and_check(dir, "big", mib, 5)) return 1;
  if (!mapping_matches(map, lib_size, 6)) return 1;
  printf("mapped ok\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: page_cache_data write|check DIR | big|mapped DIR MIB\n");
    return 2;
  }
  if (strcmp(argv[1], "big") == 0) return big(argv[2], argc > 3 ? (size_t)atoi(argv[3]) : 64);
  if (strcmp(argv[1], "mapped") == 0) return mapped_then_big(argv[2], argc > 3 ? (size_t)atoi(argv[3]) : 64);
  build_models();
  if (strcmp(argv[1], "write") == 0) {
    if (write_files(argv[2])) return 1;
    printf("written\n");
    return 0;
  }
  if (check_all(argv[2])) return 1;
  printf("checked\n");
  return 0;
}
