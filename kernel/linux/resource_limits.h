// Resource limits (setrlimit/prlimit64) that other system calls enforce, as Linux does.
#pragma once

#include <cstdint>

#include "kernel/sync/spinlock.h"

namespace nimbus::linux {

// RLIMIT_* numbers (asm-generic/resource.h).
constexpr int kRlimitFsize = 1;
constexpr int kRlimitData = 2;
constexpr int kRlimitNofile = 7;
constexpr int kRlimitAs = 9;
constexpr int kRlimitNproc = 6;
constexpr int kRlimitCount = 16;
constexpr uint64_t kRlimInfinity = ~0ull;

struct Rlimit {
  uint64_t current;
  uint64_t maximum;
};

// A process's limits: PID 1 starts with Linux's defaults, fork copies them, execve keeps them.
struct ResourceLimits {
  Rlimit limits[kRlimitCount] = {
      {kRlimInfinity, kRlimInfinity}, {kRlimInfinity, kRlimInfinity}, {kRlimInfinity, kRlimInfinity},
      {8ull << 20, kRlimInfinity},    {0, kRlimInfinity},             {kRlimInfinity, kRlimInfinity},
      {kRlimInfinity, kRlimInfinity}, {1024, 1024 * 1024},            {8ull << 20, 8ull << 20},
      {kRlimInfinity, kRlimInfinity}, {kRlimInfinity, kRlimInfinity}, {kRlimInfinity, kRlimInfinity},
      {819200, 819200},               {0, 0},                         {0, 0},
      {kRlimInfinity, kRlimInfinity},
  };
};

// Guards every process's ResourceLimits (a leaf lock).
Spinlock& resource_limits_lock();

// The calling process's soft limit of `resource` (kRlimInfinity: none).
uint64_t soft_resource_limit(int resource);

}  // namespace nimbus::linux
