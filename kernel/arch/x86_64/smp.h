// Starting the application processors listed in the MADT (INIT-SIPI-SIPI).
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus::smp {

// Starts every CPU in `apic_ids` except this one, one at a time; returns how many started.
size_t start_application_processors(const uint32_t* apic_ids, size_t count);

}  // namespace nimbus::smp
