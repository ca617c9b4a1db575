// Maps the vDSO (and the clock data page below it) into the application.
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"
#include "kernel/mm/address_space.h"

namespace nimbus::linux {

// Returns the address of the vDSO's ELF header, for AT_SYSINFO_EHDR.
Result<uintptr_t> map_vdso(AddressSpace& space);

// Where the vDSO last mapped by map_vdso() has the exported function `name` (0 if none):
// the legacy vsyscall entries run these.
uintptr_t vdso_function(const char* name);

}  // namespace nimbus::linux
