// /proc and /sys for the one process: what Linux programs and runtimes read about
// themselves and the machine.
#pragma once

#include "kernel/linux/synthetic_fs.h"

namespace nimbus::linux {

// What procfs reports about a process (set when its program starts).
struct ProcessInfo {
  const char* executable = "";             // /proc/self/exe
  const char* const* argv = nullptr;       // /proc/self/cmdline
  const char* const* envp = nullptr;       // /proc/self/environ
  uintptr_t stack_begin = 0, stack_end = 0;  // [stack]
  uintptr_t vdso_begin = 0, vdso_end = 0;    // [vvar] then [vdso]
  uintptr_t heap_begin = 0;                  // [heap] starts here
  const char* name = nullptr;  // comm: the path it was executed by (nullptr: the executable's)
};
// The executable's path (what /proc/self/exe names).
const char* process_executable();

// Lists the open descriptors for /proc/self/fd (the file layer provides it).
void set_fd_directory(const DynamicDirectory& directory);

SyntheticFs* make_procfs(fs::ClockFunction clock);
SyntheticFs* make_sysfs(fs::ClockFunction clock);

}  // namespace nimbus::linux
