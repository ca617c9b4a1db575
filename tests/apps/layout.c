// Prints where the kernel placed this process's pieces (program, libc, ELF interpreter, vDSO,
// stack, brk heap, a fresh mmap), then does so again in a forked child (which must see the
// same layout) and in a program that child execs (which gets a new one). The VM tests compare
// two runs: different with address-space layout randomization, equal without it.
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void print_layout(const char* who) {
  int local = 0;
  // Mapped and unmapped at once, so a forked child finds the same free place.
  void* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("%s program=%p libc=%p interpreter=%#lx vdso=%#lx stack=%p brk=%p mmap=%p\n", who, (void*)print_layout,
         (void*)memcpy, getauxval(AT_BASE), getauxval(AT_SYSINFO_EHDR), (void*)&local, sbrk(0), page);
  fflush(stdout);
  munmap(page, 4096);
}

int main(int argc, char** argv) {
  // A static buffer: stdio's first printf must not move the break between two reports.
  static char buffer[4096];
  setvbuf(stdout, buffer, _IOLBF, sizeof(buffer));
  if (argc > 1 && strcmp(argv[1], "exec") == 0) {
    print_layout("exec");
    return 0;
  }
  print_layout("parent");
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    print_layout("child");
    execl("/proc/self/exe", argv[0], "exec", (char*)NULL);
    perror("execl");
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "the child failed (status %#x)\n", status);
    return 1;
  }
  return 0;
}
