// TSC calibration against PIT channel 2 (gate and output through port 0x61).
#include "kernel/platform/kvm/pit.h"

#include "kernel/arch/x86_64/cpu.h"

namespace nimbus::pit {
namespace {
constexpr uint32_t kPitHz = 1193182;
constexpr uint32_t kWindowMs = 10;
}  // namespace

uint64_t calibrate_tsc_khz() {
  constexpr uint16_t count = kPitHz * kWindowMs / 1000;
  // Gate on, speaker off; channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count).
  x86::outb(0x61, (x86::inb(0x61) & ~0x02) | 0x01);
  x86::outb(0x43, 0xb0);
  x86::outb(0x42, count & 0xff);
  x86::outb(0x42, count >> 8);
  uint64_t start = x86::rdtsc();
  // Output (bit 5) rises at terminal count. Bound the wait in case there is no PIT.
  uint64_t spins = 0;
  while (!(x86::inb(0x61) & 0x20) && ++spins < 100'000'000) {
  }
  uint64_t elapsed = x86::rdtsc() - start;
  uint64_t khz = elapsed / kWindowMs;
  return khz ? khz : 1'000'000;  // no PIT at all: assume 1 GHz rather than divide by zero
}

}  // namespace nimbus::pit
