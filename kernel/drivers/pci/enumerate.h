// PCI bus enumeration: every function on a bus and on the buses behind its PCI-to-PCI
// bridges, as the firmware numbered them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/drivers/pci/config_access.h"

namespace nimbus::pci {

struct Function {
  Address address;
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint8_t class_code = 0;
  uint8_t subclass = 0;
  uint8_t header_type = 0;  // without the multi-function bit
};

using FunctionVisitor = void (*)(void* context, const Function& function);

// Visits each function on `bus` and, depth-first, behind each bridge whose secondary bus is
// set up (a bus already seen, or numbered 0, is not entered; bridges nest 8 deep at most).
// Returns how many.
size_t enumerate(ConfigAccess& access, uint8_t bus, FunctionVisitor visit, void* context);

}  // namespace nimbus::pci
