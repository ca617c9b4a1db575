// Fatal kernel errors: print a message, registers and a backtrace, then end the VM.
#pragma once

#include "kernel/lib/exit_status.h"

namespace nimbus {

struct InterruptFrame;

[[noreturn]] void panic(const char* format, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void panic_with_status(ExitStatus status, const char* format, ...)
    __attribute__((format(printf, 2, 3)));
// Prints the frame of a CPU exception and ends the VM.
[[noreturn]] void panic_on_exception(const InterruptFrame& frame, const char* what);

void print_backtrace(uintptr_t frame_pointer);
bool panic_in_progress();
[[noreturn]] void halt_this_cpu_forever();

}  // namespace nimbus

#define ASSERT(condition)                                                                  \
  do {                                                                                     \
    if (!(condition)) [[unlikely]]                                                         \
      ::nimbus::panic("assertion failed: %s at %s:%d", #condition, __FILE__, __LINE__);    \
  } while (0)
