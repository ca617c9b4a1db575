// A file's pages for mmap and the ELF loader: a MappedFile reading through the vnode.
#pragma once

#include "kernel/fs/vnode.h"
#include "kernel/lib/result.h"
#include "kernel/mm/address_space.h"

namespace nimbus::linux {

// A new MappedFile holding a reference to `vnode` (and a copy of `path` for /proc/self/maps);
// the caller owns the first reference (release() when done). `writable`: the file was opened
// for writing, so shared mappings of it may be writable.
Result<MappedFile*> map_vnode(RefPtr<fs::Vnode> vnode, std::string_view path, bool writable = false);

}  // namespace nimbus::linux
