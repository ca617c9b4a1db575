// Address-space layout randomization: where a new program's PIE image, mmap area (and with
// it the ELF interpreter, libraries and vDSO), stack and brk heap go, with Linux x86-64's
// entropy. The kernel word `norandmaps` (as on Linux) turns it off for reproducible runs.
#pragma once

#include <cstdint>

namespace nimbus::linux {

// One program's layout, chosen at exec (fork keeps the parent's: the address space is copied).
struct ProgramLayout {
  uintptr_t mmap_begin;    // lowest address mmap places at without a hint (the window's start)
  uintptr_t pie_base;      // where a position-independent executable's first page goes
  uintptr_t break_offset;  // gap between the end of the image and the brk heap
  uintptr_t stack_top;     // end of the main stack mapping
  uintptr_t stack_offset;  // bytes left unused at the stack's top (16-byte multiple)
};

// Without randomization: the fixed layout Linux has with norandmaps.
ProgramLayout fixed_layout();
// A fresh random layout, or fixed_layout() when randomization is off.
ProgramLayout choose_layout();

// `norandmaps` on the kernel command line; call before the first program starts.
void set_layout_randomization(bool enabled);
bool layout_randomization();

}  // namespace nimbus::linux
