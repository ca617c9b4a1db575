// BAR decoding and capability list walking over a ConfigAccess.
#include "kernel/drivers/pci/pci_function.h"

namespace nimbus::pci {
namespace {

// 6.7: capabilities live after the 64-byte header; each takes at least 4 bytes, so no valid
// list is longer than this.
constexpr uint16_t kFirstCapabilityOffset = 0x40;
constexpr unsigned kMaxCapabilities = (256 - kFirstCapabilityOffset) / 4;

// 6.2.5.1: BAR low bits.
constexpr uint32_t kBarIo = 1u << 0;
constexpr uint32_t kBarTypeMask = 3u << 1, kBarType64 = 2u << 1, kBarTypeReserved = 3u << 1;
constexpr uint32_t kBarPrefetchable = 1u << 3;
constexpr uint64_t kBarMemoryMask = ~0xfull;
constexpr uint32_t kBarIoMask = ~0x3u;

// Writes all ones to the BAR dword(s) and reads back which address bits are writable,
// restoring the original values; decoding is off meanwhile so the device never answers at
// the probing address. The command register is written only if decoding was on: under
// QEMU each change of it remaps the function's BARs, a costly exit.
uint64_t probe_writable_bits(ConfigAccess& access, Address address, uint16_t offset, bool wide) {
  constexpr uint16_t kDecoding = config::kCommandIo | config::kCommandMemory;
  uint16_t command = access.read16(address, config::kCommand);
  if (command & kDecoding)
    access.write16(address, config::kCommand, static_cast<uint16_t>(command & ~kDecoding));
  uint32_t low = access.read32(address, offset);
  access.write32(address, offset, ~0u);
  uint64_t bits = access.read32(address, offset);
  access.write32(address, offset, low);
  if (wide) {
    uint32_t high = access.read32(address, offset + 4);
    access.write32(address, offset + 4, ~0u);
    bits |= static_cast<uint64_t>(access.read32(address, offset + 4)) << 32;
    access.write32(address, offset + 4, high);
  }
  if (command & kDecoding) access.write16(address, config::kCommand, command);
  return bits;
}

}  // namespace

unsigned bar_count(ConfigAccess& access, Address address) {
  uint8_t type = access.read8(address, config::kHeaderType) & config::kHeaderTypeMask;
  if (type == 0) return 6;
  if (type == config::kHeaderBridge) return 2;
  return 0;
}

Bar decode_bar(ConfigAccess& access, Address address, unsigned index) {
  Bar bar;
  unsigned count = bar_count(access, address);
  if (index >= count) return bar;
  // The upper half of a 64-bit BAR is not a BAR of its own: walk the BARs before it.
  unsigned next = 0;
  while (next < index) {
    uint32_t value = access.read32(address, static_cast<uint16_t>(config::kBar0 + 4 * next));
    next += !(value & kBarIo) && (value & kBarTypeMask) == kBarType64 ? 2 : 1;
  }
  if (next != index) return bar;
  auto offset = static_cast<uint16_t>(config::kBar0 + 4 * index);
  uint32_t low = access.read32(address, offset);
  if (low & kBarIo) {
    uint64_t bits = probe_writable_bits(access, address, offset, false) & kBarIoMask;
    if (bits == 0) return bar;
    // A 16-bit I/O decoder reads the upper half back as zero (6.2.5.1).
    if (!(bits & 0xffff0000u)) bits |= 0xffff0000u;
    bar.kind = BarKind::io;
    bar.address = low & kBarIoMask;
    bar.size = static_cast<uint32_t>(~static_cast<uint32_t>(bits) + 1);
    return bar;
  }
  uint32_t type = low & kBarTypeMask;
  if (type == kBarTypeReserved) return bar;
  bool wide = type == kBarType64;
  if (wide && index + 1 >= count) return bar;  // its upper half would lie past the BARs
  uint64_t bits = probe_writable_bits(access, address, offset, wide) & kBarMemoryMask;
  if (!wide) bits |= 0xffffffff00000000ull;
  if (bits == 0 || bits == 0xffffffff00000000ull) return bar;
  bar.kind = wide ? BarKind::memory64 : BarKind::memory32;
  bar.prefetchable = low & kBarPrefetchable;
  bar.address = low & ~0xfu;
  if (wide)
    bar.address |= static_cast<uint64_t>(access.read32(address, static_cast<uint16_t>(offset + 4)))
                   << 32;
  bar.size = ~bits + 1;
  return bar;
}

uint16_t find_capability(ConfigAccess& access, Address address, uint8_t id, uint16_t after) {
  if (!(access.read16(address, config::kStatus) & config::kStatusCapabilities)) return 0;
  uint16_t offset = access.read8(address, config::kCapabilitiesPointer) & 0xfc;
  bool passed = after == 0;
  for (unsigned i = 0; i < kMaxCapabilities && offset >= kFirstCapabilityOffset; i++) {
    uint8_t this_id = access.read8(address, offset);
    if (passed && this_id == id) return offset;
    if (offset == after) passed = true;
    offset = access.read8(address, static_cast<uint16_t>(offset + 1)) & 0xfc;
  }
  return 0;
}

}  // namespace nimbus::pci
