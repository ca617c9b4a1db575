// What the AF_UNIX code takes from the Linux process (kernel/net/unix/unix_host.h): its
// file context, its credentials and the monotonic clock.
#include "kernel/net/unix/unix_host.h"

#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/process.h"
#include "kernel/linux/syscalls.h"
#include "kernel/time/clock.h"

namespace nimbus::net {

fs::FsContext& unix_file_context() { return linux::file_context(); }

UnixCredentials unix_current_credentials() {
  auto uid = linux::sys_geteuid();
  auto gid = linux::sys_getegid();
  return {static_cast<int32_t>(linux::current_process().pid), static_cast<uint32_t>(uid ? *uid : 0), static_cast<uint32_t>(gid ? *gid : 0)};
}

uint64_t unix_now_ns() { return clock::monotonic_ns(); }

}  // namespace nimbus::net
