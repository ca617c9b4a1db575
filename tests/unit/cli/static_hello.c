/* A statically linked program for the ELF tests: it has no PT_INTERP and needs no libraries. */
#include <stdio.h>

int main(void) {
  puts("hello from a static binary");
  return 0;
}
