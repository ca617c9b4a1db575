// The local APIC (Intel SDM vol. 3A chapter 10).
#include "kernel/arch/x86_64/local_apic.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/time/clock.h"

namespace nimbus::apic {
namespace {

// Register offsets in xAPIC MMIO; x2APIC MSR = 0x800 + offset / 16.
constexpr uint32_t kId = 0x20;
constexpr uint32_t kTaskPriority = 0x80;
constexpr uint32_t kEoi = 0xb0;
constexpr uint32_t kSpuriousVector = 0xf0;
constexpr uint32_t kInterruptCommand = 0x300;
constexpr uint32_t kInterruptCommandHigh = 0x310;
constexpr uint32_t kLvtTimer = 0x320;
constexpr uint32_t kTimerInitialCount = 0x380;
constexpr uint32_t kTimerCurrentCount = 0x390;
constexpr uint32_t kTimerDivide = 0x3e0;

constexpr uint32_t kTimerModeTscDeadline = 2u << 17;
constexpr uint32_t kDeliveryInit = 5u << 8;
constexpr uint32_t kDeliveryStartup = 6u << 8;
constexpr uint32_t kLevelAssert = 1u << 14;
constexpr uint32_t kShorthandAllButSelf = 3u << 18;
constexpr uint32_t kDeliveryPending = 1u << 12;

bool g_x2apic = false;
bool g_tsc_deadline = false;
volatile uint32_t* g_mmio = nullptr;
// APIC timer ticks per TSC tick, as a 32.32 fixed-point ratio (one-shot mode only).
uint64_t g_apic_ticks_per_tsc_fp = 0;

uint32_t read(uint32_t reg) {
  if (g_x2apic) return static_cast<uint32_t>(x86::rdmsr(0x800 + reg / 16));
  return g_mmio[reg / 4];
}
void write(uint32_t reg, uint32_t value) {
  if (g_x2apic) {
    x86::wrmsr(0x800 + reg / 16, value);
    return;
  }
  g_mmio[reg / 4] = value;
}

void write_icr(uint32_t destination, uint32_t command) {
  if (g_x2apic) {
    x86::wrmsr(0x800 + kInterruptCommand / 16, (static_cast<uint64_t>(destination) << 32) | command);
    return;
  }
  write(kInterruptCommandHigh, destination << 24);
  write(kInterruptCommand, command);
  while (read(kInterruptCommand) & kDeliveryPending) x86::pause();
}

// Measures the one-shot timer's rate against the TSC over a short window.
void calibrate_one_shot_timer() {
  write(kTimerDivide, 0xb);  // divide by 1
  write(kLvtTimer, vector::kTimer | (1u << 16));  // masked while measuring
  constexpr uint32_t kStart = 0xffffffff;
  uint64_t window = clock::ns_to_tsc(50'000);
  write(kTimerInitialCount, kStart);
  uint64_t t0 = x86::rdtsc();
  while (x86::rdtsc() - t0 < window) x86::pause();
  uint32_t elapsed_ticks = kStart - read(kTimerCurrentCount);
  uint64_t elapsed_tsc = x86::rdtsc() - t0;
  write(kTimerInitialCount, 0);
  write(kLvtTimer, vector::kTimer);  // unmasked, one-shot
  g_apic_ticks_per_tsc_fp = (static_cast<uint64_t>(elapsed_ticks) << 32) / elapsed_tsc;
}

}  // namespace

void init_bsp(uint64_t mmio_phys) {
  auto leaf1 = x86::cpuid(1);
  g_x2apic = leaf1.ecx & (1u << 21);
  g_tsc_deadline = leaf1.ecx & (1u << 24);
  if (!g_x2apic)
    g_mmio = static_cast<volatile uint32_t*>(mmu::map_physical(mmio_phys, 4096, mmu::Caching::uncached));
  init_this_cpu();
  if (!g_tsc_deadline) calibrate_one_shot_timer();
}

void init_this_cpu() {
  uint64_t base = x86::rdmsr(x86::msr::kApicBase);
  base |= 1u << 11;  // global enable
  if (g_x2apic) base |= 1u << 10;
  x86::wrmsr(x86::msr::kApicBase, base);
  write(kTaskPriority, 0);
  write(kSpuriousVector, (1u << 8) | vector::kSpurious);
  if (g_tsc_deadline) {
    write(kLvtTimer, vector::kTimer | kTimerModeTscDeadline);
  } else {
    write(kTimerDivide, 0xb);
    write(kLvtTimer, vector::kTimer);  // one-shot
  }
}

uint32_t this_cpu_id() { return g_x2apic ? read(kId) : read(kId) >> 24; }
bool x2apic_enabled() { return g_x2apic; }
bool tsc_deadline_mode() { return g_tsc_deadline; }

void end_of_interrupt() { write(kEoi, 0); }

void send_ipi(uint32_t apic_id, uint8_t vector) { write_icr(apic_id, vector); }
void send_ipi_all_but_self(uint8_t vector) { write_icr(0, kShorthandAllButSelf | vector); }
void send_init(uint32_t apic_id) { write_icr(apic_id, kDeliveryInit | kLevelAssert); }
void send_startup(uint32_t apic_id, uint8_t page) {
  write_icr(apic_id, kDeliveryStartup | kLevelAssert | page);
}

void arm_timer_at_tsc(uint64_t tsc) {
  if (g_tsc_deadline) {
    x86::wrmsr(x86::msr::kTscDeadline, tsc);
    return;
  }
  if (tsc == 0) {
    write(kTimerInitialCount, 0);
    return;
  }
  uint64_t now = x86::rdtsc();
  uint64_t delta = tsc > now ? tsc - now : 1;
  uint64_t ticks = static_cast<uint64_t>((static_cast<unsigned __int128>(delta) * g_apic_ticks_per_tsc_fp) >> 32);
  if (ticks == 0) ticks = 1;
  if (ticks > 0xffffffff) ticks = 0xffffffff;  // re-armed when it fires early
  write(kTimerInitialCount, static_cast<uint32_t>(ticks));
}

}  // namespace nimbus::apic
