// The kernel's fs::BufferPinner: the calling process's buffer pinned in its address space, for
// ext4's direct I/O straight into or out of the program's pages.
#pragma once

#include "kernel/fs/buffer_pinning.h"

namespace nimbus::linux {

fs::BufferPinner& program_buffer_pinner();

}  // namespace nimbus::linux
