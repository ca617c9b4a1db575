// The initrd: unpacking an uncompressed cpio "newc" archive into a ramfs.
#pragma once

#include <cstddef>
#include <span>

#include "kernel/fs/ramfs.h"
#include "kernel/lib/result.h"

namespace nimbus::fs {

// Where and why an archive was refused.
struct CpioError {
  size_t offset = 0;             // of the entry's header (or of the problem, for the header)
  const char* reason = nullptr;  // a short static string, e.g. "truncated data"
};

// Unpacks `archive` (magic "070701", or "070702" whose checksums are not checked) into `fs`:
// directories, regular files, symlinks, device nodes and fifos, with their permission
// bits, owners and modification times; missing parent directories are created (0755), an
// existing entry of the same name is replaced, "." describes the root itself, hard links
// (same inode number, nlink > 1) become one file, and "TRAILER!!!" ends an archive (another
// may follow, after zero padding, as Linux accepts). Regular files borrow their bytes from
// `archive`, which must therefore stay mapped and unchanged for as long as the files live.
//
// Malformed input (bad magic, a non-hex field, a truncated header, name or data, a name
// without its NUL, a path with "..", absurd sizes, a missing trailer) is Errno::einval with
// `*error` (if given) saying where and why; nothing is ever read outside `archive`. What was
// unpacked before the problem stays.
Result<> unpack_cpio(RamFs& fs, std::span<const std::byte> archive, CpioError* error = nullptr);

}  // namespace nimbus::fs
