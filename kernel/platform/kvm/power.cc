// Ending the VM.
#include "kernel/platform/kvm/power.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/lib/format.h"

namespace nimbus::power {
namespace {

constexpr uint16_t kDebugExitPort = 0xf4;
// QEMU's debugcon: isa-debug-exit keeps only 7 bits of the status ((status << 1) | 1 is
// truncated to a byte by exit()), so the full status is written here first as text.
constexpr uint16_t kStatusPort = 0x402;
acpi::PowerOff g_power_off;

// ACPI 6.4 section 7.4.2 / 4.8.3.7: SLP_TYP and SLP_EN in PM1 control, or the
// hardware-reduced sleep control register.
void acpi_power_off() {
  if (!g_power_off.available) return;
  if (g_power_off.hardware_reduced) {
    uint8_t value = static_cast<uint8_t>(((g_power_off.s5_sleep_type_a & 7) << 2) | (1 << 5));
    if (g_power_off.sleep_control_space == 1) {
      x86::outb(static_cast<uint16_t>(g_power_off.sleep_control_address), value);
    } else {
      auto* reg = static_cast<volatile uint8_t*>(
          mmu::map_physical(g_power_off.sleep_control_address, 1, mmu::Caching::uncached));
      *reg = value;
    }
    return;
  }
  constexpr uint16_t kSleepEnable = 1 << 13;
  x86::outw(g_power_off.pm1a_control_port, static_cast<uint16_t>((g_power_off.s5_sleep_type_a << 10) | kSleepEnable));
  if (g_power_off.pm1b_control_port)
    x86::outw(g_power_off.pm1b_control_port, static_cast<uint16_t>((g_power_off.s5_sleep_type_b << 10) | kSleepEnable));
}

}  // namespace

void set_acpi_power_off(const acpi::PowerOff& power_off) { g_power_off = power_off; }

void exit_vm(int status) {
  x86::disable_interrupts();
  char text[8];
  size_t length = format_to(text, sizeof(text), "%d\n", status & 0xff);
  for (size_t i = 0; i < length; i++) x86::outb(kStatusPort, static_cast<uint8_t>(text[i]));
  // QEMU's isa-debug-exit ends the VM with (status << 1) | 1; elsewhere the port is unused.
  x86::outl(kDebugExitPort, static_cast<uint32_t>(status & 0x7f));
  acpi_power_off();
  for (;;) x86::halt();
}

void exit_vm(ExitStatus status) { exit_vm(static_cast<int>(status)); }

}  // namespace nimbus::power
