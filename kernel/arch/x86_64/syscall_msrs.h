// Enables the `syscall` instruction (EFER.SCE, STAR, LSTAR, FMASK) on this CPU.
#pragma once

#include <cstdint>

namespace nimbus::x86 {

void enable_syscall_instruction();
// Publishes this CPU's index to the application (rdtscp's TSC_AUX, for getcpu).
void set_cpu_number(uint32_t index);

}  // namespace nimbus::x86
