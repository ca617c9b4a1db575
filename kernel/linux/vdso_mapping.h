// Maps the vDSO (and the clock data page below it) into the application.
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"
#include "kernel/mm/address_space.h"

namespace nimbus::linux {

// Returns the address of the vDSO's ELF header, for AT_SYSINFO_EHDR.
Result<uintptr_t> map_vdso(AddressSpace& space);

// Where the vDSO mapped at `vdso_base` (map_vdso's result; each process has its own, since
// the layout is randomized) has the exported function `name` (0 if none or no vDSO): the
// legacy vsyscall entries run these.
uintptr_t vdso_function(uintptr_t vdso_base, const char* name);

}  // namespace nimbus::linux
