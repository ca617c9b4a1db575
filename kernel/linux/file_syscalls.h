// The process's file state (root, cwd, umask, descriptors) that the file syscalls use.
#pragma once

#include "kernel/fs/fs_context.h"

namespace nimbus::linux {

fs::FsContext& file_context();

}  // namespace nimbus::linux
