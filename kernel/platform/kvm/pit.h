// The 8254 PIT, used only to calibrate the TSC when nothing better tells its rate.
#pragma once

#include <cstdint>

namespace nimbus::pit {

uint64_t calibrate_tsc_khz();

}  // namespace nimbus::pit
