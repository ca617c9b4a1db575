// Runs the program packed in the initrd: the root file system from the archive, /proc,
// /sys and /dev, the standard streams on descriptors 0-2 (standard_streams.h), then the ELF named by .nimbus/exe with
// .nimbus/argv, .nimbus/env and .nimbus/workdir (see docs/image-format.md).
#pragma once

#include <cstddef>
#include <span>

#include "kernel/boot/boot_options.h"

namespace nimbus::linux {

// Returns only on failure, with the VM exit status; the program ends the VM itself.
// `stream_kinds` says which of the host's streams are terminals.
int boot_program(std::span<const std::byte> initrd, const HostStreamKinds& stream_kinds);

}  // namespace nimbus::linux
