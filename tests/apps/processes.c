/* Differential test: processes. fork and wait statuses, copy-on-write memory, a pipe between
 * processes, exec (and a failed exec), vfork, posix_spawn, SIGCHLD, process groups and
 * sessions, kill to a group, and 1,000 children forked and reaped. Prints values. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <sys/fsuid.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static void describe(const char* what, int status) {
  if (WIFEXITED(status)) printf("%s: exited %d\n", what, WEXITSTATUS(status));
  else if (WIFSIGNALED(status)) printf("%s: killed by signal %d\n", what, WTERMSIG(status));
  else printf("%s: status %#x\n", what, status);
}

static int reap(pid_t pid) {
  int status = -1;
  if (waitpid(pid, &status, 0) != pid) printf("waitpid failed: %s\n", strerror(errno));
  return status;
}

static long futex(uint32_t* word, int op, uint32_t value) { return syscall(SYS_futex, word, op, value, NULL, NULL, 0); }

static uint32_t g_private_word;
static void* wait_on_private_word(void* unused) {
  (void)unused;
  while (__atomic_load_n(&g_private_word, __ATOMIC_SEQ_CST) == 0) futex(&g_private_word, FUTEX_WAIT, 0);
  return NULL;
}

/* Program data a child changes in its own copy: the next process running this program, and
 * the program file, must still see the originals (exec maps the file's pages copy-on-write). */
static const char g_marker[] = "processes-marker-original";
static char g_data_word[] = "data-original";

static void exec_data_child(void) {
  printf("exec data child sees: %s %s\n", g_marker, g_data_word);
  strcpy(g_data_word, "data-changed!");
  uintptr_t page = (uintptr_t)g_marker & ~(uintptr_t)4095;
  size_t length = ((uintptr_t)g_marker + sizeof g_marker - page + 4095) & ~(size_t)4095;
  if (mprotect((void*)page, length, PROT_READ | PROT_WRITE) != 0) printf("mprotect failed: %s\n", strerror(errno));
  else memcpy((char*)g_marker, "PROCESSES-MARKER-CHANGED!", sizeof g_marker - 1);
  printf("exec data child changed them to: %s %s\n", g_marker, g_data_word);
}

/* Whether the program file still holds the marker as built. */
static int file_holds_marker(void) {
  FILE* f = fopen("/proc/self/exe", "rb");
  if (!f) return -1;
  static char buffer[1 << 16];
  size_t keep = 0, n;
  int found = 0;
  while (!found && (n = fread(buffer + keep, 1, sizeof buffer - keep, f)) > 0) {
    n += keep;
    found = memmem(buffer, n, "processes-marker-original", 25) != NULL;
    keep = n < 32 ? n : 32;
    memmove(buffer, buffer + n - keep, keep);
  }
  fclose(f);
  return found;
}

static void on_usr1(int signal) { (void)signal; }

/* clone3 with CLONE_CLEAR_SIGHAND: the child's caught signals are back to SIG_DFL, its ignored
 * ones stay ignored; with CLONE_SIGHAND too it is EINVAL. A new thread's FS base (CLONE_SETTLS)
 * must be a user address: EPERM otherwise. */
