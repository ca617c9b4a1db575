// The I/O APIC: routes device interrupts (the serial port's, virtio-mmio's) to a CPU.
#pragma once

#include <cstdint>

#include "kernel/platform/kvm/acpi.h"

namespace nimbus::ioapic {

void init(const acpi::Platform& platform);
// Routes ISA IRQ `irq` (after the MADT's overrides) to `vector` on the CPU with `apic_id`;
// false if no I/O APIC serves it.
bool route_isa_irq(uint8_t irq, uint8_t vector, uint32_t apic_id);

enum class Trigger { edge, level };
enum class Polarity { active_high, active_low };
// Routes global system interrupt `gsi` (no ISA override applies) to `vector` on the CPU
// with `apic_id`; false if no I/O APIC serves it.
bool route_gsi(uint32_t gsi, uint8_t vector, uint32_t apic_id, Trigger trigger, Polarity polarity);

}  // namespace nimbus::ioapic
