// A fake PCI configuration space for host tests: bytes per function, BARs that answer
// sizing like hardware (only their address bits are writable), and checks that BARs are
// never probed with decoding on.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <tuple>

#include "kernel/drivers/pci/config_access.h"

namespace nimbus::testing {

class FakePciConfig final : public pci::ConfigAccess {
 public:
  struct FunctionSpace {
    std::array<uint8_t, 4096> bytes{};
    // Per dword, which bits a write changes (BARs: the address bits; default: all).
    std::map<uint16_t, uint32_t> write_masks;
  };

  FunctionSpace& add(pci::Address address, uint16_t vendor, uint16_t device) {
    FunctionSpace& space = m_functions[key(address)];
    set16(address, pci::config::kVendorId, vendor);
    set16(address, pci::config::kDeviceId, device);
    return space;
  }

  void set8(pci::Address address, uint16_t offset, uint8_t value) {
    space(address).bytes[offset] = value;
  }
  void set16(pci::Address address, uint16_t offset, uint16_t value) {
    std::memcpy(&space(address).bytes[offset], &value, 2);
  }
  void set32(pci::Address address, uint16_t offset, uint32_t value) {
    std::memcpy(&space(address).bytes[offset], &value, 4);
  }
  uint16_t get16(pci::Address address, uint16_t offset) {
    uint16_t value;
    std::memcpy(&value, &space(address).bytes[offset], 2);
    return value;
  }

  // A memory BAR of `size` bytes (a power of two) at `address`, 64-bit when `wide`.
  void set_memory_bar(pci::Address function, unsigned index, uint64_t address, uint64_t size,
                      bool wide, bool prefetchable = false) {
    auto offset = static_cast<uint16_t>(pci::config::kBar0 + 4 * index);
    uint32_t flags = (wide ? 4u : 0u) | (prefetchable ? 8u : 0u);
    set32(function, offset, static_cast<uint32_t>(address) | flags);
    space(function).write_masks[offset] = static_cast<uint32_t>(~(size - 1)) & ~0xfu;
    if (wide) {
      set32(function, offset + 4, static_cast<uint32_t>(address >> 32));
      space(function).write_masks[offset + 4] = static_cast<uint32_t>(~(size - 1) >> 32);
    }
  }
  // An I/O BAR of a 16-bit decoder: the upper half reads back as zero.
  void set_io_bar(pci::Address function, unsigned index, uint16_t port, uint32_t size) {
    auto offset = static_cast<uint16_t>(pci::config::kBar0 + 4 * index);
    set32(function, offset, port | 1u);
    space(function).write_masks[offset] = ~(size - 1) & 0xfffcu;
  }
  void set_unimplemented_bar(pci::Address function, unsigned index) {
    space(function).write_masks[static_cast<uint16_t>(pci::config::kBar0 + 4 * index)] = 0;
  }

  uint32_t read32(pci::Address address, uint16_t offset) override {
    reads++;
    auto found = m_functions.find(key(address));
    if (found == m_functions.end()) return ~0u;
    uint32_t value;
    std::memcpy(&value, &found->second.bytes[offset & 0xffc], 4);
    return value;
  }
  void write32(pci::Address address, uint16_t offset, uint32_t value) override {
    auto found = m_functions.find(key(address));
    if (found == m_functions.end()) return;
    FunctionSpace& function = found->second;
    offset &= 0xffc;
    bool bar = offset >= pci::config::kBar0 && offset < pci::config::kBar0 + 24;
    uint16_t command;
    std::memcpy(&command, &function.bytes[pci::config::kCommand], 2);
    if (bar && value == ~0u && (command & (pci::config::kCommandIo | pci::config::kCommandMemory)))
      bars_probed_while_decoding++;
    uint32_t mask = ~0u;
    if (auto m = function.write_masks.find(offset); m != function.write_masks.end())
      mask = m->second;
    uint32_t old;
    std::memcpy(&old, &function.bytes[offset], 4);
    uint32_t updated = (old & ~mask) | (value & mask);
    std::memcpy(&function.bytes[offset], &updated, 4);
  }
  void write16(pci::Address address, uint16_t offset, uint16_t value) override {
    auto found = m_functions.find(key(address));
    if (found == m_functions.end()) return;
    std::memcpy(&found->second.bytes[offset & 0xffe], &value, 2);
  }

  size_t reads = 0;
  size_t bars_probed_while_decoding = 0;

 private:
  static std::tuple<int, int, int> key(pci::Address a) { return {a.bus, a.device, a.function}; }
  FunctionSpace& space(pci::Address address) { return m_functions[key(address)]; }
  std::map<std::tuple<int, int, int>, FunctionSpace> m_functions;
};

}  // namespace nimbus::testing
