/* Program actions that must not end the VM: kernel accesses to program memory that fault
 * (FUTEX_WAKE_OP on a read-only page, read() into and write() from a buffer another thread
 * unmaps), the program's own reads of kernel-half addresses, and calls to the legacy vsyscall
 * entries. With "bad-xsave" or "bad-mxcsr", a signal handler corrupts the XSAVE header or
 * the MXCSR in its frame: rt_sigreturn must kill the program with SIGSEGV. The output is the
 * same on the host and in Nimbus. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static void futex_wake_op_on_read_only_page(void) {
  static uint32_t word;
  uint32_t* read_only = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  long r = syscall(SYS_futex, &word, FUTEX_WAKE_OP, 1, 1, read_only, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0));
  printf("FUTEX_WAKE_OP on a read-only page: %ld %s\n", r, r < 0 ? strerror(errno) : "");
  printf("the read-only word is still %u\n", *read_only);
}

static int g_pipe[2];
static char* g_buffer;
static long g_read_result;
static int g_read_errno;

static void* reader(void* unused) {
  (void)unused;
  g_read_result = read(g_pipe[0], g_buffer, 8192);
  g_read_errno = errno;
  return NULL;
}

static void read_into_buffer_unmapped_meanwhile(void) {
  g_buffer = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  pipe(g_pipe);
  pthread_t thread;
  pthread_create(&thread, NULL, reader, NULL);
  usleep(300 * 1000);  // the reader is now blocked in read() with its buffer checked
  munmap(g_buffer, 8192);
  char data[100];
  memset(data, 'x', sizeof data);
  write(g_pipe[1], data, sizeof data);
  pthread_join(thread, NULL);
  /* Linux: EFAULT, or a short count; never the data in a buffer that is gone. */
  printf("read() into a buffer unmapped meanwhile: %s\n",
         g_read_result < 0 ? strerror(g_read_errno) : g_read_result < 100 ? "short count" : "all data?");
}

static void* writer(void* unused) {
  (void)unused;
  g_read_result = write(g_pipe[1], g_buffer, 8192);
  g_read_errno = errno;
  return NULL;
}

static void write_from_buffer_unmapped_meanwhile(void) {
  g_buffer = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(g_buffer, 'y', 8192);
  pipe(g_pipe);
  static char fill[65536];
  write(g_pipe[1], fill, sizeof fill);  /* the pipe is full: the next write waits */
  pthread_t thread;
  pthread_create(&thread, NULL, writer, NULL);
  usleep(300 * 1000);
  munmap(g_buffer, 8192);
  read(g_pipe[0], fill, sizeof fill);
  pthread_join(thread, NULL);
  printf("write() from a buffer unmapped meanwhile: %s\n",
         g_read_result < 0 ? strerror(g_read_errno) : g_read_result < 8192 ? "short count" : "all data?");
}

static sigjmp_buf g_recover;
static volatile sig_atomic_t g_code;
static void* volatile g_address;

static void on_segv(int signal, siginfo_t* info, void* context) {
  (void)signal;
  (void)context;
  g_code = info->si_code;
  g_address = info->si_addr;
  siglongjmp(g_recover, 1);
}

static void read_kernel_address(uintptr_t address) {
  if (sigsetjmp(g_recover, 1) == 0) {
    volatile uint32_t value = *(volatile uint32_t*)address;
    printf("read of %#lx gave %u\n", (unsigned long)address, value);
  } else {
    printf("read of %#lx: SIGSEGV, si_code %s, si_addr %p\n", (unsigned long)address,
           g_code == SEGV_MAPERR ? "SEGV_MAPERR" : g_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other", g_address);
  }
}

/* A store to kernel text must fault (Nimbus: the image and its direct-map alias are
   read-only, and CR0.WP holds ring 0 to it; Linux: a kernel address). */
static void write_kernel_address(uintptr_t address) {
  if (sigsetjmp(g_recover, 1) == 0) {
    *(volatile uint8_t*)address = 0;
    printf("write to %#lx went through\n", (unsigned long)address);
  } else {
    printf("write to %#lx: SIGSEGV, si_code %s, si_addr %p\n", (unsigned long)address,
           g_code == SEGV_MAPERR ? "SEGV_MAPERR" : g_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other", g_address);
  }
}

/* The legacy vsyscall entries, which Linux's default vsyscall=xonly still runs. */
static void call_vsyscall_entries(void) {
  time_t (*vsyscall_time)(time_t*) = (time_t(*)(time_t*))0xffffffffff600400ul;
  int (*vsyscall_gettimeofday)(struct timeval*, void*) = (int (*)(struct timeval*, void*))0xffffffffff600000ul;
  int (*vsyscall_getcpu)(unsigned*, unsigned*, void*) = (int (*)(unsigned*, unsigned*, void*))0xffffffffff600800ul;
  time_t stored = 0;
  time_t now = vsyscall_time(&stored);
  long off = (long)(now - time(NULL));
  printf("vsyscall time(): agrees with time() %s, stored %s\n", off >= -1 && off <= 1 ? "yes" : "no",
         stored == now ? "yes" : "no");
  struct timeval tv;
  int r = vsyscall_gettimeofday(&tv, NULL);
  off = (long)(tv.tv_sec - time(NULL));
  printf("vsyscall gettimeofday(): %d, agrees with time() %s\n", r, off >= -1 && off <= 1 ? "yes" : "no");
  unsigned cpu = 12345;
  r = vsyscall_getcpu(&cpu, NULL, NULL);
  printf("vsyscall getcpu(): %d, a CPU number %s\n", r, cpu < 4096 ? "yes" : "no");
}

static void corrupt_xsave_header(int signal, siginfo_t* info, void* context) {
  (void)signal;
  (void)info;
  ucontext_t* uc = context;
  /* The XSAVE header follows the 512-byte legacy area; XCOMP_BV must be 0 in the standard
   * format, so XRSTOR would refuse it. */
  uint64_t* header = (uint64_t*)((char*)uc->uc_mcontext.fpregs + 512);
  header[1] = 1;
}

static void corrupt_mxcsr(int signal, siginfo_t* info, void* context) {
  (void)signal;
  (void)info;
  ucontext_t* uc = context;
  /* Reserved MXCSR bits: the header is fine, but XRSTOR raises #GP. */
  uc->uc_mcontext.fpregs->mxcsr = 0xffffffffu;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && (strcmp(argv[1], "bad-xsave") == 0 || strcmp(argv[1], "bad-mxcsr") == 0)) {
    struct sigaction action = {0};
    action.sa_sigaction = strcmp(argv[1], "bad-xsave") == 0 ? corrupt_xsave_header : corrupt_mxcsr;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &action, NULL);
    printf("returning from a handler that corrupted its %s\n", argv[1] + 4);
    raise(SIGUSR1);
    printf("survived a corrupt signal frame\n");
    return 0;
  }
  futex_wake_op_on_read_only_page();
  read_into_buffer_unmapped_meanwhile();
  write_from_buffer_unmapped_meanwhile();
  struct sigaction action = {0};
  action.sa_sigaction = on_segv;
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &action, NULL);
  read_kernel_address(0xfffffffffffffffcul);
  read_kernel_address(0xffffffffff600000ul);  /* the legacy vsyscall page: execute-only */
  read_kernel_address(0xffff900000000000ul);  /* unmapped, in the direct map's half */
  write_kernel_address(0xffffffff80100000ul);  /* Nimbus's kernel text */
  write_kernel_address(0xffff800000100000ul);  /* its alias in Nimbus's direct map */
  call_vsyscall_entries();
  printf("done\n");
  return 0;
}
