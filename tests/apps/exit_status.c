/* Exits with the status given as the first argument (default 42), after printing it. */
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char** argv) {
  int status = argc > 1 ? atoi(argv[1]) : 42;
  printf("exiting with %d\n", status);
  return status;
}
