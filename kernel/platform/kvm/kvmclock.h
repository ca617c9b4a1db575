// kvmclock (pvclock), the paravirtual clock KVM offers: the TSC rate and wall time.
#pragma once

#include <cstdint>

namespace nimbus::kvmclock {

// The TSC frequency that KVM publishes, or 0 when not running on KVM with kvmclock.
uint64_t tsc_khz();
// Seconds since the epoch from KVM's wall clock, or 0 when unavailable.
uint64_t wall_clock_seconds();

}  // namespace nimbus::kvmclock
