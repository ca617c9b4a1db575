// The local APIC (x2APIC through MSRs when available, xAPIC through MMIO otherwise):
// the per-CPU timer, inter-processor interrupts and end-of-interrupt.
#pragma once

#include <cstdint>

namespace nimbus::apic {

namespace vector {
constexpr uint8_t kTimer = 0x20;
constexpr uint8_t kReschedule = 0x21;
constexpr uint8_t kTlbShootdown = 0x22;
constexpr uint8_t kStop = 0x23;
constexpr uint8_t kSpurious = 0xff;
}  // namespace vector

// Chooses the mode on the bootstrap CPU; `mmio_phys` comes from the MADT.
void init_bsp(uint64_t mmio_phys);
// Enables this CPU's APIC and its timer (every CPU, the BSP included).
void init_this_cpu();
uint32_t this_cpu_id();
bool x2apic_enabled();
bool tsc_deadline_mode();

void end_of_interrupt();
void send_ipi(uint32_t apic_id, uint8_t vector);
void send_ipi_all_but_self(uint8_t vector);
void send_init(uint32_t apic_id);
void send_startup(uint32_t apic_id, uint8_t page);

// Arms this CPU's timer to fire at `tsc` (0 disarms). Tickless: one shot, no period.
void arm_timer_at_tsc(uint64_t tsc);

}  // namespace nimbus::apic