static void clone_flags_checks(void) {
  struct clone3_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
  };
  const uint64_t clear_sighand = 0x100000000ull;
  signal(SIGUSR1, on_usr1);
  signal(SIGUSR2, SIG_IGN);
  struct clone3_args args = {.flags = clear_sighand, .exit_signal = SIGCHLD};
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) {
    struct sigaction usr1, usr2;
    sigaction(SIGUSR1, NULL, &usr1);
    sigaction(SIGUSR2, NULL, &usr2);
    _exit((usr1.sa_handler == SIG_DFL ? 1 : 0) | (usr2.sa_handler == SIG_IGN ? 2 : 0));
  }
  if (pid < 0) printf("clone3(CLONE_CLEAR_SIGHAND) failed: %s\n", strerror(errno));
  else describe("clone3(CLONE_CLEAR_SIGHAND) child, 3 = SIGUSR1 default and SIGUSR2 ignored", reap(pid));
  struct clone3_args both = {.flags = clear_sighand | CLONE_SIGHAND | CLONE_VM, .exit_signal = SIGCHLD};
  pid = syscall(SYS_clone3, &both, sizeof both);
  if (pid == 0) syscall(SYS_exit, 0);
  printf("clone3(CLONE_CLEAR_SIGHAND|CLONE_SIGHAND): %ld %s\n", pid, pid < 0 ? strerror(errno) : "");
  if (pid > 0) reap(pid);
  pid = syscall(SYS_clone, SIGCHLD | CLONE_SETTLS, 0, NULL, NULL, 0x8000000000000000ull);
  if (pid == 0) syscall(SYS_exit, 0);
  printf("clone(CLONE_SETTLS, non-canonical): %ld %s\n", pid, pid < 0 ? strerror(errno) : "");
  if (pid > 0) reap(pid);
  signal(SIGUSR1, SIG_DFL);
  signal(SIGUSR2, SIG_DFL);
}

/* execve from a thread that is not the process's first: the other threads end, the process
 * goes on as the new program. */
static void* exec_from_thread(void* program) {
  char* child_argv[] = {program, "exec-child", "from a sibling thread", NULL};
  execv("/proc/self/exe", child_argv);
  _exit(126);
}

/* A #! script run by a relative path: AT_EXECFN and the process name are the script's. */
static void script_names_check(void) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  char dir[] = "/tmp/processes-XXXXXX";
  if (n <= 0 || !mkdtemp(dir)) {
    printf("no program path or temporary directory\n");
    return;
  }
  exe[n] = '\0';
  char script[4200];
  snprintf(script, sizeof script, "%s/run-me-script", dir);
  FILE* f = fopen(script, "w");
  fprintf(f, "#!%s script-child\n", exe);
  fclose(f);
  chmod(script, 0755);
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir) != 0) _exit(125);
    char* child_argv[] = {"./run-me-script", NULL};
    execv("./run-me-script", child_argv);
    _exit(127);
  }
  describe("script child", reap(pid));
  unlink(script);
  rmdir(dir);
}

static volatile int g_chld_count;
static void on_chld(int signal) { (void)signal; g_chld_count++; }

/* Job control: SIGSTOP stops a child (WUNTRACED reports it, SIGCHLD says CLD_STOPPED,
 * /proc/PID/stat says T), SIGCONT continues it (WCONTINUED, CLD_CONTINUED), SIGKILL ends a
 * stopped child; SA_NOCLDSTOP silences the stop's SIGCHLD; SIGTSTP stops a child in its own
 * group, and is discarded in an orphaned group (a new session's). */
static volatile sig_atomic_t g_chld_code, g_chld_status;
static void on_chld_info(int signal, siginfo_t* info, void* context) {
  (void)signal;
  (void)context;
  g_chld_code = info->si_code;
  g_chld_status = info->si_status;
}

static char proc_state(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE* f = fopen(path, "r");
  if (!f) return '?';
  char state = '?';
  if (fgets(line, sizeof line, f)) {
    char* end = strrchr(line, ')');
    if (end && end[1]) state = end[2];
  }
  fclose(f);
  return state;
}

static void await_chld_code(int code) {
  for (int i = 0; i < 2000 && g_chld_code != code; i++) usleep(1000);
}

/* Credentials are each process's own and follow Linux's rules (run as root, as on the host):
 * setreuid's saved id, setuid back to the saved id, setfsuid, capabilities dropped on leaving
 * uid 0 (or kept with PR_SET_KEEPCAPS), and kill's permission check (EPERM, but SIGCONT within
 * the session). Also __WNOTHREAD: a thread waits only for the children it made. */
static void print_capabilities(const char* when) {
  struct { uint32_t version; int pid; } header = {0x20080522, 0};
  struct { uint32_t effective, permitted, inheritable; } data[2];
  memset(data, 0, sizeof data);
  syscall(SYS_capget, &header, data);
  /* The host's bounding set may lack some: only whether any are left is compared. */
  printf("%s: capabilities effective %s, permitted %s\n", when, data[0].effective ? "some" : "none",
         data[0].permitted ? "some" : "none");
}

