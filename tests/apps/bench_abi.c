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
#include <sys/mman.h>
#include <sys/syscall.h>
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

int main(int argc, char** argv) {
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
  return 0;
}
