// The system call handlers, one file per family (syscalls_<family>.cc). Each takes its
// arguments with their C types and returns the result or an Errno.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kernel/lib/result.h"
#include "kernel/linux/time_abi.h"
#include "kernel/linux/user_ptr.h"

namespace nimbus::linux {

struct IoVec {
  void* base;
  size_t length;
};
struct ItimerSpec {
  Timespec interval;
  Timespec value;
};
struct ItimerVal {
  Timeval interval;
  Timeval value;
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
Result<long> sys_setuid(uint32_t uid);
Result<long> sys_setgid(uint32_t gid);
Result<long> sys_setreuid(uint32_t real, uint32_t effective);
Result<long> sys_setregid(uint32_t real, uint32_t effective);
Result<long> sys_setfsuid(uint32_t uid);
Result<long> sys_setfsgid(uint32_t gid);
Result<long> sys_setresuid(uint32_t real, uint32_t effective, uint32_t saved);
Result<long> sys_setresgid(uint32_t real, uint32_t effective, uint32_t saved);
Result<long> sys_getresuid(uint32_t* real, uint32_t* effective, uint32_t* saved);
Result<long> sys_getresgid(uint32_t* real, uint32_t* effective, uint32_t* saved);
Result<long> sys_getgroups(int size, uint32_t* list);
Result<long> sys_setgroups(size_t size, const uint32_t* list);
Result<long> sys_capget(void* header, void* data);
Result<long> sys_capset(void* header, const void* data);
// Whether the calling process holds `capability` (CAP_* number) in its effective set: all of
// them for root unless capset or a change of uid dropped some.
bool has_capability(int capability);
Result<long> sys_setrlimit(int resource, const void* limit);
Result<long> sys_get_robust_list(int tid, uint64_t* head, size_t* length);
Result<long> sys_getcpu(uint32_t* cpu, uint32_t* node, void* cache);
Result<long> sys_arch_prctl(int code, uint64_t address);
Result<long> sys_set_tid_address(int* address);
Result<long> sys_set_robust_list(void* head, size_t length);
Result<long> sys_uname(void* buffer);
Result<long> sys_prlimit64(int pid, int resource, const void* new_limit, void* old_limit);
Result<long> sys_getrlimit(int resource, void* limit);
Result<long> sys_sched_yield();
Result<long> sys_sched_getaffinity(int pid, size_t size, void* mask);
Result<long> sys_sched_setaffinity(int pid, size_t size, const void* mask);
Result<long> sys_sched_getscheduler(int pid);
Result<long> sys_sched_getparam(int pid, int* param);
Result<long> sys_sched_setscheduler(int pid, int policy, const int* param);
Result<long> sys_sched_setparam(int pid, const int* param);
Result<long> sys_sched_setattr(int pid, void* attr, unsigned flags);
Result<long> sys_sched_getattr(int pid, void* attr, unsigned size, unsigned flags);
Result<long> sys_sched_get_priority_max(int policy);
Result<long> sys_sched_get_priority_min(int policy);
Result<long> sys_sched_rr_get_interval(int pid, Timespec* interval);
Result<long> sys_getpriority(int which, int who);
Result<long> sys_setpriority(int which, int who, int nice);
Result<long> sys_prctl(int option, uint64_t arg2, uint64_t arg3, uint64_t arg4, uint64_t arg5);
Result<long> sys_getrusage(int who, void* usage);
Result<long> sys_times(void* buffer);
Result<long> sys_sysinfo(void* buffer);
Result<long> sys_getrandom(void* buffer, size_t length, unsigned flags);
Result<long> sys_fork();
Result<long> sys_vfork();
Result<long> sys_execve(const char* path, const void* argv, const void* envp);
Result<long> sys_execveat(int dirfd, const char* path, const void* argv, const void* envp, int flags);
Result<long> sys_wait4(int pid, int* status, int options, void* rusage);
Result<long> sys_ptrace(long request, long pid, uint64_t address, uint64_t data);
Result<long> sys_waitid(int id_type, int id, void* info, int options, void* rusage);
Result<long> sys_setpgid(int pid, int pgid);
Result<long> sys_getpgid(int pid);
Result<long> sys_getpgrp();
Result<long> sys_setsid();
Result<long> sys_getsid(int pid);

// threads
Result<long> sys_clone(uint64_t flags, uint64_t stack, int* parent_tid, int* child_tid, uint64_t tls);
Result<long> sys_clone3(const void* arguments, size_t size);
Result<long> sys_futex(uint32_t* address, int op, uint32_t value, const Timespec* timeout, uint32_t* address2,
                       uint32_t value3);

// waiting
Result<long> sys_poll(void* fds, uint64_t count, int timeout_ms);
Result<long> sys_ppoll(void* fds, uint64_t count, const Timespec* timeout, const uint64_t* mask, size_t mask_size);
Result<long> sys_select(int count, uint64_t* readable, uint64_t* writable, uint64_t* exceptional, Timeval* timeout);
Result<long> sys_pselect6(int count, uint64_t* readable, uint64_t* writable, uint64_t* exceptional,
                          Timespec* timeout, const void* mask);
Result<long> sys_epoll_create(int size);
Result<long> sys_epoll_create1(int flags);
Result<long> sys_epoll_ctl(int epfd, int op, int fd, const void* event);
Result<long> sys_epoll_wait(int epfd, void* events, int max, int timeout_ms);
Result<long> sys_epoll_pwait(int epfd, void* events, int max, int timeout_ms, const void* mask, size_t mask_size);
Result<long> sys_epoll_pwait2(int epfd, void* events, int max, const Timespec* timeout, const void* mask,
                              size_t mask_size);

// signals
Result<long> sys_rt_sigaction(int signal, UserPtr<const void> new_action, UserPtr<void> old_action, size_t size);
Result<long> sys_rt_sigprocmask(int how, UserPtr<const uint64_t> set, UserPtr<uint64_t> old_set, size_t size);
Result<long> sys_rt_sigpending(UserPtr<uint64_t> set, size_t size);
Result<long> sys_sigaltstack(UserPtr<const void> new_stack, UserPtr<void> old_stack);
Result<long> sys_rt_sigreturn();
Result<long> sys_kill(int pid, int signal);
Result<long> sys_tgkill(int tgid, int tid, int signal);
Result<long> sys_tkill(int tid, int signal);
Result<long> sys_rt_sigsuspend(UserPtr<const uint64_t> mask, size_t size);
Result<long> sys_pause();
Result<long> sys_rt_sigtimedwait(UserPtr<const uint64_t> set, UserPtr<void> info, const Timespec* timeout, size_t size);
Result<long> sys_rt_sigqueueinfo(int pid, int signal, UserPtr<const void> info);
Result<long> sys_rt_tgsigqueueinfo(int tgid, int tid, int signal, UserPtr<const void> info);

// memory
Result<long> sys_brk(uintptr_t address);
Result<long> sys_mmap(uintptr_t address, size_t length, int prot, int flags, int fd, int64_t offset);
Result<long> sys_munmap(uintptr_t address, size_t length);
Result<long> sys_mprotect(uintptr_t address, size_t length, int prot);
Result<long> sys_madvise(uintptr_t address, size_t length, int advice);
Result<long> sys_mremap(uintptr_t address, size_t old_size, size_t new_size, int flags, uintptr_t new_address);
Result<long> sys_msync(uintptr_t address, size_t length, int flags);
Result<long> sys_mincore(uintptr_t address, size_t length, uint8_t* vector);
Result<long> sys_mlock(uintptr_t address, size_t length);
Result<long> sys_mlock2(uintptr_t address, size_t length, int flags);
Result<long> sys_pkey_alloc(unsigned flags, unsigned access_rights);
Result<long> sys_pkey_free(int key);
Result<long> sys_pkey_mprotect(uintptr_t address, size_t length, int prot, int key);
Result<long> sys_munlock(uintptr_t address, size_t length);
Result<long> sys_mlockall(int flags);
Result<long> sys_munlockall();
Result<long> sys_membarrier(int command, unsigned flags, int cpu);

// time
// A struct timespec from the application, checked (EFAULT, EINVAL), in nanoseconds.
Result<uint64_t> read_duration_ns(const Timespec* user_time);
Result<long> sys_clock_gettime(int clock, Timespec* out);
Result<long> sys_clock_getres(int clock, Timespec* out);
Result<long> sys_gettimeofday(Timeval* out, void* timezone);
Result<long> sys_time(int64_t* out);
Result<long> sys_nanosleep(const Timespec* request, Timespec* remaining);
Result<long> sys_clock_nanosleep(int clock, int flags, const Timespec* request, Timespec* remaining);
Result<long> sys_timerfd_create(int clock, int flags);
Result<long> sys_timerfd_settime(int fd, int flags, const ItimerSpec* new_value, ItimerSpec* old_value);
Result<long> sys_timerfd_gettime(int fd, ItimerSpec* value);
Result<long> sys_timer_create(int clock, const void* event, int* timer_id);
Result<long> sys_timer_settime(int id, int flags, const ItimerSpec* new_value, ItimerSpec* old_value);
Result<long> sys_timer_gettime(int id, ItimerSpec* value);
Result<long> sys_timer_getoverrun(int id);
Result<long> sys_timer_delete(int id);
Result<long> sys_setitimer(int which, const ItimerVal* new_value, ItimerVal* old_value);
Result<long> sys_getitimer(int which, ItimerVal* value);
Result<long> sys_alarm(unsigned seconds);
Result<long> sys_signalfd(int fd, const uint64_t* mask, size_t size);
Result<long> sys_signalfd4(int fd, const uint64_t* mask, size_t size, int flags);
Result<long> sys_eventfd(unsigned initial);
Result<long> sys_eventfd2(unsigned initial, int flags);

// files
struct LinuxStat;
struct LinuxStatx;
struct LinuxStatfs;
Result<long> sys_read(int fd, UserPtr<void> buffer, size_t count);
Result<long> sys_write(int fd, UserPtr<const void> buffer, size_t count);
Result<long> sys_pread64(int fd, UserPtr<void> buffer, size_t count, int64_t offset);
Result<long> sys_pwrite64(int fd, UserPtr<const void> buffer, size_t count, int64_t offset);
Result<long> sys_readv(int fd, const IoVec* vectors, int count);
Result<long> sys_writev(int fd, const IoVec* vectors, int count);
Result<long> sys_preadv(int fd, const IoVec* vectors, int count, int64_t offset);
Result<long> sys_pwritev(int fd, const IoVec* vectors, int count, int64_t offset);
Result<long> sys_open(const char* path, int flags, uint32_t mode);
Result<long> sys_openat(int dirfd, const char* path, int flags, uint32_t mode);
Result<long> sys_close(int fd);
Result<long> sys_lseek(int fd, int64_t offset, int whence);
Result<long> sys_fstat(int fd, LinuxStat* out);
Result<long> sys_stat(const char* path, LinuxStat* out);
Result<long> sys_lstat(const char* path, LinuxStat* out);
Result<long> sys_newfstatat(int dirfd, const char* path, LinuxStat* out, int flags);
Result<long> sys_statx(int dirfd, const char* path, int flags, unsigned mask, LinuxStatx* out);
Result<long> sys_getdents64(int fd, void* buffer, size_t count);
Result<long> sys_getdents(int fd, void* buffer, size_t count);
Result<long> sys_fcntl(int fd, int command, uint64_t argument);
// fcntl's record lock commands (F_GETLK, F_SETLK(W), F_OFD_*), in file_lock_syscalls.cc.
bool is_lock_command(int command);
Result<long> fcntl_lock(int fd, int command, uint64_t argument);
// fcntl's signal-owner commands (F_SETOWN, F_GETOWN, their _EX forms, F_SETSIG, F_GETSIG), in
// readiness_signals.cc, which also installs (at boot) the sender of O_ASYNC's signals.
bool is_owner_command(int command);
// Permission bits against the caller's credentials (file_permissions.cc): opening an existing
// file, and access(2) (real ids unless AT_EACCESS): EACCES.
Result<> check_open_permission(int dirfd, std::string_view path, uint32_t flags);
Result<> check_access_permission(int dirfd, std::string_view path, uint32_t mode, uint32_t at_flags);
Result<long> fcntl_owner(int fd, int command, uint64_t argument);
void install_readiness_signal_sender();
Result<long> sys_flock(int fd, int operation);
Result<long> sys_dup(int fd);
Result<long> sys_dup2(int old_fd, int new_fd);
Result<long> sys_dup3(int old_fd, int new_fd, int flags);
Result<long> sys_ioctl(int fd, unsigned long request, uintptr_t argument);
Result<long> sys_access(const char* path, int mode);
Result<long> sys_faccessat(int dirfd, const char* path, int mode);
Result<long> sys_faccessat2(int dirfd, const char* path, int mode, int flags);
Result<long> sys_readlink(const char* path, char* buffer, int size);
Result<long> sys_readlinkat(int dirfd, const char* path, char* buffer, int size);
Result<long> sys_getcwd(char* buffer, size_t size);
Result<long> sys_chdir(const char* path);
Result<long> sys_fchdir(int fd);
Result<long> sys_mkdir(const char* path, uint32_t mode);
Result<long> sys_mkdirat(int dirfd, const char* path, uint32_t mode);
Result<long> sys_mknod(const char* path, uint32_t mode, uint32_t device);
Result<long> sys_mknodat(int dirfd, const char* path, uint32_t mode, uint32_t device);
Result<long> sys_creat(const char* path, uint32_t mode);
Result<long> sys_fadvise64(int fd, int64_t offset, int64_t length, int advice);
Result<long> sys_readahead(int fd, int64_t offset, size_t count);
Result<long> sys_rmdir(const char* path);
Result<long> sys_unlink(const char* path);
Result<long> sys_unlinkat(int dirfd, const char* path, int flags);
Result<long> sys_rename(const char* old_path, const char* new_path);
Result<long> sys_renameat(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path);
Result<long> sys_renameat2(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path, unsigned flags);
Result<long> sys_symlink(const char* target, const char* path);
Result<long> sys_symlinkat(const char* target, int dirfd, const char* path);
Result<long> sys_link(const char* old_path, const char* new_path);
Result<long> sys_linkat(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path, int flags);
Result<long> sys_truncate(const char* path, int64_t length);
Result<long> sys_ftruncate(int fd, int64_t length);
Result<long> sys_fallocate(int fd, int mode, int64_t offset, int64_t length);
Result<long> sys_fsync(int fd);
Result<long> sys_fdatasync(int fd);
Result<long> sys_syncfs(int fd);
Result<long> sys_sync_file_range(int fd, int64_t offset, int64_t length, unsigned flags);
Result<long> sys_sync();
Result<long> sys_umask(uint32_t mask);
Result<long> sys_chmod(const char* path, uint32_t mode);
Result<long> sys_fchmod(int fd, uint32_t mode);
Result<long> sys_fchmodat(int dirfd, const char* path, uint32_t mode);
Result<long> sys_chown(const char* path, uint32_t uid, uint32_t gid);
Result<long> sys_fchown(int fd, uint32_t uid, uint32_t gid);
Result<long> sys_lchown(const char* path, uint32_t uid, uint32_t gid);
Result<long> sys_fchownat(int dirfd, const char* path, uint32_t uid, uint32_t gid, int flags);
Result<long> sys_utimensat(int dirfd, const char* path, const Timespec* times, int flags);
Result<long> sys_statfs(const char* path, LinuxStatfs* out);
Result<long> sys_fstatfs(int fd, LinuxStatfs* out);
Result<long> sys_pipe(int* fds);
Result<long> sys_pipe2(int* fds, int flags);
Result<long> sys_sendfile(int out_fd, int in_fd, int64_t* offset, size_t count);
Result<long> sys_splice(int in_fd, int64_t* in_offset, int out_fd, int64_t* out_offset, size_t count, unsigned flags);
Result<long> sys_tee(int in_fd, int out_fd, size_t count, unsigned flags);
Result<long> sys_vmsplice(int fd, const IoVec* vectors, unsigned long count, unsigned flags);
Result<long> sys_close_range(unsigned first, unsigned last, unsigned flags);
Result<long> sys_getxattr(const char* path, const char* name, void* value, size_t size);
Result<long> sys_lgetxattr(const char* path, const char* name, void* value, size_t size);
Result<long> sys_fgetxattr(int fd, const char* name, void* value, size_t size);
Result<long> sys_listxattr(const char* path, char* list, size_t size);
Result<long> sys_llistxattr(const char* path, char* list, size_t size);
Result<long> sys_flistxattr(int fd, char* list, size_t size);
Result<long> sys_setxattr(const char* path, const char* name, const void* value, size_t size, int flags);
Result<long> sys_lsetxattr(const char* path, const char* name, const void* value, size_t size, int flags);
Result<long> sys_fsetxattr(int fd, const char* name, const void* value, size_t size, int flags);
Result<long> sys_removexattr(const char* path, const char* name);
Result<long> sys_lremovexattr(const char* path, const char* name);
Result<long> sys_fremovexattr(int fd, const char* name);

// sockets (syscalls_net.cc, syscalls_net_messages.cc)
Result<long> sys_socket(int family, int type, int protocol);
Result<long> sys_socketpair(int family, int type, int protocol, int* fds);
Result<long> sys_bind(int fd, const void* address, int length);
Result<long> sys_listen(int fd, int backlog);
Result<long> sys_accept(int fd, void* address, int* length);
Result<long> sys_accept4(int fd, void* address, int* length, int flags);
Result<long> sys_connect(int fd, const void* address, int length);
Result<long> sys_getsockname(int fd, void* address, int* length);
Result<long> sys_getpeername(int fd, void* address, int* length);
Result<long> sys_shutdown(int fd, int how);
Result<long> sys_setsockopt(int fd, int level, int name, const void* value, int length);
Result<long> sys_getsockopt(int fd, int level, int name, void* value, int* length);
Result<long> sys_sendto(int fd, const void* buffer, size_t length, int flags, const void* address, int address_length);
Result<long> sys_recvfrom(int fd, void* buffer, size_t length, int flags, void* address, int* address_length);
Result<long> sys_sendmsg(int fd, const void* message, int flags);
Result<long> sys_recvmsg(int fd, void* message, int flags);
Result<long> sys_sendmmsg(int fd, void* messages, unsigned count, int flags);
Result<long> sys_recvmmsg(int fd, void* messages, unsigned count, int flags, Timespec* timeout);

}  // namespace nimbus::linux
