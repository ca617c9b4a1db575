// Self-test: a deliberate kernel page fault must print a backtrace and end the VM (250).
#include <cstdint>

#include "kernel/lib/console.h"
#include "kernel/selftest/selftest.h"

namespace nimbus::selftest {
namespace {

[[gnu::noinline]] void write_to_unmapped_memory() {
  // The lower half has no kernel mappings.
  auto* address = reinterpret_cast<volatile uint64_t*>(0xdead0000);
  *address = 42;
}

}  // namespace

void deliberate_page_fault() {
  print("pagefault: writing to an unmapped address\n");
  write_to_unmapped_memory();
  print("pagefault: FAILED (no fault)\n");
  __builtin_trap();
}

}  // namespace nimbus::selftest
