// The VM exit statuses the kernel itself reports (an application's own status passes through).
#pragma once

#include <cstdint>

namespace nimbus {

enum class ExitStatus : uint8_t {
  success = 0,
  test_failed = 1,
  bad_executable = 126,    // the program could not be loaded (as a shell reports it)
  panic = 250,             // CPU exception in the kernel, failed assertion
  out_of_memory = 251,
  bad_command_line = 252,
};

}  // namespace nimbus
