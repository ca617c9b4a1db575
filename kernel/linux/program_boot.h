// Runs the program packed in the initrd: the root file system from the archive, /proc,
// /sys and /dev, the standard streams on descriptors 0-2 (standard_streams.h), then the ELF named by .nimbus/exe with
// .nimbus/argv, .nimbus/env and .nimbus/workdir (see docs/image-format.md).
#pragma once

#include <cstddef>
#include <span>

#include "kernel/boot/boot_options.h"
#include "kernel/lib/result.h"
#include "kernel/fs/file.h"
#include "kernel/linux/synthetic_fs.h"
#include "kernel/mm/address_space.h"

namespace nimbus::linux {

// Opens `path` (from the caller's cwd) as an executable's or interpreter's MappedFile, with
// its size: EACCES if it is not a regular file.
Result<MappedFile*> open_mapped(const char* path, uint64_t* size);

// The path an open file has (as Linux's d_path): a directory's own, or the directory it was
// opened in and its name there; false when it has none.
bool file_path(const fs::File& file, TextBuffer& out);

// Returns only on failure, with the VM exit status; the program ends the VM itself.
// `stream_kinds` says which of the host's streams are terminals.
int boot_program(std::span<const std::byte> initrd, const HostStreamKinds& stream_kinds);

}  // namespace nimbus::linux