static void print_ids(const char* when) {
  uid_t r, e, s;
  getresuid(&r, &e, &s);
  printf("%s: uid %d %d %d fsuid %d\n", when, (int)r, (int)e, (int)s, setfsuid(-1));
}

static void* fork_child_and_wait_here(void* unused) {
  (void)unused;
  pid_t child = fork();
  if (child == 0) _exit(9);
  int status = 0;
  pid_t r = waitpid(child, &status, __WNOTHREAD);
  printf("__WNOTHREAD in the thread that forked: %s, exited %d\n", r == child ? "the child" : "?", WEXITSTATUS(status));
  return NULL;
}

static pid_t g_other_thread_child;
static void* wait_for_other_threads_child(void* unused) {
  (void)unused;
  errno = 0;
  int r = waitpid(g_other_thread_child, NULL, __WNOTHREAD);
  printf("__WNOTHREAD for another thread's child: %d %s\n", r, strerror(errno));
  return NULL;
}

static void credential_checks(void) {
  if (geteuid() != 0) {
    printf("credentials: not root, skipped\n");
    return;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    printf("setreuid(1000, 2000): %d; ", setreuid(1000, 2000));
    print_ids("then");
    printf("setreuid(-1, 1000): %d; ", setreuid(-1, 1000));
    print_ids("then");
    printf("setuid(2000), the saved id: %d; ", setuid(2000));
    print_ids("then");
    int r = setuid(0);
    printf("setuid(0): %d %s\n", r, strerror(errno));
    printf("setfsuid(5) returns %d; ", setfsuid(5));
    print_ids("then");
    print_capabilities("after leaving uid 0");
    r = kill(parent, 0);
    printf("kill(parent, 0): %d %s; ", r, strerror(errno));
    printf("kill(parent, SIGCONT) in the session: %d\n", kill(parent, SIGCONT));
    r = setgroups(0, NULL);
    printf("setgroups: %d %s\n", r, strerror(errno));
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_max++;
    r = setrlimit(RLIMIT_NOFILE, &limit);
    printf("raising a hard limit without CAP_SYS_RESOURCE: %d %s\n", r, strerror(errno));
    _exit(0);
  }
  describe("child leaving uid 0", reap(pid));
  pid = fork();
  if (pid == 0) {
    prctl(PR_SET_KEEPCAPS, 1);
    printf("with PR_SET_KEEPCAPS, setresuid(7, 7, 7): %d; ", setresuid(7, 7, 7));
    print_capabilities("then");
    int r = setresuid(-1, 0, -1);
    printf("setresuid(-1, 0, -1): %d %s\n", r, strerror(errno));
    _exit(0);
  }
  describe("child keeping capabilities", reap(pid));
  print_ids("the parent's ids stay");
  /* Limits are each process's own; /proc/PID/limits shows them in Linux's columns. */
  struct rlimit before_limit, after_limit;
  getrlimit(RLIMIT_NOFILE, &before_limit);
  pid = fork();
  if (pid == 0) {
    struct rlimit low = {100, 200};
    int r = setrlimit(RLIMIT_NOFILE, &low);
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/limits", (int)getpid());
    FILE* f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
      if (strncmp(line, "Limit", 5) == 0 || strncmp(line, "Max open files", 14) == 0 ||
          strncmp(line, "Max cpu time", 12) == 0 || strncmp(line, "Max nice", 8) == 0)
        printf("child's limits: %s", line);
    }
    if (f) fclose(f);
    _exit(r == 0 ? 0 : 1);
  }
  describe("child lowering RLIMIT_NOFILE", reap(pid));
  getrlimit(RLIMIT_NOFILE, &after_limit);
  printf("the parent's RLIMIT_NOFILE stays: %d\n",
         before_limit.rlim_cur == after_limit.rlim_cur && before_limit.rlim_max == after_limit.rlim_max);
  pthread_t thread;
  pthread_create(&thread, NULL, fork_child_and_wait_here, NULL);
  pthread_join(thread, NULL);
  /* Another thread of the parent waits: with __WNOTHREAD it may not reap this child. */
  g_other_thread_child = fork();
  if (g_other_thread_child == 0) _exit(0);
  pthread_create(&thread, NULL, wait_for_other_threads_child, NULL);
  pthread_join(thread, NULL);
  describe("child reaped by the thread that made it", reap(g_other_thread_child));
}

