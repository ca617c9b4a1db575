// The I/O APIC (Intel 82093AA datasheet: IOREGSEL/IOWIN, redirection table at 0x10 + 2n).
#include "kernel/arch/x86_64/io_apic.h"

#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/lib/console.h"

namespace nimbus::ioapic {
namespace {

struct Chip {
  volatile uint32_t* registers;
  uint32_t gsi_base;
  uint32_t count;
};

Chip g_chips[acpi::Platform::kMaxIoApics];
size_t g_chip_count = 0;
acpi::IrqOverride g_overrides[acpi::Platform::kMaxOverrides];
size_t g_override_count = 0;

uint32_t read(const Chip& chip, uint32_t reg) {
  chip.registers[0] = reg;
  return chip.registers[4];
}
void write(const Chip& chip, uint32_t reg, uint32_t value) {
  chip.registers[0] = reg;
  chip.registers[4] = value;
}

}  // namespace

void init(const acpi::Platform& platform) {
  for (size_t i = 0; i < platform.io_apic_count; i++) {
    Chip chip{static_cast<volatile uint32_t*>(mmu::map_physical(platform.io_apics[i].phys, 4096, mmu::Caching::uncached)),
              platform.io_apics[i].gsi_base, 0};
    chip.count = ((read(chip, 1) >> 16) & 0xff) + 1;  // IOAPICVER: maximum redirection entry
    g_chips[g_chip_count++] = chip;
  }
  for (size_t i = 0; i < platform.override_count; i++) g_overrides[g_override_count++] = platform.overrides[i];
  log("ioapic: %zu chips, %zu overrides\n", g_chip_count, g_override_count);
}

bool route_isa_irq(uint8_t irq, uint8_t vector, uint32_t apic_id) {
  uint32_t gsi = irq;
  // ISA defaults: active high, edge triggered, unless the MADT says otherwise.
  Polarity polarity = Polarity::active_high;
  Trigger trigger = Trigger::edge;
  for (size_t i = 0; i < g_override_count; i++) {
    if (g_overrides[i].isa_irq != irq) continue;
    gsi = g_overrides[i].gsi;
    if ((g_overrides[i].flags & 3) == 3) polarity = Polarity::active_low;
    if (((g_overrides[i].flags >> 2) & 3) == 3) trigger = Trigger::level;
  }
  return route_gsi(gsi, vector, apic_id, trigger, polarity);
}

bool route_gsi(uint32_t gsi, uint8_t vector, uint32_t apic_id, Trigger trigger, Polarity polarity) {
  for (size_t i = 0; i < g_chip_count; i++) {
    const Chip& chip = g_chips[i];
    if (gsi < chip.gsi_base || gsi >= chip.gsi_base + chip.count) continue;
    uint32_t index = gsi - chip.gsi_base;
    uint32_t low = vector | (polarity == Polarity::active_low ? 1u << 13 : 0) |
                   (trigger == Trigger::level ? 1u << 15 : 0);  // fixed delivery, physical
    write(chip, 0x10 + 2 * index + 1, apic_id << 24);
    write(chip, 0x10 + 2 * index, low);
    return true;
  }
  return false;
}

}  // namespace nimbus::ioapic
