// Where a virtio-pci device keeps its structures (virtio 1.2, 4.1.4): the vendor-specific
// capabilities that name a BAR, an offset and a length for each of them.
#pragma once

#include <cstdint>
#include <optional>

#include "kernel/drivers/pci/config_access.h"

namespace nimbus::virtio {

// 4.1.2: PCI ids.
constexpr uint16_t kPciVendor = 0x1af4;
constexpr uint16_t kPciFirstModernDevice = 0x1040, kPciLastDevice = 0x107f;
constexpr uint16_t kPciFirstTransitionalDevice = 0x1000, kPciLastTransitionalDevice = 0x103f;

// The virtio device id of PCI function `address` (4.1.2.1: 0x1040 + id for a modern
// device, the subsystem id for a transitional one); nullopt when it is no virtio device.
std::optional<uint32_t> virtio_pci_device_id(pci::ConfigAccess& access, pci::Address address);

struct PciRegion {
  bool present = false;
  uint8_t bar = 0;
  uint32_t offset = 0;
  uint32_t length = 0;
};

struct PciLayout {
  PciRegion common;  // VIRTIO_PCI_CAP_COMMON_CFG
  PciRegion notify;  // VIRTIO_PCI_CAP_NOTIFY_CFG
  PciRegion isr;     // VIRTIO_PCI_CAP_ISR_CFG
  PciRegion device;  // VIRTIO_PCI_CAP_DEVICE_CFG
  uint32_t notify_off_multiplier = 0;
};

// Reads every virtio capability; the first usable one of each type wins (4.1.4: the driver
// SHOULD use the first it can). Those naming a BAR past 5, shorter than their structure, or
// whose offset + length overflows are skipped.
PciLayout find_virtio_regions(pci::ConfigAccess& access, pci::Address address);

}  // namespace nimbus::virtio
