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
// Other CPU exceptions (#DE, #UD, #GP, #BP, ...) raised by application code become its
// SIGFPE, SIGILL, SIGSEGV, SIGTRAP; false for the kernel's own.
bool handle_application_exception(InterruptFrame& frame);

}  // namespace nimbus::linux