/* ptrace's minimum: a tracee stops at every signal (the tracer's wait reports it without
 * WUNTRACED), PTRACE_CONT resumes it with the tracer's choice of signal, execve stops it with
 * SIGTRAP, __WCLONE reaps a tracee, PTRACE_ATTACH stops a process with SIGSTOP, PTRACE_KILL
 * ends it. */
static int traced_already(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[128];
  int tracer = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "TracerPid: %d", &tracer) == 1) break;
  if (f) fclose(f);
  return tracer != 0;
}

static void ptrace_checks(const char* program) {
  /* Under strace (the syscall coverage test) the children are strace's tracees already. */
  if (traced_already()) {
    printf("ptrace: traced already, skipped\n");
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    long r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    raise(SIGUSR1);
    _exit(r == 0 ? 3 : 4);
  }
  int status = 0;
  int r = waitpid(pid, &status, 0);
  printf("tracee raising SIGUSR1: %s, stopped %d by %d\n", r == pid ? "the child" : "?", WIFSTOPPED(status),
         WSTOPSIG(status));
  printf("PTRACE_CONT without the signal: %ld\n", ptrace(PTRACE_CONT, pid, NULL, NULL));
  r = waitpid(pid, &status, __WCLONE);
  printf("__WCLONE waits for a tracee: %s; ", r == pid ? "the child" : "?");
  describe("tracee", status);
  pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    char* args[] = {(char*)program, "exec-child", "traced", NULL};
    execv(program, args);
    _exit(99);
  }
  r = waitpid(pid, &status, 0);
  printf("traced exec: stopped %d by %d\n", r == pid && WIFSTOPPED(status), WSTOPSIG(status));
  ptrace(PTRACE_CONT, pid, NULL, NULL);
  describe("traced exec'd child", reap(pid));
  pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  long result = ptrace(PTRACE_CONT, pid, NULL, NULL);
  printf("PTRACE_CONT of a process not traced: %ld %s\n", result, strerror(errno));
  printf("PTRACE_ATTACH: %ld; ", ptrace(PTRACE_ATTACH, pid, NULL, NULL));
  r = waitpid(pid, &status, 0);
  printf("then stopped %d by %d\n", r == pid && WIFSTOPPED(status), WSTOPSIG(status));
  result = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
  printf("PTRACE_ATTACH again: %ld %s\n", result, strerror(errno));
  ptrace(PTRACE_CONT, pid, NULL, (void*)(long)SIGTERM);
  describe("tracee resumed with SIGTERM", reap(pid));
  pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    raise(SIGUSR2);
    for (;;) pause();
  }
  r = waitpid(pid, &status, 0);
  printf("tracee stopped by %d; PTRACE_KILL: %ld; ", r == pid ? WSTOPSIG(status) : -1,
         ptrace(PTRACE_KILL, pid, NULL, NULL));
  describe("killed tracee", reap(pid));
}

