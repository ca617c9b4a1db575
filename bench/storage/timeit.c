/* timeit.c - runs a command and prints "elapsed_ms N" (wall time, CLOCK_MONOTONIC) on stdout
 * once it has exited; exits with the command's status. The storage benchmark's guest workload
 * (bench/storage/workload.sh) times sqlite3 and python3 with it in both guests, because busybox's
 * date has no sub-second format.
 *
 *   timeit PROGRAM [ARGS...]      (built static, so it needs nothing from either guest) */
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: timeit PROGRAM [ARGS...]\n");
    return 2;
  }
  double start = now_ms();
  pid_t pid = fork();
  if (pid < 0) {
    perror("timeit: fork");
    return 125;
  }
  if (pid == 0) {
    execvp(argv[1], argv + 1);
    perror("timeit: exec");
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) {
    perror("timeit: waitpid");
    return 125;
  }
  printf("elapsed_ms %.1f\n", now_ms() - start);
  fflush(stdout);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
