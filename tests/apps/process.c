/* Differential test: process and scheduling calls (prctl, affinity, policies, priorities,
 * CPU time, resource usage, sysinfo). Prints only facts that hold on any machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long g_sleeper_cpu;
static void* sleeper(void* arg) {
  (void)arg;
  struct timespec t = {0, 50000000};
  nanosleep(&t, NULL);
  g_sleeper_cpu = ns(CLOCK_THREAD_CPUTIME_ID);
  return NULL;
}

static int g_child_cpu = -1;
static void* report_cpu(void* arg) {
  (void)arg;
  g_child_cpu = sched_getcpu();
  return NULL;
}

int main(void) {
  char name[16] = {0};
  prctl(PR_SET_NAME, "worker-with-a-long-name");
  prctl(PR_GET_NAME, name);
  printf("name: %s\n", name);
  printf("dumpable: %d\n", prctl(PR_GET_DUMPABLE));
  prctl(PR_SET_DUMPABLE, 0);
  printf("dumpable after clearing: %d\n", prctl(PR_GET_DUMPABLE));
  printf("dumpable 2: %s\n", prctl(PR_SET_DUMPABLE, 2) < 0 && errno == EINVAL ? "EINVAL" : "?");
  int set_result = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  printf("no_new_privs set %d, now %d\n", set_result, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  int signal = 0;
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  prctl(PR_GET_PDEATHSIG, &signal);
  printf("parent death signal: %d\n", signal);
  printf("unknown option: %s\n", prctl(0x7fff0000, 0, 0, 0, 0) < 0 && errno == EINVAL ? "EINVAL" : "?");

  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  printf("affinity has CPU 0: %d\n", CPU_ISSET(0, &set) != 0);
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  printf("set affinity to CPU 0: %d\n", sched_setaffinity(0, sizeof set, &set));
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  printf("affinity now: %d CPU(s), CPU 0 %d\n", CPU_COUNT(&set), CPU_ISSET(0, &set) != 0);
  printf("runs on CPU 0 once pinned there: %d\n", sched_getcpu() == 0);
  /* Moving to the last CPU moves the caller at once, and a new thread inherits the mask. */
  int last = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
  CPU_ZERO(&set);
  CPU_SET(last, &set);
  sched_setaffinity(0, sizeof set, &set);
  int moved = 1;
  for (int i = 0; i < 1000; i++) moved &= sched_getcpu() == last;
  printf("stays on the last CPU once pinned there: %d\n", moved);
  pthread_t pinned;
  pthread_create(&pinned, NULL, report_cpu, NULL);
  pthread_join(pinned, NULL);
  printf("a new thread runs there too: %d\n", g_child_cpu == last);
  CPU_ZERO(&set);
  for (int i = 0; i <= last; i++) CPU_SET(i, &set);
  sched_setaffinity(0, sizeof set, &set);
  CPU_ZERO(&set);
  CPU_SET(1000, &set);
  printf("affinity to no online CPU: %s\n", sched_setaffinity(0, sizeof set, &set) < 0 && errno == EINVAL ? "EINVAL" : "?");

  struct sched_param param = {0};
  printf("policy: %d, priority %d\n", sched_getscheduler(0), sched_getparam(0, &param) == 0 ? param.sched_priority : -1);
  printf("FIFO priorities %d..%d, OTHER %d..%d\n", sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_FIFO),
         sched_get_priority_min(SCHED_OTHER), sched_get_priority_max(SCHED_OTHER));
  param.sched_priority = 5;
  printf("OTHER with priority 5: %s\n", sched_setscheduler(0, SCHED_OTHER, &param) < 0 && errno == EINVAL ? "EINVAL" : "?");
  param.sched_priority = 0;
  set_result = sched_setscheduler(0, SCHED_BATCH, &param);
  printf("BATCH: %d, now %d\n", set_result, sched_getscheduler(0));
  sched_setscheduler(0, SCHED_OTHER, &param);
  struct timespec slice;
  printf("round-robin interval query: %d\n", sched_rr_get_interval(0, &slice));

  errno = 0;
  /* Relative to the starting value: the suite may itself run under nice. Raising is allowed. */
  int nice_before = getpriority(PRIO_PROCESS, 0);
  printf("nice in range: %d (errno %d)\n", nice_before >= -20 && nice_before < 19, errno);
  int raised = setpriority(PRIO_PROCESS, 0, nice_before + 1);
  printf("nice raised by one: %d (setpriority %d)\n", getpriority(PRIO_PROCESS, 0) - nice_before, raised);
  printf("bad which: %s\n", getpriority(9, 0) < 0 && errno == EINVAL ? "EINVAL" : "?");

  /* CPU time: busy for 60 ms of process CPU time; a sleeping thread uses almost none. */
  pthread_t t;
  pthread_create(&t, NULL, sleeper, NULL);
  long long start = ns(CLOCK_PROCESS_CPUTIME_ID);
  volatile unsigned long spin = 0;
  while (ns(CLOCK_PROCESS_CPUTIME_ID) - start < 60000000LL) spin++;
  pthread_join(t, NULL);
  printf("thread CPU time of a sleeper below 20 ms: %d\n", g_sleeper_cpu < 20000000LL);
  printf("own thread CPU time at least 50 ms: %d\n", ns(CLOCK_THREAD_CPUTIME_ID) >= 50000000LL);
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  long long used_us = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000LL + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
  printf("getrusage self at least 40 ms: %d, max RSS known: %d\n", used_us >= 40000, usage.ru_maxrss > 0);
  getrusage(RUSAGE_THREAD, &usage);
  printf("getrusage thread at least 40 ms: %d\n", usage.ru_utime.tv_sec * 1000000LL + usage.ru_utime.tv_usec + usage.ru_stime.tv_sec * 1000000LL + usage.ru_stime.tv_usec >= 40000);
  getrusage(RUSAGE_CHILDREN, &usage);
  printf("getrusage children: %ld %ld\n", (long)usage.ru_utime.tv_sec, (long)usage.ru_utime.tv_usec);
  printf("getrusage bad who: %s\n", getrusage(5, &usage) < 0 && errno == EINVAL ? "EINVAL" : "?");
  struct tms tms;
  clock_t now = times(&tms);
  printf("times: ticks advance %d, CPU at least 3 ticks %d\n", now > 0, tms.tms_utime + tms.tms_stime >= 3);

  struct sysinfo info;
  sysinfo(&info);
  printf("sysinfo: RAM known %d, free within total %d, unit %d, processes counted %d\n", info.totalram > 0,
         info.freeram <= info.totalram, info.mem_unit >= 1, info.procs >= 1);
  /* Identity and small queries, as relations that hold for any user running the test. */
  uid_t ruid, euid, suid;
  getresuid(&ruid, &euid, &suid);
  printf("getresuid agrees with getuid/geteuid: %d\n", ruid == getuid() && euid == geteuid());
  printf("setuid to the own uid: %d, setgid to the own gid: %d\n", setuid(getuid()), setgid(getgid()));
  printf("getgroups count: %d\n", getgroups(0, NULL) >= 0);
  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  struct rlimit lowered = {limit.rlim_cur > 64 ? 64 : limit.rlim_cur, limit.rlim_max};
  struct rlimit back;
  printf("setrlimit round trip: %d\n",
         setrlimit(RLIMIT_NOFILE, &lowered) == 0 && getrlimit(RLIMIT_NOFILE, &back) == 0 && back.rlim_cur == lowered.rlim_cur);
  setrlimit(RLIMIT_NOFILE, &limit);
  void* head = NULL;
  size_t head_length = 0;
  long got = syscall(SYS_get_robust_list, 0, &head, &head_length);
  printf("get_robust_list: %ld, length %zu, head set: %d\n", got, head_length, head != NULL);
  unsigned cpu = 99, node = 99;
  got = syscall(SYS_getcpu, &cpu, &node, NULL);
  printf("getcpu system call: %ld, node %u, agrees: %d\n", got, node, (int)cpu == sched_getcpu());
  return 0;
}
