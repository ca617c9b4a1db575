/* ABI micro-benchmarks: the same binary runs in Nimbus and in the Linux guest. For each
 * operation it prints "bench <name> <ns per op> <tsc ticks per op>"; under QEMU's
 * -icount shift=0 the TSC counts guest instructions, so the last column is exact. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdlib.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void report(const char* name, long ops, uint64_t ns, uint64_t ticks) {
  printf("bench %s %.1f %.1f\n", name, (double)ns / ops, (double)ticks / ops);
  fflush(stdout);
}

#define MEASURE(name, ops, body)                           \
  do {                                                     \
    uint64_t t0 = now_ns(), c0 = __rdtsc();                \
    for (long i = 0; i < (ops); i++) { body; }             \
    uint64_t c1 = __rdtsc(), t1 = now_ns();                \
    report(name, ops, t1 - t0, c1 - c0);                   \
  } while (0)

static volatile int futex_word;
static long pingpong_rounds;

static void futex_wait(volatile int* w, int v) { syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0); }
static void futex_wake(volatile int* w) { syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static int pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set);
}

static void* ponger(void* arg) {
  int cpu = (int)(long)arg;
  if (cpu >= 0) pin_to_cpu(cpu);
  for (long i = 0; i < pingpong_rounds; i++) {
    while (futex_word != 1) futex_wait(&futex_word, 0);
    futex_word = 0;
    futex_wake(&futex_word);
  }
  return NULL;
}

/* Two threads hand a futex word back and forth. With two CPUs the pinger stays on CPU 0
 * and the ponger on CPU 1, so every round crosses CPUs; a kernel without working
 * sched_setaffinity reports that instead of a figure. */
static void pingpong(const char* name, long rounds, int cpus) {
  if (cpus == 2 && pin_to_cpu(0) != 0) {
    printf("note %s skipped: sched_setaffinity failed\n", name);
    return;
  }
  pingpong_rounds = rounds;
  futex_word = 0;
  pthread_t t;
  pthread_create(&t, NULL, ponger, (void*)(long)(cpus == 2 ? 1 : -1));
  uint64_t t0 = now_ns(), c0 = __rdtsc();
  for (long i = 0; i < rounds; i++) {
    futex_word = 1;
    futex_wake(&futex_word);
    while (futex_word != 0) futex_wait(&futex_word, 1);
  }
  uint64_t c1 = __rdtsc(), t1 = now_ns();
  pthread_join(t, NULL);
  report(name, rounds, t1 - t0, c1 - c0);
}

static void* nothing(void* arg) { return arg; }

extern char** environ;

static void reap(pid_t pid) {
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    printf("note a child failed (pid %d)\n", (int)pid);
    exit(1);
  }
}

static void fork_exit_wait(void) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  reap(pid);
}

/* The processes a program starts: this binary re-executed with "exit" is the static hello
 * (it ends before printing anything); /bin/sh is busybox in both guests. */
static void process_benchmarks(const char* self, long scale) {
  char* exit_argv[] = {(char*)self, "exit", NULL};
  char* sh_argv[] = {"sh", "-c", "true", NULL};
  MEASURE("fork_exit_wait", 200 * scale, fork_exit_wait());
  MEASURE("vfork_exec", 100 * scale, {
    pid_t pid = vfork();
    if (pid == 0) {
      execve(self, exit_argv, environ);
      _exit(127);
    }
    reap(pid);
  });
  MEASURE("posix_spawn", 100 * scale, {
    pid_t pid = -1;
    if (posix_spawn(&pid, self, NULL, NULL, exit_argv, environ) != 0) pid = -1;
    reap(pid);
  });
  /* execve alone: each child execs the static hello; fork+exit+wait is subtracted by the reader. */
  MEASURE("fork_execve_wait", 100 * scale, {
    pid_t pid = fork();
    if (pid == 0) {
      execve(self, exit_argv, environ);
      _exit(127);
    }
    reap(pid);
  });
  MEASURE("sh_c_true", 50 * scale, {
    pid_t pid = -1;
    if (posix_spawn(&pid, "/bin/sh", NULL, NULL, sh_argv, environ) != 0) pid = -1;
    reap(pid);
  });

  /* A pipe between two processes: 64 KiB writes streamed to a reader (ticks per 64 KiB), and
   * one byte there and back through two pipes (ticks per round trip). */
  enum { kChunk = 65536 };
  static char chunk[kChunk];
  int data[2], back[2];
  if (pipe(data) != 0 || pipe(back) != 0) return;
  long chunks = 256 * scale;
  pid_t reader = fork();
  if (reader == 0) {
    close(data[1]);
    long total = 0;
    ssize_t n;
    while ((n = read(data[0], chunk, sizeof chunk)) > 0) total += n;
    _exit(total == chunks * kChunk ? 0 : 1);
  }
  close(data[0]);
  MEASURE("pipe_throughput_64k", chunks, {
    for (size_t done = 0; done < kChunk;) done += write(data[1], chunk + done, kChunk - done);
  });
  close(data[1]);
  reap(reader);
  if (pipe(data) != 0) return;
  pid_t echo = fork();
  if (echo == 0) {
    close(data[1]);
    close(back[0]);
    char c;
    while (read(data[0], &c, 1) == 1) write(back[1], &c, 1);
    _exit(0);
  }
  close(data[0]);
  close(back[1]);
  char c = 'x';
  MEASURE("pipe_round_trip", 2000 * scale, {
    write(data[1], &c, 1);
    read(back[0], &c, 1);
  });
  close(data[1]);
  reap(echo);
  close(back[0]);

  /* fork+exit+wait of a 256 MiB process: every page written first, so the page tables are full. */
  size_t big = (size_t)256 << 20;
  char* memory = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    printf("note fork_exit_wait_256m skipped: mmap failed\n");
    return;
  }
  memset(memory, 1, big);
  MEASURE("fork_exit_wait_256m", 10 * scale, fork_exit_wait());
  munmap(memory, big);
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "exit") == 0) return 0;
  /* Under -icount the TSC started at 0 with the VM: this is the instruction count from
   * power-on to main(), boot and program loading included. */
  printf("bench main_tsc 0 %llu\n", (unsigned long long)__rdtsc());
  long scale = argc > 1 ? atol(argv[1]) : 1;
  if (scale < 1) scale = 1;
  struct timespec ts;
  MEASURE("null_syscall_getppid", 20000 * scale, syscall(SYS_getppid));
  MEASURE("clock_gettime_vdso", 20000 * scale, clock_gettime(CLOCK_MONOTONIC, &ts));
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  pingpong(cpus >= 2 ? "futex_pingpong_2cpu" : "futex_pingpong_1cpu", 2000 * scale, cpus >= 2 ? 2 : 1);
  MEASURE("thread_create_join", 200 * scale, {
    pthread_t t;
    pthread_create(&t, NULL, nothing, NULL);
    pthread_join(t, NULL);
  });
  long pages = 2000 * scale;
  char* area = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  MEASURE("page_fault_4k", pages, area[i * 4096] = 1);
  munmap(area, pages * 4096);
  MEASURE("mmap_munmap", 2000 * scale, {
    void* p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p, 65536);
  });
  if (argc > 2 && strcmp(argv[2], "processes") == 0) process_benchmarks(argv[0], scale);
  return 0;
}
