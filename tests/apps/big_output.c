/* Writes N MiB (first argument, default 50) of a deterministic pattern to stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char** argv) {
  long mib = argc > 1 ? atol(argv[1]) : 50;
  static char block[1 << 16];
  unsigned x = 12345;
  for (long i = 0; i < mib * 16; i++) {
    for (size_t j = 0; j < sizeof block; j++) block[j] = 'a' + (x = x * 1103515245 + 12345) % 26;
    if (write(1, block, sizeof block) != (ssize_t)sizeof block) return 1;
  }
  return 0;
}
