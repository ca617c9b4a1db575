// The CMOS real-time clock: the wall time at boot when kvmclock is absent.
#pragma once

#include <cstdint>

namespace nimbus::cmos_rtc {

// Seconds since the epoch, or 0 if the RTC reads as invalid.
uint64_t read_epoch_seconds();

}  // namespace nimbus::cmos_rtc
