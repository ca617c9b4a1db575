// kvmclock (Linux Documentation/virt/kvm/x86/msr.rst, MSR_KVM_SYSTEM_TIME_NEW and
// MSR_KVM_WALL_CLOCK_NEW).
#include "kernel/platform/kvm/kvmclock.h"

#include <cstring>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/mm/physical.h"

namespace nimbus::kvmclock {
namespace {

struct PvclockTime {
  uint32_t version;
  uint32_t pad0;
  uint64_t tsc_timestamp;
  uint64_t system_time;
  uint32_t tsc_to_system_mul;
  int8_t tsc_shift;
  uint8_t flags;
  uint8_t pad[2];
};

struct PvclockWallClock {
  uint32_t version;
  uint32_t sec;
  uint32_t nsec;
};

alignas(64) volatile PvclockTime g_time;
alignas(64) volatile PvclockWallClock g_wall;

constexpr uint32_t kFeatureClockSource2 = 1u << 3;

bool available() {
  auto leaf = x86::cpuid(0x40000000);
  char signature[12];
  memcpy(signature + 0, &leaf.ebx, 4);
  memcpy(signature + 4, &leaf.ecx, 4);
  memcpy(signature + 8, &leaf.edx, 4);
  if (memcmp(signature, "KVMKVMKVM\0\0\0", 12) != 0) return false;
  return x86::cpuid(0x40000001).eax & kFeatureClockSource2;
}

}  // namespace

uint64_t tsc_khz() {
  if (!available()) return 0;
  x86::wrmsr(x86::msr::kKvmSystemTime, virt_to_phys(const_cast<PvclockTime*>(&g_time)) | 1);
  uint32_t version;
  uint32_t mul;
  int8_t shift;
  do {
    version = g_time.version;
    asm volatile("" ::: "memory");
    mul = g_time.tsc_to_system_mul;
    shift = g_time.tsc_shift;
    asm volatile("" ::: "memory");
  } while ((version & 1) || version != g_time.version);
  // ns = ((tsc << shift) * mul) >> 32, so TSC Hz = 1e9 * 2^32 / (mul * 2^shift).
  if (!mul) return 0;
  unsigned __int128 numerator = static_cast<unsigned __int128>(1'000'000ull) << 32;
  uint64_t khz = static_cast<uint64_t>(numerator / mul);
  return shift >= 0 ? khz >> shift : khz << -shift;
}

uint64_t wall_clock_seconds() {
  if (!available()) return 0;
  x86::wrmsr(x86::msr::kKvmWallClock, virt_to_phys(const_cast<PvclockWallClock*>(&g_wall)));
  // The wall clock is the boot time; add the system time since then.
  return g_wall.sec + g_time.system_time / 1'000'000'000ull;
}

}  // namespace nimbus::kvmclock
