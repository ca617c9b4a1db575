// The exception table: instructions allowed to fault on program memory, each with the
// address to resume at instead of panicking (Linux's __ex_table, SerenityOS's safe_memcpy).
#pragma once

#include <cstdint>

namespace nimbus::exception_table {

// What the fault handler does besides resuming at the fix-up.
enum class FixupKind : uint64_t {
  // A checked primitive (user_access.S): the fix-up itself returns its error.
  return_error = 0,
  // memcpy/memset/memmove: the copy stops where it faulted and the call returns as usual;
  // the fault is noted so the system call that made it fails with EFAULT. Only for faults
  // on program addresses: the same instructions copy kernel memory too.
  note_and_skip = 1,
};

struct Entry {
  uint64_t fault_rip;
  uint64_t fixup_rip;
  FixupKind kind;
};
static_assert(sizeof(Entry) == 24);

// The entry for the instruction at `rip`, or nullptr.
const Entry* find(uint64_t rip);

}  // namespace nimbus::exception_table
