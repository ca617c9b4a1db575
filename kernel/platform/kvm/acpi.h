// The ACPI tables the kernel needs: MADT (which CPUs exist) and FADT/DSDT (how to power off).
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus::acpi {

struct PowerOff {
  bool available = false;
  bool hardware_reduced = false;  // microvm: the FADT sleep control register
  uint64_t sleep_control_address = 0;
  uint8_t sleep_control_space = 0;  // GAS address space: 0 memory, 1 I/O port
  uint16_t pm1a_control_port = 0;
  uint16_t pm1b_control_port = 0;
  uint8_t s5_sleep_type_a = 0;
  uint8_t s5_sleep_type_b = 0;
};

struct Platform {
  static constexpr size_t kMaxCpus = 256;
  uint32_t apic_ids[kMaxCpus];
  size_t cpu_count = 0;
  uint64_t local_apic_phys = 0xfee00000;
  PowerOff power_off;
};

// Finds the RSDP (the PVH hint first, then the BIOS areas) and reads the tables.
// Returns false when there is no usable ACPI (the caller falls back to one CPU).
bool discover(uint64_t rsdp_hint, Platform& platform);

}  // namespace nimbus::acpi
