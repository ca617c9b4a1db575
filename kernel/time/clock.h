// Monotonic and wall clocks from the TSC, whose rate comes from kvmclock, the command
// line, CPUID, or a PIT calibration, in that order.
#pragma once

#include <cstdint>

namespace nimbus::clock {

enum class Source { kvmclock, command_line, cpuid, pit };

// `command_line_khz` is 0 when the boot command line gives none.
void init(uint64_t entry_tsc, uint64_t command_line_khz);
Source source();
const char* source_name();
uint64_t tsc_khz();

// Nanoseconds since kernel entry.
uint64_t monotonic_ns();
// Nanoseconds since the Unix epoch.
uint64_t wall_ns();

uint64_t tsc_to_ns(uint64_t tsc_delta);
// The conversion factor itself (ns per tick, 32.32 fixed point), for the vDSO.
uint64_t ns_per_tsc_fixed_point();
uint64_t ns_to_tsc(uint64_t ns);
// The TSC value at which monotonic_ns() reaches `ns`.
uint64_t tsc_at(uint64_t monotonic);

void busy_wait_ns(uint64_t ns);

}  // namespace nimbus::clock
