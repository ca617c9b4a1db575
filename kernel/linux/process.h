// The one Linux process a Nimbus VM runs: its address space, threads and exit.
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/lib/result.h"
#include "kernel/linux/elf_loader.h"
#include "kernel/linux/syscall_frame.h"
#include "kernel/mm/address_space.h"

namespace nimbus::linux {

// Per application thread.
struct LinuxThread {
  uint32_t tid = 0;
  uint64_t clear_child_tid = 0;  // set_tid_address / CLONE_CHILD_CLEARTID
  uint64_t robust_list = 0;
  uint64_t robust_list_length = 0;
  uint64_t signal_mask = 0;
};

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
// Signals that became pending are delivered on the way back to the application.
void deliver_pending_signals(SyscallFrame& frame);
void set_strace(bool enabled);

}  // namespace nimbus::linux
