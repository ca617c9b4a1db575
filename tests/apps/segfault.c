/* Writes to address 16 without a handler: the program dies by SIGSEGV (status 139). */
#include <stdio.h>
int main(void) {
  printf("about to fault\n");
  fflush(stdout);
  int* volatile address = (int*)16;
  *address = 1;
  return 0;
}
