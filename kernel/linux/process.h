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
  uint64_t alternate_stack = 0;
  uint64_t alternate_stack_size = 0;
  bool alternate_stack_disabled = true;
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
SyscallFrame*& current_syscall_frame();
LinuxThread& current_linux_thread();
// The first thread's state (statically allocated; others come from the heap).
LinuxThread& main_linux_thread();
// Signals that became pending are delivered on the way back to the application.
void deliver_pending_signals(SyscallFrame& frame);
void set_strace(bool enabled);

}  // namespace nimbus::linux
