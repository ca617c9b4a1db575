// Signals: numbers, and delivery of synchronous faults to the application.
#pragma once

#include <cstdint>

namespace nimbus {
struct InterruptFrame;
}

namespace nimbus::linux {

constexpr int kSigill = 4;
constexpr int kSigtrap = 5;
constexpr int kSigbus = 7;
constexpr int kSigfpe = 8;
constexpr int kSigkill = 9;
constexpr int kSigsegv = 11;
constexpr int kSigpipe = 13;
constexpr int kSigabrt = 6;

// si_code values for SIGSEGV.
constexpr int kSegvMapErr = 1;
constexpr int kSegvAccErr = 2;

// A CPU exception in application code: runs the application's handler if it has one,
// otherwise ends the VM with status 128 + signal.
void raise_fault_signal(InterruptFrame& frame, int signal, int code, uint64_t address);
// Ends the VM as if killed by `signal` (status 128 + signal).
[[noreturn]] void die_by_signal(int signal);

}  // namespace nimbus::linux
