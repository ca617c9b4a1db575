// PCI bus enumeration (PCI Local Bus 3.0, 6.1; PCI-to-PCI Bridge 1.2, 3.2.5.3).
#include "kernel/drivers/pci/enumerate.h"

#include <cstddef>

namespace nimbus::pci {
namespace {

constexpr uint8_t kClassBridge = 0x06, kSubclassPciBridge = 0x04;
// Bridges nest this deep at most here (each level is a recursion on the boot stack).
constexpr unsigned kMaxDepth = 8;

struct Walk {
  ConfigAccess& access;
  FunctionVisitor visit;
  void* context;
  uint64_t seen[4] = {};  // one bit per bus number
  size_t count = 0;
  unsigned depth = 0;
};

bool mark_seen(Walk& walk, uint8_t bus) {
  uint64_t bit = 1ull << (bus % 64);
  if (walk.seen[bus / 64] & bit) return false;
  walk.seen[bus / 64] |= bit;
  return true;
}

void scan_bus(Walk& walk, uint8_t bus);

void scan_function(Walk& walk, Address address) {
  uint32_t ids = walk.access.read32(address, config::kVendorId);
  Function function;
  function.address = address;
  function.vendor_id = static_cast<uint16_t>(ids);
  function.device_id = static_cast<uint16_t>(ids >> 16);
  uint32_t classes = walk.access.read32(address, config::kRevision);
  function.class_code = static_cast<uint8_t>(classes >> 24);
  function.subclass = static_cast<uint8_t>(classes >> 16);
  function.header_type = walk.access.read8(address, config::kHeaderType) & config::kHeaderTypeMask;
  walk.count++;
  walk.visit(walk.context, function);
  if (function.header_type == config::kHeaderBridge && function.class_code == kClassBridge &&
      function.subclass == kSubclassPciBridge) {
    uint8_t secondary = walk.access.read8(address, config::kSecondaryBus);
    if (secondary != 0 && walk.depth < kMaxDepth) {
      walk.depth++;
      scan_bus(walk, secondary);
      walk.depth--;
    }
  }
}

void scan_bus(Walk& walk, uint8_t bus) {
  if (!mark_seen(walk, bus)) return;
  for (uint8_t device = 0; device < 32; device++) {
    Address address{bus, device, 0};
    if (walk.access.read16(address, config::kVendorId) == config::kNoVendor) continue;
    scan_function(walk, address);
    if (!(walk.access.read8(address, config::kHeaderType) & config::kHeaderMultiFunction)) continue;
    for (uint8_t function = 1; function < 8; function++) {
      Address other{bus, device, function};
      if (walk.access.read16(other, config::kVendorId) != config::kNoVendor)
        scan_function(walk, other);
    }
  }
}

}  // namespace

size_t enumerate(ConfigAccess& access, uint8_t bus, FunctionVisitor visit, void* context) {
  Walk walk{access, visit, context};
  scan_bus(walk, bus);
  return walk.count;
}

}  // namespace nimbus::pci
