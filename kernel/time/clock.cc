// Monotonic and wall clocks from the TSC.
#include "kernel/time/clock.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/platform/kvm/cmos_rtc.h"
#include "kernel/platform/kvm/kvmclock.h"
#include "kernel/platform/kvm/pit.h"

namespace nimbus::clock {
namespace {

Source g_source = Source::pit;
uint64_t g_khz = 0;
uint64_t g_entry_tsc = 0;
// ns = tsc * g_ns_per_tsc_fp >> 32, and the inverse.
uint64_t g_ns_per_tsc_fp = 0;
uint64_t g_tsc_per_ns_fp = 0;
uint64_t g_boot_epoch_ns = 0;

// CPUID leaf 0x15 (TSC/crystal ratio) or 0x16 (base frequency in MHz); 0 if unknown.
uint64_t cpuid_tsc_khz() {
  if (x86::cpuid(0).eax < 0x15) return 0;
  auto leaf15 = x86::cpuid(0x15);
  if (leaf15.eax && leaf15.ebx && leaf15.ecx)
    return static_cast<uint64_t>(leaf15.ecx) * leaf15.ebx / leaf15.eax / 1000;
  if (x86::cpuid(0).eax >= 0x16) {
    uint32_t mhz = x86::cpuid(0x16).eax & 0xffff;
    if (mhz) return mhz * 1000ull;
  }
  return 0;
}

}  // namespace

void init(uint64_t entry_tsc, uint64_t command_line_khz) {
  g_entry_tsc = entry_tsc;
  if (uint64_t khz = kvmclock::tsc_khz()) {
    g_source = Source::kvmclock;
    g_khz = khz;
  } else if (command_line_khz) {
    g_source = Source::command_line;
    g_khz = command_line_khz;
  } else if (uint64_t khz = cpuid_tsc_khz()) {
    g_source = Source::cpuid;
    g_khz = khz;
  } else {
    g_source = Source::pit;
    g_khz = pit::calibrate_tsc_khz();
  }
  g_ns_per_tsc_fp = (1'000'000ull << 32) / g_khz;
  g_tsc_per_ns_fp = (g_khz << 32) / 1'000'000;
  uint64_t wall_seconds = kvmclock::wall_clock_seconds();
  if (!wall_seconds) wall_seconds = cmos_rtc::read_epoch_seconds();
  g_boot_epoch_ns = wall_seconds * 1'000'000'000ull - monotonic_ns();
}

Source source() { return g_source; }
const char* source_name() {
  switch (g_source) {
    case Source::kvmclock: return "kvmclock";
    case Source::command_line: return "command line";
    case Source::cpuid: return "cpuid";
    case Source::pit: return "pit calibration";
  }
  return "?";
}
uint64_t tsc_khz() { return g_khz; }

uint64_t tsc_to_ns(uint64_t tsc_delta) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(tsc_delta) * g_ns_per_tsc_fp) >> 32);
}
uint64_t ns_per_tsc_fixed_point() { return g_ns_per_tsc_fp; }

uint64_t ns_to_tsc(uint64_t ns) {
  unsigned __int128 ticks = (static_cast<unsigned __int128>(ns) * g_tsc_per_ns_fp) >> 32;
  return ticks > ~uint64_t{0} ? ~uint64_t{0} : static_cast<uint64_t>(ticks);  // saturated
}

uint64_t monotonic_ns() { return tsc_to_ns(x86::rdtsc() - g_entry_tsc); }
uint64_t wall_ns() { return g_boot_epoch_ns + monotonic_ns(); }
uint64_t tsc_at(uint64_t monotonic) {
  uint64_t ticks = ns_to_tsc(monotonic);
  return ticks > ~uint64_t{0} - g_entry_tsc ? ~uint64_t{0} : g_entry_tsc + ticks;  // never wraps to the past
}

void busy_wait_ns(uint64_t ns) {
  uint64_t start = x86::rdtsc();
  uint64_t ticks = ns_to_tsc(ns);
  while (x86::rdtsc() - start < ticks) x86::pause();
}

}  // namespace nimbus::clock
