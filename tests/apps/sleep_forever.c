/* What coreutils' `sleep infinity` does: nanosleep for the largest timespec there is. It must
 * sleep (until the VM is stopped), not wrap around to a deadline in the past and return. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

int main(void) {
  struct timespec forever = {INT64_MAX, 999999999};
  int result = nanosleep(&forever, NULL);
  printf("nanosleep returned %d\n", result);
  return 1;
}
