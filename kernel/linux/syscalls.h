// The system call handlers, one file per family (syscalls_<family>.cc). Each takes its
// arguments with their C types and returns the result or an Errno.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus::linux {

struct Timespec;

struct IoVec {
  void* base;
  size_t length;
};
struct Timespec {
  int64_t seconds;
  int64_t nanoseconds;
};
struct Timeval {
  int64_t seconds;
  int64_t microseconds;
};

// process
Result<long> sys_exit(int status);
Result<long> sys_exit_group(int status);
Result<long> sys_getpid();
Result<long> sys_gettid();
Result<long> sys_getppid();
Result<long> sys_getuid();
Result<long> sys_geteuid();
Result<long> sys_getgid();
Result<long> sys_getegid();
Result<long> sys_arch_prctl(int code, uint64_t address);
Result<long> sys_set_tid_address(int* address);
Result<long> sys_set_robust_list(void* head, size_t length);
Result<long> sys_uname(void* buffer);
Result<long> sys_prlimit64(int pid, int resource, const void* new_limit, void* old_limit);
Result<long> sys_getrlimit(int resource, void* limit);
Result<long> sys_sched_yield();
Result<long> sys_sched_getaffinity(int pid, size_t size, void* mask);
Result<long> sys_getrandom(void* buffer, size_t length, unsigned flags);
Result<long> sys_fork();
Result<long> sys_vfork();
Result<long> sys_execve(const char* path, const void* argv, const void* envp);

// threads
Result<long> sys_clone(uint64_t flags, uint64_t stack, int* parent_tid, int* child_tid, uint64_t tls);
Result<long> sys_clone3(const void* arguments, size_t size);
Result<long> sys_futex(uint32_t* address, int op, uint32_t value, const Timespec* timeout, uint32_t* address2,
                       uint32_t value3);

// signals
Result<long> sys_rt_sigaction(int signal, const void* new_action, void* old_action, size_t size);
Result<long> sys_rt_sigprocmask(int how, const uint64_t* set, uint64_t* old_set, size_t size);
Result<long> sys_rt_sigpending(uint64_t* set, size_t size);
Result<long> sys_sigaltstack(const void* new_stack, void* old_stack);
Result<long> sys_rt_sigreturn();
Result<long> sys_kill(int pid, int signal);
Result<long> sys_tgkill(int tgid, int tid, int signal);
Result<long> sys_tkill(int tid, int signal);

// memory
Result<long> sys_brk(uintptr_t address);
Result<long> sys_mmap(uintptr_t address, size_t length, int prot, int flags, int fd, int64_t offset);
Result<long> sys_munmap(uintptr_t address, size_t length);
Result<long> sys_mprotect(uintptr_t address, size_t length, int prot);
Result<long> sys_madvise(uintptr_t address, size_t length, int advice);

// time
Result<long> sys_clock_gettime(int clock, Timespec* out);
Result<long> sys_clock_getres(int clock, Timespec* out);
Result<long> sys_gettimeofday(Timeval* out, void* timezone);
Result<long> sys_time(int64_t* out);
Result<long> sys_nanosleep(const Timespec* request, Timespec* remaining);
Result<long> sys_clock_nanosleep(int clock, int flags, const Timespec* request, Timespec* remaining);

// files (the console only, until the file layer lands)
Result<long> sys_read(int fd, void* buffer, size_t count);
Result<long> sys_write(int fd, const void* buffer, size_t count);
Result<long> sys_writev(int fd, const IoVec* vectors, int count);
Result<long> sys_ioctl(int fd, unsigned long request, uintptr_t argument);

}  // namespace nimbus::linux
