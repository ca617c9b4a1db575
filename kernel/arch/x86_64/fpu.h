// Extended (x87/SSE/AVX) register state: enabling it and saving it per thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus::fpu {

// Enables the FPU, SSE and (when present) XSAVE with AVX on this CPU.
void init_this_cpu();
// Bytes of one thread's save area (64-byte aligned).
size_t state_size();
// Fills a save area with the power-on state (default control words, zero registers).
void init_state(void* area);
void save(void* area);
void restore(const void* area);
// Whether XSAVE is in use (else FXSAVE), and the components it saves (XCR0).
bool uses_xsave();
uint64_t enabled_components();
// The MXCSR bits the CPU implements: restoring any other one is a #GP.
uint32_t mxcsr_mask();
// Save to and restore from program memory (a signal frame): false when the area faults, or
// when the CPU refuses it (#GP: a bad XSAVE header, reserved MXCSR bits), instead of a
// kernel fault. `area` must be 64-byte aligned.
bool save_checked(void* area);
bool restore_checked(const void* area);

}  // namespace nimbus::fpu
