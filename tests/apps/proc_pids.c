/* Differential test: /proc for every process. /proc/self names the caller (in a forked child
 * too), /proc/PID/{stat,status,cmdline,comm,exe,maps} describe that process whoever reads
 * them, a zombie shows state Z, a reaped child's directory is gone, and /proc lists the
 * live numbers. Prints values and yes/no answers that hold on Linux. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static ssize_t read_text(const char* path, char* out, size_t size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -errno;
  ssize_t total = 0, n;
  while ((n = read(fd, out + total, size - 1 - total)) > 0) total += n;
  close(fd);
  out[total] = '\0';
  return total;
}

static const char* yes(int condition) { return condition ? "yes" : "no"; }

/* The value after "Key:\t" in a status file, as a number (-1 if absent). */
static long status_field(const char* text, const char* key) {
  const char* at = strstr(text, key);
  return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    /* The forked-and-exec'd child: /proc/self is itself, then waits to be read. */
    char link[64] = {0};
    readlink("/proc/self", link, sizeof(link) - 1);
    printf("child: /proc/self is the child: %s\n", yes(atoi(link) == getpid()));
    fflush(stdout);
    pause();
    return 0;
  }

  char link[64] = {0};
  readlink("/proc/self", link, sizeof(link) - 1);
  printf("/proc/self is getpid: %s\n", yes(atoi(link) == getpid()));

  /* A plain fork: the child's /proc/self differs from the parent's. */
  int pipe_fds[2];
  pipe(pipe_fds);
  pid_t forked = fork();
  if (forked == 0) {
    char own[64] = {0};
    readlink("/proc/self", own, sizeof(own) - 1);
    char stat[512];
    read_text("/proc/self/stat", stat, sizeof(stat));
    int ok = atoi(own) == getpid() && atoi(stat) == getpid();
    write(pipe_fds[1], ok ? "y" : "n", 1);
    _exit(0);
  }
  char answer = '?';
  read(pipe_fds[0], &answer, 1);
  printf("forked child's /proc/self and /proc/self/stat are its own: %s\n", yes(answer == 'y'));
  waitpid(forked, NULL, 0);

  /* A child that execs this program with "child": read its files from the parent. */
  int sync_fds[2];
  pipe(sync_fds);
  pid_t child = fork();
  if (child == 0) {
    dup2(sync_fds[1], 1);
    execl("/proc/self/exe", argv[0], "child", "second-argument", (char*)NULL);
    _exit(127);
  }
  char line[128] = {0};
  ssize_t got = read(sync_fds[0], line, sizeof(line) - 1);
  printf("%s", got > 0 ? line : "child: no answer\n");

  char path[64], text[8192];
  snprintf(path, sizeof(path), "/proc/%d/stat", child);
  read_text(path, text, sizeof(text));
  int stat_pid = 0, stat_ppid = 0;
  char state = '?';
  const char* after_name = strrchr(text, ')');
  sscanf(text, "%d", &stat_pid);
  if (after_name) sscanf(after_name + 2, "%c %d", &state, &stat_ppid);
  printf("child's stat: pid matches %s, parent matches %s, state %s\n", yes(stat_pid == child),
         yes(stat_ppid == getpid()), state == 'S' || state == 'R' ? "running or sleeping" : "other");

  snprintf(path, sizeof(path), "/proc/%d/status", child);
  read_text(path, text, sizeof(text));
  printf("child's status: Pid %s, PPid %s\n", yes(status_field(text, "\nPid:\t") == child),
         yes(status_field(text, "\nPPid:\t") == getpid()));

  snprintf(path, sizeof(path), "/proc/%d/cmdline", child);
  ssize_t length = read_text(path, text, sizeof(text));
  int arguments = 0;
  for (ssize_t i = 0; i < length; i++) arguments += text[i] == '\0';
  const char* second = length > 0 ? text + strlen(text) + 1 : "";
  printf("child's cmdline: %d arguments, second \"%s\"\n", arguments, second);

  snprintf(path, sizeof(path), "/proc/%d/comm", child);
  read_text(path, text, sizeof(text));
  printf("child's comm (the name it was executed by): %s", text);

  char own_exe[4096] = {0}, child_exe[4096] = {0};
  readlink("/proc/self/exe", own_exe, sizeof(own_exe) - 1);
  snprintf(path, sizeof(path), "/proc/%d/exe", child);
  readlink(path, child_exe, sizeof(child_exe) - 1);
  printf("child's exe is the parent's: %s\n", yes(own_exe[0] == '/' && strcmp(own_exe, child_exe) == 0));

  snprintf(path, sizeof(path), "/proc/%d/maps", child);
  read_text(path, text, sizeof(text));
  printf("child's maps has a stack: %s\n", yes(strstr(text, "[stack]") != NULL));

  int listed = 0;
  DIR* proc = opendir("/proc");
  for (struct dirent* e; proc && (e = readdir(proc));) listed |= atoi(e->d_name) == child;
  if (proc) closedir(proc);
  printf("/proc lists the child: %s\n", yes(listed));

  /* A zombie: state Z until it is reaped, then its directory is gone. */
  kill(child, SIGKILL);
  siginfo_t info;
  waitid(P_PID, child, &info, WEXITED | WNOWAIT);
  snprintf(path, sizeof(path), "/proc/%d/stat", child);
  read_text(path, text, sizeof(text));
  after_name = strrchr(text, ')');
  printf("killed child's state before reaping: %c\n", after_name ? after_name[2] : '?');
  waitpid(child, NULL, 0);
  snprintf(path, sizeof(path), "/proc/%d", child);
  int fd = open(path, O_RDONLY | O_DIRECTORY);
  printf("reaped child's directory: %s\n", fd < 0 ? strerror(errno) : "still there");
  printf("/proc/0 and /proc/01: %s, %s\n", access("/proc/0", F_OK) == 0 ? "exists" : "absent",
         access("/proc/01", F_OK) == 0 ? "exists" : "absent");
  return 0;
}
