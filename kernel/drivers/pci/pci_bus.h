// The machine's PCI bus (segment 0): configuration access through ECAM (the ACPI MCFG
// table) or the 0xCF8/0xCFC ports, the functions found at boot, and BAR mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/drivers/pci/config_access.h"
#include "kernel/drivers/pci/enumerate.h"
#include "kernel/drivers/pci/pci_function.h"

namespace nimbus::pci {

// PCI Firmware 3.2, 4.1.2: one MCFG allocation (segment 0's).
struct EcamWindow {
  uint64_t base = 0;  // 0: none
  uint8_t start_bus = 0;
  uint8_t end_bus = 0;
};

// Physical addresses where memory BARs the firmware left unassigned may go (qboot assigns
// none): on q35, the 32-bit PCI hole above low RAM and the ECAM window, below the I/O APIC.
struct MmioWindow {
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Enumerates the bus through `ecam` when there is one, else through the configuration
// ports if a host bridge answers there. Returns how many functions were found (0: no PCI).
size_t init(const EcamWindow& ecam, const MmioWindow& window);
bool present();
ConfigAccess& access();
std::span<const Function> functions();

// BAR `index` of the function at `address`; an unassigned memory BAR of a function on the
// first bus is first given a naturally aligned address from the window (behind a bridge the
// bridge's own window would need programming too: not done, the BAR stays unassigned).
Bar claim_bar(Address address, unsigned index);
// Maps `length` bytes at `offset` in a memory BAR uncached; nullptr for an I/O BAR, one the
// firmware left unassigned, or a range that does not fit in the BAR.
volatile uint8_t* map_bar(const Bar& bar, uint64_t offset, uint64_t length);
// Lets the function answer at its memory BARs and master the bus (DMA, MSI-X messages).
void enable_memory_and_bus_master(Address address);

}  // namespace nimbus::pci
