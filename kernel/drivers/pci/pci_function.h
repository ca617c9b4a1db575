// What a PCI function's configuration header says: its base address registers (BARs) and
// its capability list (PCI Local Bus 3.0, 6.2.5 and 6.7).
#pragma once

#include <cstdint>

#include "kernel/drivers/pci/config_access.h"

namespace nimbus::pci {

enum class BarKind : uint8_t { none, io, memory32, memory64 };

struct Bar {
  BarKind kind = BarKind::none;
  uint64_t address = 0;  // 0: not assigned by the firmware
  uint64_t size = 0;
  bool prefetchable = false;
  bool is_memory() const { return kind == BarKind::memory32 || kind == BarKind::memory64; }
};

// How many BARs the header has: 6 for a device, 2 for a PCI-to-PCI bridge, 0 otherwise.
unsigned bar_count(ConfigAccess& access, Address address);

// Decodes BAR `index`: kind, address and size (6.2.5.1: all ones are written with decoding
// off and the original value restored). A 64-bit BAR also takes index + 1; asking for that
// upper half, an unimplemented BAR or an index past bar_count gives BarKind::none.
Bar decode_bar(ConfigAccess& access, Address address, unsigned index);

// 6.7: the offset of the first capability with `id` after the one at `after` (0: from the
// start of the list), or 0 when there is none. A malformed list (a pointer into the
// header, a loop) ends the walk.
uint16_t find_capability(ConfigAccess& access, Address address, uint8_t id, uint16_t after = 0);

namespace capability {
constexpr uint8_t kMsi = 0x05, kVendor = 0x09, kPciExpress = 0x10, kMsix = 0x11;
}  // namespace capability

}  // namespace nimbus::pci
