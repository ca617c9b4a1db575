// Ending the VM: with a status through isa-debug-exit when the VMM provides it (nimbus run
// always does), otherwise ACPI S5 power-off.
#pragma once

#include "kernel/lib/exit_status.h"
#include "kernel/platform/kvm/acpi.h"

namespace nimbus::power {

void set_acpi_power_off(const acpi::PowerOff& power_off);
[[noreturn]] void exit_vm(ExitStatus status);
[[noreturn]] void exit_vm(int status);

}  // namespace nimbus::power
