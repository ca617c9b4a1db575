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

bool unix_pid_exists(int32_t pid) {
  if (pid <= 0) return false;
  SpinlockGuard guard(linux::process_tree_lock());
  return linux::find_process_locked(static_cast<uint32_t>(pid)) != nullptr;
}

bool unix_may_claim_credentials(const UnixCredentials& claimed) {
  constexpr int kCapSetgid = 6, kCapSetuid = 7, kCapSysAdmin = 21;
  auto uid = linux::sys_getuid(), euid = linux::sys_geteuid();
  auto gid = linux::sys_getgid(), egid = linux::sys_getegid();
  bool own_pid = claimed.pid == static_cast<int32_t>(linux::current_process().pid);
  bool own_uid = (uid && claimed.uid == uint32_t(*uid)) || (euid && claimed.uid == uint32_t(*euid));
  bool own_gid = (gid && claimed.gid == uint32_t(*gid)) || (egid && claimed.gid == uint32_t(*egid));
  return (own_pid || linux::has_capability(kCapSysAdmin)) && (own_uid || linux::has_capability(kCapSetuid)) &&
         (own_gid || linux::has_capability(kCapSetgid));
}

uint64_t unix_now_ns() { return clock::monotonic_ns(); }

}  // namespace nimbus::net
