// New processes: clone without CLONE_THREAD (fork, vfork, and clone3's equivalents).
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus::linux {

// clone(2) for a new process: `flags`' low byte is the signal the parent gets at its end.
// Returns the child's pid in the parent; the child returns 0 from the same syscall.
Result<long> fork_process(uint64_t flags, uint64_t stack, int* parent_tid, int* child_tid, uint64_t tls);

}  // namespace nimbus::linux
