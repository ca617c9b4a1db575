// MSI-X (PCI Local Bus 3.0, 6.8.2): the capability, the table of messages in a BAR, and the
// message that sends a vector to one CPU's local APIC (Intel SDM vol. 3, 11.11).
#pragma once

#include <cstdint>
#include <optional>

#include "kernel/drivers/pci/config_access.h"

namespace nimbus::pci {

struct MsixCapability {
  uint16_t offset = 0;      // of the capability in configuration space
  uint16_t table_size = 0;  // entries
  uint8_t table_bar = 0;
  uint32_t table_offset = 0;  // in that BAR
  uint8_t pba_bar = 0;
  uint32_t pba_offset = 0;
  static constexpr uint32_t kEntrySize = 16;
  uint64_t table_bytes() const { return static_cast<uint64_t>(table_size) * kEntrySize; }
};

// The function's MSI-X capability; nullopt when it has none or it names a BAR past 5.
std::optional<MsixCapability> find_msix(ConfigAccess& access, Address address);

// Turns MSI-X on with every vector still masked by its entry, and the legacy INTx line off.
void enable_msix(ConfigAccess& access, Address address, const MsixCapability& msix);
void disable_msix(ConfigAccess& access, Address address, const MsixCapability& msix);

struct MsiMessage {
  uint64_t address = 0;
  uint32_t data = 0;
  bool operator==(const MsiMessage&) const = default;
};

// SDM 11.11.1-2: fixed delivery, edge-triggered, physical destination `apic_id`. nullopt
// for an id above 255, which needs interrupt remapping.
std::optional<MsiMessage> compose_msi_message(uint32_t apic_id, uint8_t vector);

// The table, wherever it is mapped (a BAR's registers in the kernel, plain memory in tests).
class MsixTable {
 public:
  MsixTable() = default;
  MsixTable(volatile uint32_t* entries, uint16_t size) : m_entries(entries), m_size(size) {}
  uint16_t size() const { return m_size; }
  // Writes the message and unmasks the entry; false for an entry past the table.
  bool program(uint16_t entry, const MsiMessage& message);
  bool mask(uint16_t entry);
  bool masked(uint16_t entry) const;

 private:
  // Each entry: message address low, high, data, vector control (bit 0: masked).
  static constexpr unsigned kAddressLow = 0, kAddressHigh = 1, kData = 2, kVectorControl = 3;
  static constexpr uint32_t kMasked = 1;
  volatile uint32_t* word(uint16_t entry, unsigned field) const {
    return m_entries + entry * 4u + field;
  }

  volatile uint32_t* m_entries = nullptr;
  uint16_t m_size = 0;
};

}  // namespace nimbus::pci
