// The application's registers as syscall_entry saves them on the thread's kernel stack.
#pragma once

#include <cstdint>

namespace nimbus::linux {

struct SyscallFrame {
  uint64_t r15, r14, r13, r12, rbp, rbx;
  uint64_t r9, r8, r10, rdx, rsi, rdi;
  uint64_t rax;  // the syscall number on entry, the result on return
  uint64_t rip;  // from %rcx
  uint64_t rflags;  // from %r11
  uint64_t rsp;  // the application's stack pointer
};

}  // namespace nimbus::linux
