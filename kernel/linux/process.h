// The one Linux process a Nimbus VM runs: its address space, threads and exit.
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/lib/result.h"
#include "kernel/linux/elf_loader.h"
#include "kernel/linux/syscall_frame.h"
#include "kernel/lib/intrusive_list.h"
#include "kernel/mm/address_space.h"

namespace nimbus {
class Thread;
}

namespace nimbus::linux {

// What a signal's siginfo says beyond its number (kill, sigqueue, a timer).
struct SignalDetails {
  int32_t code = 0;  // si_code: SI_USER
  int32_t pid_or_timer = 0;  // si_pid, or si_timerid for SI_TIMER
  int32_t uid_or_overrun = 0;  // si_uid, or si_overrun for SI_TIMER
  uint64_t value = 0;  // si_value (sigqueue, timers)
};

// Per application thread.
struct LinuxThread {
  uint32_t tid = 0;
  Thread* thread = nullptr;
  uint64_t clear_child_tid = 0;  // set_tid_address / CLONE_CHILD_CLEARTID
  uint64_t robust_list = 0;
  uint64_t robust_list_length = 0;
  // Signals: bit n-1 for signal n. `pending` is set by other threads (atomically).
  uint64_t signal_mask = 0;
  std::atomic<uint64_t> pending{0};
  SignalDetails pending_details[64];  // of each pending signal (one of each is kept, as Linux for standard signals)
  // ppoll, pselect6, epoll_pwait, rt_sigsuspend: the mask to restore once the call returns
  // (or to save in the signal frame of the handler that runs as it returns).
  uint64_t saved_signal_mask = 0;
  bool has_saved_signal_mask = false;
  uint64_t alternate_stack = 0;
  uint64_t alternate_stack_size = 0;
  bool alternate_stack_disabled = true;
  int32_t alternate_stack_flags = 2;  // as sigaltstack set them (SS_DISABLE, SS_AUTODISARM...)
  char name[16] = {};  // prctl(PR_SET_NAME); empty: the program's name
  int parent_death_signal = 0;
  // A copy by memcpy/memset into or out of program memory faulted during this system call
  // (the exception table's note_and_skip): the call then fails with EFAULT.
  bool user_access_faulted = false;
  ListNode node;  // in the process's thread list
};

// The process's threads, for signals sent by tid.
void register_thread(LinuxThread& thread);
void unregister_thread(LinuxThread& thread);
// Runs f on the live thread `tid` (tid 0: the first live thread) under the thread-list
// lock, so it cannot exit meanwhile; false if there is none.
bool with_thread(uint32_t tid, void (*f)(LinuxThread& thread, void* context), void* context);
// Runs f on every live thread under the thread-list lock.
void with_threads(void (*f)(LinuxThread& thread, void* context), void* context);

constexpr uint32_t kPid = 1;

struct Program {
  const char* path;          // guest path of the executable
  const char* const* argv;   // NULL-terminated
  const char* const* envp;   // NULL-terminated
};

AddressSpace& address_space();
// Whether a program has been loaded (application faults make sense only then).
bool has_process();
// Creates the address space, loads the program and starts its first thread. Errors are
// printed; the caller ends the VM with the returned status.
int run_program(const Program& program, MappedFile& exe, uint64_t exe_size, OpenFile open_interpreter);

[[noreturn]] void exit_process(int status);
// CPU time of the whole process: its live threads and those that have exited.
uint64_t process_cpu_time_ns();
// Called by a thread that is about to exit, so its CPU time still counts.
void account_exited_thread_time(uint64_t ns);
SyscallFrame*& current_syscall_frame();
LinuxThread& current_linux_thread();
// The first thread's state (statically allocated; others come from the heap).
LinuxThread& main_linux_thread();

}  // namespace nimbus::linux