static void job_control_checks(void) {
  struct sigaction action = {0}, old;
  action.sa_sigaction = on_chld_info;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGCHLD, &action, &old);
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  g_chld_code = 0;
  kill(pid, SIGSTOP);
  int status = 0;
  int r = waitpid(pid, &status, WUNTRACED);
  printf("SIGSTOP: waitpid(WUNTRACED) %s, stopped %d by %d, SIGCHLD code %d status %d, state T %d\n",
         r == pid ? "the child" : "?", WIFSTOPPED(status), WSTOPSIG(status), g_chld_code, g_chld_status,
         proc_state(pid) == 'T');
  printf("the stop is reported once: %d\n", waitpid(pid, &status, WUNTRACED | WNOHANG));
  siginfo_t info;
  memset(&info, 0, sizeof info);
  printf("waitid(WEXITED|WNOHANG) of a stopped child: %d, pid %d\n", waitid(P_PID, pid, &info, WEXITED | WNOHANG),
         info.si_pid);
  kill(pid, SIGCONT);
  status = 0;
  r = waitpid(pid, &status, WCONTINUED);
  await_chld_code(CLD_CONTINUED);
  printf("SIGCONT: waitpid(WCONTINUED) %s, continued %d, SIGCHLD code %d status %d, state T %d\n",
         r == pid ? "the child" : "?", WIFCONTINUED(status), g_chld_code, g_chld_status, proc_state(pid) == 'T');
  kill(pid, SIGSTOP);
  memset(&info, 0, sizeof info);
  r = waitid(P_PID, pid, &info, WSTOPPED | WNOWAIT);
  printf("waitid(WSTOPPED|WNOWAIT): %d code %d status %d; ", r, info.si_code, info.si_status);
  memset(&info, 0, sizeof info);
  r = waitid(P_PID, pid, &info, WSTOPPED);
  printf("again: %d code %d status %d\n", r, info.si_code, info.si_status);
  kill(pid, SIGKILL);
  describe("stopped child sent SIGKILL", reap(pid));

  action.sa_flags |= SA_NOCLDSTOP;
  sigaction(SIGCHLD, &action, NULL);
  pid = fork();
  if (pid == 0) {
    raise(SIGSTOP);
    _exit(6);
  }
  g_chld_code = 0;
  r = waitpid(pid, &status, WUNTRACED);
  usleep(20000);
  printf("SA_NOCLDSTOP: stopped %d, SIGCHLD code %d\n", r == pid && WIFSTOPPED(status), g_chld_code);
  kill(pid, SIGCONT);
  describe("continued child", reap(pid));
  sigaction(SIGCHLD, &old, NULL);

  pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    raise(SIGTSTP);
    _exit(7);
  }
  r = waitpid(pid, &status, WUNTRACED);
  printf("SIGTSTP in its own group: stopped %d by %d\n", r == pid && WIFSTOPPED(status), WSTOPSIG(status));
  kill(pid, SIGCONT);
  describe("child continued after SIGTSTP", reap(pid));
  pid = fork();
  if (pid == 0) {
    setsid();
    raise(SIGTSTP);
    raise(SIGTTIN);
    raise(SIGTTOU);
    _exit(8);
  }
  describe("SIGTSTP, SIGTTIN, SIGTTOU in an orphaned group", reap(pid));
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
    printf("exec child: argv[2]=%s, environment kept %s\n", argv[2], getenv("PROCESSES_TEST"));
    fflush(stdout);
    return 42;
  }
  if (argc > 1 && strcmp(argv[1], "script-child") == 0) {
    char name[17] = {0};
    prctl(PR_GET_NAME, name);
    printf("script child: argv[2]=%s AT_EXECFN=%s name=%s\n", argc > 2 ? argv[2] : "-",
           (const char*)getauxval(AT_EXECFN), name);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "exec-data-child") == 0) {
    exec_data_child();
    return 0;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  setenv("PROCESSES_TEST", "yes", 1);
  /* Two processes in turn run this program and change its data and read-only data. */
  for (int round = 0; round < 2; round++) {
    pid_t pid = fork();
    if (pid == 0) {
      char* child_argv[] = {argv[0], "exec-data-child", NULL};
      execv("/proc/self/exe", child_argv);
      _exit(127);
    }
    describe("exec data child", reap(pid));
  }
  clone_flags_checks();
  job_control_checks();
  credential_checks();
  {
    /* waitid without WEXITED neither reports nor reaps an ended child: ECHILD when only such
     * children are left; WEXITED then reaps it. */
    pid_t ended = fork();
    if (ended == 0) _exit(5);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    waitid(P_PID, ended, &info, WEXITED | WNOWAIT);
    memset(&info, 0, sizeof info);
    int r = waitid(P_ALL, 0, &info, WSTOPPED);
    printf("waitid(WSTOPPED) with only an ended child: %d %s\n", r, r < 0 ? strerror(errno) : "");
    memset(&info, 0, sizeof info);
    r = waitid(P_ALL, 0, &info, WSTOPPED | WNOHANG);
    printf("waitid(WSTOPPED|WNOHANG): %d %s\n", r, r < 0 ? strerror(errno) : "");
    memset(&info, 0, sizeof info);
    r = waitid(P_ALL, 0, &info, WEXITED);
    printf("waitid(WEXITED) then: %d, status %d, pid matches %d\n", r, info.si_status, info.si_pid == ended);
  }
  script_names_check();
  pid_t threaded = fork();
  if (threaded == 0) {
    pthread_t thread;
    pthread_create(&thread, NULL, exec_from_thread, argv[0]);
    for (;;) pause();
  }
  describe("child exec'ing from a second thread", reap(threaded));
  printf("parent still sees: %s %s; the program file holds the original marker: %d\n", g_marker, g_data_word,
         file_holds_marker());
  pid_t self = getpid();

  /* Exit statuses. */
  int codes[] = {0, 3, 255};
  for (int i = 0; i < 3; i++) {
    pid_t pid = fork();
    if (pid == 0) _exit(codes[i]);
    char what[32];
    snprintf(what, sizeof what, "child exiting %d", codes[i]);
    describe(what, reap(pid));
  }
  pid_t pid = fork();
  if (pid == 0) {
    raise(SIGTERM);
    _exit(0);
  }
  describe("child raising SIGTERM", reap(pid));
  pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  kill(pid, SIGKILL);
  describe("child sent SIGKILL", reap(pid));

  /* The child sees its parent, and its own number. */
  pid = fork();
  if (pid == 0) _exit(getppid() == self ? 10 : 11);
  describe("child's getppid is the parent", reap(pid));

  /* Copy-on-write: each side keeps its own copy of private memory, shared memory is shared. */
  static int counter = 1;
  size_t big = 4 << 20;
  char* heap = malloc(big);
  memset(heap, 'p', big);
  int* shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  *shared = 5;
  pid = fork();
  if (pid == 0) {
    counter = 2;
    memset(heap, 'c', big);
    *shared = 6;
    _exit(counter == 2 && heap[big - 1] == 'c' ? 0 : 1);
  }
  describe("child writing its copies", reap(pid));
  printf("parent's counter %d, heap '%c%c', shared %d\n", counter, heap[0], heap[big - 1], *shared);
  free(heap);

  /* A pipe between processes: the reader sees all the data, then EOF when the writer exits. */
  int fds[2];
  pipe(fds);
  pid = fork();
  if (pid == 0) {
    close(fds[0]);
    char block[4096];
    memset(block, 'x', sizeof block);
    for (int i = 0; i < 64; i++) write(fds[1], block, sizeof block);
    _exit(0);
  }
  close(fds[1]);
  long total = 0;
  char buffer[8192];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof buffer)) > 0) total += n;
  close(fds[0]);
  printf("read %ld bytes through a pipe, then %s\n", total, n == 0 ? "EOF" : "an error");
  describe("pipe writer", reap(pid));

  /* exec: the same process runs a new program; a failed exec returns to the caller. */
  pid = fork();
  if (pid == 0) {
    char* args[] = {argv[0], "exec-child", "forty-two", NULL};
    execv("/nonexistent/program", args);
    printf("failed exec: %s\n", strerror(errno));
    execv(argv[0], args);
    _exit(99);
  }
  describe("exec'd child", reap(pid));

  /* vfork: the parent waits until the child execs or exits. */
  int before = 7;
  pid = vfork();
  if (pid == 0) _exit(before + 1);
  describe("vfork child", reap(pid));
  char* spawn_args[] = {argv[0], "exec-child", "spawned", NULL};
  if (posix_spawn(&pid, argv[0], NULL, NULL, spawn_args, environ) == 0) describe("posix_spawn child", reap(pid));

  /* No children: ECHILD; WNOHANG with a running child: 0. */
  printf("wait without children: %s\n", wait(NULL) < 0 && errno == ECHILD ? "ECHILD" : "?");
  int go[2];
  pipe(go);
  pid = fork();
  if (pid == 0) {
    char c;
    close(go[1]);
    read(go[0], &c, 1);
    _exit(5);
  }
  close(go[0]);
  printf("WNOHANG while it runs: %d\n", waitpid(pid, NULL, WNOHANG));
  close(go[1]);
  siginfo_t info;
  memset(&info, 0, sizeof info);
  waitid(P_PID, pid, &info, WEXITED);
  printf("waitid: signo %d code %d status %d pid matches %d\n", info.si_signo, info.si_code, info.si_status,
         info.si_pid == pid);

  /* SIGCHLD reaches a handler; with SIGCHLD ignored, children are reaped by themselves. */
  struct sigaction action = {0};
  action.sa_handler = on_chld;
  sigaction(SIGCHLD, &action, NULL);
  pid = fork();
  if (pid == 0) _exit(0);
  reap(pid);
  printf("SIGCHLD handler ran %d time(s)\n", g_chld_count);
  signal(SIGCHLD, SIG_IGN);
  pid = fork();
  if (pid == 0) _exit(0);
  int result = waitpid(pid, NULL, 0);
  printf("with SIGCHLD ignored, waitpid: %s\n", result < 0 && errno == ECHILD ? "ECHILD" : "the child");
  signal(SIGCHLD, SIG_DFL);

  /* Process groups and sessions. */
  pid = fork();
  if (pid == 0) {
    pid_t session = setsid();
    int new_session = session == getpid() && getsid(0) == getpid() && getpgid(0) == getpid();
    int leader_stays = setpgid(0, 0) < 0 && errno == EPERM;
    _exit(new_session * 2 + leader_stays);
  }
  describe("child making its own session", reap(pid));
  (void)setpgid(0, 0); /* a group leader now (PID 1 in Nimbus already is) */
  printf("setsid as a group leader: %s\n", setsid() < 0 && errno == EPERM ? "EPERM" : "?");
  pid_t members[3];
  for (int i = 0; i < 3; i++) {
    members[i] = fork();
    if (members[i] == 0) {
      for (;;) pause();
    }
    setpgid(members[i], members[0]);
  }
  printf("kill to the group: %d\n", kill(-members[0], SIGTERM));
  for (int i = 0; i < 3; i++) describe("group member", reap(members[i]));

  /* Futexes: a private word is another futex in each process, even at the same address; a
   * shared mapping's word is one futex in both. */
  pthread_t sleeper;
  pthread_create(&sleeper, NULL, wait_on_private_word, NULL);
  usleep(50000);
  pid = fork();
  if (pid == 0) _exit((int)futex(&g_private_word, FUTEX_WAKE, 1));
  describe("child's wake of its own copy of a word the parent waits on", reap(pid));
  __atomic_store_n(&g_private_word, 1, __ATOMIC_SEQ_CST);
  futex(&g_private_word, FUTEX_WAKE, 1);
  pthread_join(sleeper, NULL);
  uint32_t* shared_word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pid = fork();
  if (pid == 0) _exit(futex(shared_word, FUTEX_WAIT, 0) == 0 ? 7 : 8);
  int woke = 0;
  for (int i = 0; i < 5000 && !woke; i++) {
    woke = futex(shared_word, FUTEX_WAKE, 1) == 1;
    if (!woke) usleep(1000);
  }
  printf("parent woke the child waiting on a shared word: %s\n", woke ? "yes" : "no");
  if (!woke) kill(pid, SIGKILL);
  describe("child waiting on the shared word", reap(pid));

  /* 1,000 children, each reaped. */
  long sum = 0;
  int reaped = 0;
  for (int i = 0; i < 1000; i++) {
    pid = fork();
    if (pid == 0) _exit(i % 100);
    if (pid < 0) {
      printf("fork %d failed: %s\n", i, strerror(errno));
      break;
    }
    int status = reap(pid);
    if (WIFEXITED(status)) {
      sum += WEXITSTATUS(status);
      reaped++;
    }
  }
  printf("1000 children: %d reaped, statuses add up to %ld\n", reaped, sum);
  struct rusage usage;
  printf("children's CPU time counted: %d\n", getrusage(RUSAGE_CHILDREN, &usage) == 0);
  ptrace_checks(argv[0]);
  return 0;
}
