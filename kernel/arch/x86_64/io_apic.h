// The I/O APIC: routes legacy (ISA) device interrupts, such as the serial port's, to a CPU.
#pragma once

#include <cstdint>

#include "kernel/platform/kvm/acpi.h"

namespace nimbus::ioapic {

void init(const acpi::Platform& platform);
// Routes ISA IRQ `irq` (after the MADT's overrides) to `vector` on the CPU with `apic_id`;
// false if no I/O APIC serves it.
bool route_isa_irq(uint8_t irq, uint8_t vector, uint32_t apic_id);

}  // namespace nimbus::ioapic
