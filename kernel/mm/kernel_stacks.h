// A thread's kernel stacks (main, interrupt, exception), each below an unmapped guard page.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus {

struct StackSet {
  uintptr_t region = 0;  // base of the whole virtual reservation (0 = not ours)
  uintptr_t main_top = 0;
  uintptr_t interrupt_top = 0;
  uintptr_t exception_top = 0;
};

namespace kernel_stacks {

constexpr size_t kMainSize = 16 * 1024;
constexpr size_t kInterruptSize = 8 * 1024;
constexpr size_t kExceptionSize = 8 * 1024;

void init();
Result<StackSet> try_allocate();
void free(const StackSet& stacks);
// Whether `address` falls in a guard page of some stack set (a stack overflow).
bool is_guard_page(uintptr_t address);

}  // namespace kernel_stacks
}  // namespace nimbus
