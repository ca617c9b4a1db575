// Page faults on application addresses.
#pragma once

#include <cstdint>

namespace nimbus {
struct InterruptFrame;
}

namespace nimbus::linux {

// True when the fault was the application's (filled, or turned into a signal); false when
// it is a kernel bug to report.
bool handle_application_page_fault(InterruptFrame& frame, uint64_t address);
// A fault in kernel code at an instruction of the exception table: resumes at its fix-up
// (true). `program_address`: the faulting address is the program's (memcpy's entries apply
// only then).
bool fix_up_kernel_fault(InterruptFrame& frame, bool program_address);
// Other CPU exceptions (#DE, #UD, #GP, #BP, ...) raised by application code become its
// SIGFPE, SIGILL, SIGSEGV, SIGTRAP; false for the kernel's own.
bool handle_application_exception(InterruptFrame& frame);

}  // namespace nimbus::linux
