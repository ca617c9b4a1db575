/* Touches N MiB (argv[1]) of anonymous memory page by page: in a VM with less memory, the
 * kernel runs out on a page fault and must say so rather than crash. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char** argv) {
  size_t bytes = (size_t)(argc > 1 ? atol(argv[1]) : 64) << 20;
  char* area = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return 2;
  for (size_t i = 0; i < bytes; i += 4096) area[i] = 1;
  printf("touched %zu MiB\n", bytes >> 20);
  return 0;
}
