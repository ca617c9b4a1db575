// Runs the program packed in the initrd: the root file system from the archive, /proc,
// /sys and /dev, the console on descriptors 0-2, then the ELF named by .nimbus/exe with
// .nimbus/argv, .nimbus/env and .nimbus/workdir (see docs/image-format.md).
#pragma once

#include <cstddef>
#include <span>

namespace nimbus::linux {

// Returns only on failure, with the VM exit status; the program ends the VM itself.
int boot_program(std::span<const std::byte> initrd);

}  // namespace nimbus::linux
