// Extended (x87/SSE/AVX) register state: enabling it and saving it per thread.
#pragma once

#include <cstddef>

namespace nimbus::fpu {

// Enables the FPU, SSE and (when present) XSAVE with AVX on this CPU.
void init_this_cpu();
// Bytes of one thread's save area (64-byte aligned).
size_t state_size();
// Fills a save area with the power-on state (default control words, zero registers).
void init_state(void* area);
void save(void* area);
void restore(const void* area);

}  // namespace nimbus::fpu
