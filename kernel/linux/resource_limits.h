// Resource limits (setrlimit/prlimit64) that other system calls enforce, as Linux does.
#pragma once

#include <cstdint>

namespace nimbus::linux {

// RLIMIT_* numbers (asm-generic/resource.h).
constexpr int kRlimitFsize = 1;
constexpr int kRlimitData = 2;
constexpr int kRlimitNofile = 7;
constexpr int kRlimitAs = 9;
constexpr uint64_t kRlimInfinity = ~0ull;

// The calling process's soft limit of `resource` (kRlimInfinity: none).
uint64_t soft_resource_limit(int resource);

}  // namespace nimbus::linux
