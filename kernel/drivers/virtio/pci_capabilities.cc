// The virtio-pci capability list (virtio 1.2, 4.1.4).
#include "kernel/drivers/virtio/pci_capabilities.h"

#include "kernel/drivers/pci/pci_function.h"

namespace nimbus::virtio {
namespace {

// 4.1.4: struct virtio_pci_cap: cap_vndr, cap_next, cap_len, cfg_type, bar, id, padding[2],
// offset (le32), length (le32); the notify capability adds notify_off_multiplier (le32).
constexpr uint16_t kCapLength = 2, kCfgType = 3, kBar = 4, kOffset = 8, kLength = 12,
                   kMultiplier = 16;
constexpr uint8_t kMinCapLength = 16, kMinNotifyCapLength = 20;
enum CfgType : uint8_t { kCommonCfg = 1, kNotifyCfg = 2, kIsrCfg = 3, kDeviceCfg = 4 };

}  // namespace

std::optional<uint32_t> virtio_pci_device_id(pci::ConfigAccess& access, pci::Address address) {
  if (access.read16(address, pci::config::kVendorId) != kPciVendor) return std::nullopt;
  uint16_t device = access.read16(address, pci::config::kDeviceId);
  if (device >= kPciFirstModernDevice && device <= kPciLastDevice)
    return device - kPciFirstModernDevice;
  if (device >= kPciFirstTransitionalDevice && device <= kPciLastTransitionalDevice)
    return access.read16(address, pci::config::kSubsystemId);
  return std::nullopt;
}

PciLayout find_virtio_regions(pci::ConfigAccess& access, pci::Address address) {
  PciLayout layout;
  for (uint16_t at = pci::find_capability(access, address, pci::capability::kVendor); at != 0;
       at = pci::find_capability(access, address, pci::capability::kVendor, at)) {
    uint8_t cap_length = access.read8(address, at + kCapLength);
    uint8_t type = access.read8(address, at + kCfgType);
    PciRegion region{true, access.read8(address, at + kBar), access.read32(address, at + kOffset),
                     access.read32(address, at + kLength)};
    if (cap_length < kMinCapLength || region.bar > 5 ||
        region.offset + static_cast<uint64_t>(region.length) > ~0u)
      continue;
    PciRegion* slot = nullptr;
    switch (type) {
      case kCommonCfg:
        slot = &layout.common;
        break;
      case kNotifyCfg:
        if (cap_length < kMinNotifyCapLength) continue;
        slot = &layout.notify;
        break;
      case kIsrCfg:
        slot = &layout.isr;
        break;
      case kDeviceCfg:
        slot = &layout.device;
        break;
      default:
        continue;  // PCI configuration access, shared memory, vendor data
    }
    if (slot->present) continue;
    *slot = region;
    if (type == kNotifyCfg) layout.notify_off_multiplier = access.read32(address, at + kMultiplier);
  }
  return layout;
}

}  // namespace nimbus::virtio
