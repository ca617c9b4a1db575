// PCI configuration space access: the interface the PCI logic reads and writes through, so
// the same code runs on ECAM, on the 0xCF8/0xCFC ports, and on a fake in host unit tests.
#pragma once

#include <cstdint>

namespace nimbus::pci {

// A function's bus/device/function triple (segment 0 only).
struct Address {
  uint8_t bus = 0;
  uint8_t device = 0;    // 0-31
  uint8_t function = 0;  // 0-7
  bool operator==(const Address&) const = default;
};

class ConfigAccess {
 public:
  // `offset` is 4-aligned for 32-bit and 2-aligned for 16-bit accesses; the implementations
  // cover the first 256 bytes at least (ECAM: 4096).
  virtual uint32_t read32(Address address, uint16_t offset) = 0;
  virtual void write32(Address address, uint16_t offset, uint32_t value) = 0;
  // A 16-bit write of its own: the command and MSI-X control registers share their dword
  // with read-only or write-one-to-clear fields that a read-modify-write would disturb.
  virtual void write16(Address address, uint16_t offset, uint16_t value) = 0;

  // Configuration reads have no side effects, so the narrow ones read the whole dword.
  uint16_t read16(Address address, uint16_t offset) {
    return static_cast<uint16_t>(read32(address, offset & ~3u) >> (8 * (offset & 2)));
  }
  uint8_t read8(Address address, uint16_t offset) {
    return static_cast<uint8_t>(read32(address, offset & ~3u) >> (8 * (offset & 3)));
  }

 protected:
  ~ConfigAccess() = default;
};

// PCI Local Bus 3.0, 6.1: the type 0/1 header fields used here.
namespace config {
constexpr uint16_t kVendorId = 0x00, kDeviceId = 0x02, kCommand = 0x04, kStatus = 0x06,
                   kRevision = 0x08, kClassCode = 0x09, kHeaderType = 0x0e, kBar0 = 0x10,
                   kSecondaryBus = 0x19, kSubsystemId = 0x2e, kCapabilitiesPointer = 0x34;
constexpr uint16_t kCommandIo = 1u << 0, kCommandMemory = 1u << 1, kCommandBusMaster = 1u << 2,
                   kCommandInterruptDisable = 1u << 10;
constexpr uint16_t kStatusCapabilities = 1u << 4;
constexpr uint8_t kHeaderTypeMask = 0x7f, kHeaderMultiFunction = 0x80, kHeaderBridge = 0x01;
constexpr uint16_t kNoVendor = 0xffff;
}  // namespace config

}  // namespace nimbus::pci
