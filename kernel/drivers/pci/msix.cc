// MSI-X: capability parsing, enabling, table programming and message composition.
#include "kernel/drivers/pci/msix.h"

#include "kernel/drivers/pci/pci_function.h"

namespace nimbus::pci {
namespace {

// 6.8.2.3-5: Message Control and the Table/PBA offset registers.
constexpr uint16_t kControl = 2, kTable = 4, kPba = 8;
constexpr uint16_t kControlTableSizeMask = 0x7ff;
constexpr uint16_t kControlFunctionMask = 1u << 14;
constexpr uint16_t kControlEnable = 1u << 15;
constexpr uint32_t kBirMask = 0x7;

// SDM 11.11.1: the message address window of the local APICs.
constexpr uint64_t kMessageAddressBase = 0xfee00000;
constexpr unsigned kDestinationShift = 12;

}  // namespace

std::optional<MsixCapability> find_msix(ConfigAccess& access, Address address) {
  uint16_t offset = find_capability(access, address, capability::kMsix);
  if (offset == 0) return std::nullopt;
  MsixCapability msix;
  msix.offset = offset;
  msix.table_size = static_cast<uint16_t>(
      (access.read16(address, offset + kControl) & kControlTableSizeMask) + 1);
  uint32_t table = access.read32(address, offset + kTable);
  uint32_t pba = access.read32(address, offset + kPba);
  msix.table_bar = static_cast<uint8_t>(table & kBirMask);
  msix.table_offset = table & ~kBirMask;
  msix.pba_bar = static_cast<uint8_t>(pba & kBirMask);
  msix.pba_offset = pba & ~kBirMask;
  if (msix.table_bar > 5 || msix.pba_bar > 5) return std::nullopt;
  return msix;
}

void enable_msix(ConfigAccess& access, Address address, const MsixCapability& msix) {
  uint16_t command = access.read16(address, config::kCommand);
  access.write16(address, config::kCommand,
                 static_cast<uint16_t>(command | config::kCommandInterruptDisable));
  auto control =
      static_cast<uint16_t>(access.read16(address, msix.offset + kControl) | kControlEnable);
  access.write16(address, msix.offset + kControl,
                 static_cast<uint16_t>(control & ~kControlFunctionMask));
}

void disable_msix(ConfigAccess& access, Address address, const MsixCapability& msix) {
  uint16_t control = access.read16(address, msix.offset + kControl);
  access.write16(address, msix.offset + kControl, static_cast<uint16_t>(control & ~kControlEnable));
}

std::optional<MsiMessage> compose_msi_message(uint32_t apic_id, uint8_t vector) {
  if (apic_id > 0xff) return std::nullopt;
  // Data: vector in bits 0-7; delivery mode 000 (fixed) and trigger mode 0 (edge).
  return MsiMessage{kMessageAddressBase | (static_cast<uint64_t>(apic_id) << kDestinationShift),
                    vector};
}

bool MsixTable::program(uint16_t entry, const MsiMessage& message) {
  if (entry >= m_size) return false;
  // Masked while its fields change, so the device never sends half a message (6.8.2.9).
  *word(entry, kVectorControl) = *word(entry, kVectorControl) | kMasked;
  *word(entry, kAddressLow) = static_cast<uint32_t>(message.address);
  *word(entry, kAddressHigh) = static_cast<uint32_t>(message.address >> 32);
  *word(entry, kData) = message.data;
  *word(entry, kVectorControl) = *word(entry, kVectorControl) & ~kMasked;
  return true;
}

bool MsixTable::mask(uint16_t entry) {
  if (entry >= m_size) return false;
  *word(entry, kVectorControl) = *word(entry, kVectorControl) | kMasked;
  return true;
}

bool MsixTable::masked(uint16_t entry) const {
  return entry < m_size && (*word(entry, kVectorControl) & kMasked);
}

}  // namespace nimbus::pci
