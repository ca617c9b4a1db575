/* Stale TLB entries show as wrong data or missing faults: this program looks for them where
 * address spaces change under a CPU's feet.
 * 1. fork: the parent writes its pages at once while the child (on another CPU) checks that
 *    it still sees the values from before the fork (copy-on-write must catch every write).
 * 2. mprotect: one thread makes a page read-only while a second thread, running on another
 *    CPU with the page's writable entry in its TLB, tries to write it: every try must fault.
 * 3. many processes (more than a CPU has PCIDs) mapping, writing, yielding, checking and
 *    unmapping memory, so freed frames go from one process to another.
 * Prints counts; any mismatch is reported and fails the program. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kPage = 4096, kCowPages = 32, kCowRounds = 100, kProtectRounds = 300, kWorkers = 9, kWorkerRounds = 60,
       kWorkerPages = 8 };

static int fork_and_check_copy_on_write(void) {
  volatile uint64_t* pages = mmap(NULL, kCowPages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pages == MAP_FAILED) return perror("mmap"), 1;
  int bad = 0;
  for (uint64_t round = 1; round <= kCowRounds; round++) {
    for (int i = 0; i < kCowPages; i++) pages[i * kPage / 8] = round * 1000 + i;
    int go[2];
    if (pipe(go) != 0) return perror("pipe"), 1;
    pid_t child = fork();
    if (child < 0) return perror("fork"), 1;
    if (child == 0) {
      char c;
      close(go[1]);
      if (read(go[0], &c, 1) != 1) _exit(2);
      for (int i = 0; i < kCowPages; i++) {
        if (pages[i * kPage / 8] != round * 1000 + i) _exit(1);
      }
      _exit(0);
    }
    close(go[0]);
    for (int i = 0; i < kCowPages; i++) pages[i * kPage / 8] = ~(round * 1000 + i);
    if (write(go[1], "x", 1) != 1) return perror("write"), 1;
    close(go[1]);
    for (int i = 0; i < kCowPages; i++) {
      if (pages[i * kPage / 8] != ~(round * 1000 + i)) bad++;
    }
    int status;
    if (waitpid(child, &status, 0) != child) return perror("waitpid"), 1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) bad++;
  }
  printf("copy-on-write after fork: %d rounds, %d bad\n", kCowRounds, bad);
  return bad != 0;
}

static volatile uint64_t* g_page;
static atomic_int g_phase;  /* round * 2 (+1 while read-only) */
static atomic_int g_answered;
static atomic_int g_faults;
static atomic_int g_writes_to_read_only;
static sigjmp_buf g_fault_jump;

static void on_segv(int signal) {
  (void)signal;
  siglongjmp(g_fault_jump, 1);
}

static void* write_in_every_phase(void* unused) {
  (void)unused;
  int seen = 0;
  for (;;) {
    int phase = atomic_load(&g_phase);
    if (phase < 0) return NULL;
    if (phase == seen) {
      sched_yield();
      continue;
    }
    seen = phase;
    if (sigsetjmp(g_fault_jump, 1) == 0) {
      *g_page = (uint64_t)phase;
      if (phase & 1) atomic_fetch_add(&g_writes_to_read_only, 1);
    } else {
      atomic_fetch_add(&g_faults, 1);
    }
    atomic_store(&g_answered, phase);
  }
}

static int protect_under_a_running_thread(void) {
  g_page = mmap(NULL, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g_page == MAP_FAILED) return perror("mmap"), 1;
  struct sigaction action = {.sa_handler = on_segv};
  sigaction(SIGSEGV, &action, NULL);
  pthread_t writer;
  if (pthread_create(&writer, NULL, write_in_every_phase, NULL) != 0) return perror("pthread_create"), 1;
  for (int round = 1; round <= kProtectRounds; round++) {
    /* Writable: the writer's write leaves a writable entry in its CPU's TLB. */
    atomic_store(&g_phase, round * 2);
    while (atomic_load(&g_answered) != round * 2) sched_yield();
    if (mprotect((void*)g_page, kPage, PROT_READ) != 0) return perror("mprotect"), 1;
    atomic_store(&g_phase, round * 2 + 1);
    while (atomic_load(&g_answered) != round * 2 + 1) sched_yield();
    if (mprotect((void*)g_page, kPage, PROT_READ | PROT_WRITE) != 0) return perror("mprotect"), 1;
  }
  atomic_store(&g_phase, -1);
  pthread_join(writer, NULL);
  printf("mprotect under a running thread: %d rounds, %d faults, %d writes to a read-only page\n", kProtectRounds,
         atomic_load(&g_faults), atomic_load(&g_writes_to_read_only));
  return atomic_load(&g_faults) != kProtectRounds || atomic_load(&g_writes_to_read_only) != 0;
}

static int map_write_yield_check(int worker) {
  for (uint64_t round = 0; round < kWorkerRounds; round++) {
    volatile uint64_t* pages =
        mmap(NULL, kWorkerPages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED) return 2;
    uint64_t mark = ((uint64_t)worker << 32) | round;
    for (int i = 0; i < kWorkerPages; i++) pages[i * kPage / 8] = mark + ((uint64_t)i << 16);
    sched_yield();
    for (int i = 0; i < kWorkerPages; i++) {
      if (pages[i * kPage / 8] != mark + ((uint64_t)i << 16)) return 1;
    }
    munmap((void*)pages, kWorkerPages * kPage);
  }
  return 0;
}

static int many_processes(void) {
  pid_t workers[kWorkers];
  for (int w = 0; w < kWorkers; w++) {
    workers[w] = fork();
    if (workers[w] < 0) return perror("fork"), 1;
    if (workers[w] == 0) _exit(map_write_yield_check(w));
  }
  int good = 0;
  for (int w = 0; w < kWorkers; w++) {
    int status;
    if (waitpid(workers[w], &status, 0) == workers[w] && WIFEXITED(status) && WEXITSTATUS(status) == 0) good++;
  }
  printf("processes mapping and unmapping: %d of %d saw only their own data\n", good, kWorkers);
  return good != kWorkers;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int failed = fork_and_check_copy_on_write();
  failed |= protect_under_a_running_thread();
  failed |= many_processes();
  return failed;
}
