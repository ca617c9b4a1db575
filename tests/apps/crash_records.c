// The guest of scripts/crash-consistency: appends checksummed, numbered records to a file
// and fsyncs each, printing a record's number only after fsync returned (so the host knows
// which records were acknowledged before it killed the VM).
//
//   crash_records FILE ACKNOWLEDGED [LIMIT]
// First checks that records 0..ACKNOWLEDGED-1 are in FILE and intact (exit 2 and a report
// when not), prints "verified N" (N: the intact records found), cuts off a torn tail, then
// appends records N, N+1, ... (up to LIMIT in all, unbounded without) and prints each
// number once it is durable. LIMIT equal to ACKNOWLEDGED only verifies.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_SIZE 128

static uint32_t crc32(const unsigned char* data, size_t length) {
  uint32_t crc = ~0u;
  for (size_t i = 0; i < length; i++) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
  }
  return ~crc;
}

// "REC!", the number (8 bytes), bytes that depend on the number, then the crc32 of the rest.
static void make_record(uint64_t number, unsigned char* record) {
  memcpy(record, "REC!", 4);
  memcpy(record + 4, &number, 8);
  uint64_t state = number * 0x9e3779b97f4a7c15ull + 1;
  for (int i = 12; i < RECORD_SIZE - 4; i++) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    record[i] = (unsigned char)state;
  }
  uint32_t sum = crc32(record, RECORD_SIZE - 4);
  memcpy(record + RECORD_SIZE - 4, &sum, 4);
}

static int intact(const unsigned char* record, uint64_t number) {
  unsigned char expected[RECORD_SIZE];
  make_record(number, expected);
  return memcmp(record, expected, RECORD_SIZE) == 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: crash_records FILE ACKNOWLEDGED [LIMIT]\n");
    return 1;
  }
  uint64_t acknowledged = strtoull(argv[2], NULL, 10);
  uint64_t limit = argc > 3 ? strtoull(argv[3], NULL, 10) : UINT64_MAX;
  int fd = open(argv[1], O_RDWR | O_CREAT, 0644);
  if (fd < 0) {
    fprintf(stderr, "crash_records: open %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  unsigned char record[RECORD_SIZE];
  uint64_t found = 0;
  for (;;) {
    ssize_t n = pread(fd, record, RECORD_SIZE, (off_t)(found * RECORD_SIZE));
    if (n != RECORD_SIZE || !intact(record, found)) break;
    found++;
  }
  if (found < acknowledged) {
    struct stat st;
    fstat(fd, &st);
    fprintf(stderr, "crash_records: LOST DATA: %llu records acknowledged, %llu intact (file size %lld)\n",
            (unsigned long long)acknowledged, (unsigned long long)found, (long long)st.st_size);
    return 2;
  }
  printf("verified %llu\n", (unsigned long long)found);
  fflush(stdout);
  // What follows the intact records (a record torn by the crash) is cut off.
  if (ftruncate(fd, (off_t)(found * RECORD_SIZE)) != 0 || fsync(fd) != 0) {
    fprintf(stderr, "crash_records: truncate: %s\n", strerror(errno));
    return 1;
  }
  for (uint64_t number = found; number < limit; number++) {
    make_record(number, record);
    if (pwrite(fd, record, RECORD_SIZE, (off_t)(number * RECORD_SIZE)) != RECORD_SIZE) {
      fprintf(stderr, "crash_records: write: %s\n", strerror(errno));
      return 1;
    }
    if (fsync(fd) != 0) {
      fprintf(stderr, "crash_records: fsync: %s\n", strerror(errno));
      return 1;
    }
    printf("%llu\n", (unsigned long long)number);
    fflush(stdout);
  }
  return 0;
}
