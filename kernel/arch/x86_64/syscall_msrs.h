// Enables the `syscall` instruction (EFER.SCE, STAR, LSTAR, FMASK) on this CPU.
#pragma once

namespace nimbus::x86 {

void enable_syscall_instruction();

}  // namespace nimbus::x86
