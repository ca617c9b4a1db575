/* Differential test: signal handlers, masks, faults caught by the program. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static sigjmp_buf jump;
static volatile sig_atomic_t usr1, usr2;
static void* fault_address;
static void on_segv(int sig, siginfo_t* info, void* context) {
  (void)sig;
  (void)context;
  fault_address = info->si_addr;
  siglongjmp(jump, 1);
}
static void on_usr1(int sig) { (void)sig; usr1++; }
static void on_usr2(int sig) { (void)sig; usr2++; }
static void on_fpe(int sig) { (void)sig; siglongjmp(jump, 2); }

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  if (sigsetjmp(jump, 1) == 0) *(volatile int*)0x1000 = 1;
  printf("SIGSEGV caught at %p\n", fault_address);
  signal(SIGUSR1, on_usr1);
  signal(SIGUSR2, on_usr2);
  raise(SIGUSR1);
  kill(getpid(), SIGUSR1);
  printf("SIGUSR1 handled %d times\n", (int)usr1);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  sigprocmask(SIG_BLOCK, &block, &old);
  raise(SIGUSR2);
  sigset_t pending;
  sigpending(&pending);
  printf("SIGUSR2 pending while blocked %d, handled %d\n", sigismember(&pending, SIGUSR2), (int)usr2);
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("SIGUSR2 handled after unblock %d\n", (int)usr2);
  signal(SIGFPE, on_fpe);
  int zero = 0, quotient;
  if (sigsetjmp(jump, 1) == 0) {
    __asm__ volatile("cltd; idivl %2" : "=a"(quotient) : "a"(1), "r"(zero) : "edx");
    printf("no SIGFPE: %d\n", quotient);
  } else {
    printf("SIGFPE caught\n");
  }
  double d = 1.25;
  for (int i = 0; i < 4; i++) d *= 3.5;
  printf("floating point intact %.4f\n", d);
  signal(SIGPIPE, SIG_IGN);
  printf("ignored signal survives %d\n", raise(SIGPIPE));
  return 0;
}
