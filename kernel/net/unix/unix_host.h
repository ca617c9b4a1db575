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
// Whether a process `pid` exists (running or a zombie not yet reaped): SCM_CREDENTIALS may
// only name one (Linux's __scm_send: ESRCH otherwise).
bool unix_pid_exists(int32_t pid);
// Linux's scm_check_creds: whether the caller may claim these credentials (its own pid, or
// CAP_SYS_ADMIN; its own uid and gid, or CAP_SETUID / CAP_SETGID).
bool unix_may_claim_credentials(const UnixCredentials& claimed);
uint64_t unix_now_ns();

}  // namespace nimbus::net
