// The clock parameters the vDSO reads, in the page mapped just below the vDSO's code.
#pragma once

#include <cstdint>

namespace nimbus::linux {

struct VdsoData {
  uint64_t tsc_base;        // TSC value at monotonic time 0
  uint64_t ns_per_tsc_fp;   // nanoseconds per TSC tick, 32.32 fixed point
  uint64_t boot_epoch_ns;   // wall-clock time at monotonic time 0
};

}  // namespace nimbus::linux
