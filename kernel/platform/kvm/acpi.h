// The ACPI tables the kernel needs: MADT (which CPUs exist), FADT/DSDT (how to power off,
// which virtio-mmio devices exist) and MCFG (where PCI configuration space is).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/platform/kvm/virtio_mmio_devices.h"

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

struct IoApic {
  uint32_t id;
  uint64_t phys;
  uint32_t gsi_base;
};

// An ISA IRQ routed to another global system interrupt, or with non-ISA polarity/trigger.
struct IrqOverride {
  uint8_t isa_irq;
  uint32_t gsi;
  uint16_t flags;  // MPS INTI flags: polarity bits 0-1, trigger mode bits 2-3
};

// PCI Firmware 3.2, 4.1.2: the MCFG allocation of PCI segment 0 (ECAM).
struct PciEcam {
  uint64_t base = 0;  // 0: no MCFG
  uint8_t start_bus = 0;
  uint8_t end_bus = 0;
};

struct Platform {
  static constexpr size_t kMaxCpus = 256;
  static constexpr size_t kMaxIoApics = 8;
  static constexpr size_t kMaxOverrides = 16;
  uint32_t apic_ids[kMaxCpus];
  size_t cpu_count = 0;
  uint64_t local_apic_phys = 0xfee00000;
  IoApic io_apics[kMaxIoApics];
  size_t io_apic_count = 0;
  IrqOverride overrides[kMaxOverrides];
  size_t override_count = 0;
  PowerOff power_off;
  // QEMU's microvm describes its populated virtio-mmio transports in the DSDT (and puts
  // virtio_mmio.device= words on the command line only when ACPI is off).
  static constexpr size_t kMaxVirtioMmio = 8;
  VirtioMmioDevice virtio_mmio[kMaxVirtioMmio];
  size_t virtio_mmio_count = 0;
  PciEcam pci_ecam;  // q35 has one; microvm has no PCI
};

// Finds the RSDP (the PVH hint first, then the BIOS areas) and reads the tables.
// Returns false when there is no usable ACPI (the caller falls back to one CPU).
bool discover(uint64_t rsdp_hint, Platform& platform);

}  // namespace nimbus::acpi
