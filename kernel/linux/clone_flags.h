// clone(2)'s flags (linux/sched.h), shared by threads (syscalls_threads.cc) and new processes
// (syscalls_fork.cc).
#pragma once

#include <cstdint>

namespace nimbus::linux {

constexpr uint64_t kCloneVm = 0x100;
constexpr uint64_t kCloneFs = 0x200;
constexpr uint64_t kCloneFiles = 0x400;
constexpr uint64_t kCloneSighand = 0x800;
constexpr uint64_t kCloneVfork = 0x4000;
constexpr uint64_t kCloneParent = 0x8000;
constexpr uint64_t kCloneThread = 0x10000;
constexpr uint64_t kCloneSysvsem = 0x40000;
constexpr uint64_t kCloneSettls = 0x80000;
constexpr uint64_t kCloneParentSettid = 0x100000;
constexpr uint64_t kCloneChildCleartid = 0x200000;
constexpr uint64_t kCloneDetached = 0x400000;
constexpr uint64_t kCloneChildSettid = 0x1000000;
// clone3 only: the child's caught signals go back to their default action.
constexpr uint64_t kCloneClearSighand = 0x100000000ull;

}  // namespace nimbus::linux
