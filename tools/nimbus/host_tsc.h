// host_tsc_khz(): the host's TSC rate, which is the guest's TSC rate under TCG.
#pragma once

#include <cstdint>

#include "host_cache.h"

// Measured once per host (rdtsc against CLOCK_MONOTONIC) and kept in the host cache;
// /proc/cpuinfo's "cpu MHz" is often a rounded nominal figure, and the kernel's timekeeping is only
// as good as this.
std::uint64_t host_tsc_khz(HostCache& cache);
