// The register state that the interrupt entry stubs save, in stack order.
#pragma once

#include <cstdint>

namespace nimbus {

struct InterruptFrame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
  uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector, error_code;
  // Pushed by the CPU.
  uint64_t rip, cs, rflags, rsp, ss;
};

}  // namespace nimbus
