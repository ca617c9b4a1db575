// What the AF_UNIX code takes from the process it serves: the file context (paths and the
// descriptor table, for bind/connect and SCM_RIGHTS), the caller's credentials and the
// monotonic clock. The kernel defines these in kernel/linux/unix_host.cc; host unit tests
// define their own.
#pragma once

#include <cstdint>

#include "kernel/fs/fs_context.h"

namespace nimbus::net {

// pid, uid and gid as SCM_CREDENTIALS and SO_PEERCRED carry them (struct ucred).
struct UnixCredentials {
  int32_t pid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

fs::FsContext& unix_file_context();
UnixCredentials unix_current_credentials();
uint64_t unix_now_ns();

}  // namespace nimbus::net
