// The guest memory an image needs: its initrd stays in RAM (the kernel uses its bytes in
// place), so --memory must hold it, the kernel's records of its files, and the program. With a
// root disk (version 2 images) the initrd is only /etc and /tmp and the files are read on demand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli_error.h"

struct InitrdSize {
  std::uint64_t bytes = 0;
  std::uint64_t entries = 0;  // files, directories and symlinks in the cpio archive
  // The image's root file system is on a disk (read on demand): only the archive (its /etc)
  // and the kernel's caches of the disk must fit in RAM.
  bool root_on_disk = false;
};

// The size of an initrd and, when it is a newc cpio archive, its entry count (read from the
// headers, skipping the contents). A file that cannot be read is an error (kCliFailure).
CliResult<InitrdSize> measure_initrd(const std::string& path);

// Below this the kernel cannot unpack the archive: QEMU refuses an initrd that does not fit in
// RAM, and each entry costs the kernel about half a KiB. Measured: 101 MiB for a 97.5 MiB
// archive of 22 entries, 124 MiB for 118 MiB in 4922 entries. A disk root adds the disk's
// block cache and the kernel's records of the files the program opens.
std::uint64_t minimum_memory_mib(const InitrdSize& initrd);

// What a run gets without --memory: 128 MiB, or the archive plus 96 MiB for the program when
// that is more (rounded up to 32 MiB).
std::uint64_t default_memory_mib(const InitrdSize& initrd);

// The memory for a run: `requested` (from --memory) when it holds the archive, else a usage
// error "needs at least N MiB; use --memory"; without a request, the default.
CliResult<std::uint64_t> fit_memory(const InitrdSize& initrd,
                                    std::optional<std::uint64_t> requested);
