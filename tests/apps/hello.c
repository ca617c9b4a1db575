/* Prints a greeting and its arguments. */
#include <stdio.h>
int main(int argc, char** argv) {
  printf("Hello from Nimbus!\n");
  for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
  return 0;
}
