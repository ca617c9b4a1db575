// Maps the vDSO (and the clock data page below it) into the application.
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"
#include "kernel/mm/address_space.h"

namespace nimbus::linux {

// Returns the address of the vDSO's ELF header, for AT_SYSINFO_EHDR.
Result<uintptr_t> map_vdso(AddressSpace& space);

}  // namespace nimbus::linux
