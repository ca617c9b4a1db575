// A process's credentials (Linux's struct cred): user and group ids (real, effective, saved,
// file system), supplementary groups and capabilities. Shared by the process's threads (glibc
// makes set*id calls apply to every thread anyway), copied by fork, kept by execve.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/sync/spinlock.h"

namespace nimbus::linux {

struct Process;

// CAP_CHOWN ... CAP_CHECKPOINT_RESTORE: 41 capabilities.
constexpr uint64_t kAllCapabilities = (1ull << 41) - 1;
// Linux allows 65536 supplementary groups (NGROUPS_MAX); daemons dropping privileges set a few.
constexpr size_t kMaxSupplementaryGroups = 64;

struct Credentials {
  uint32_t uid = 0, euid = 0, suid = 0, fsuid = 0;
  uint32_t gid = 0, egid = 0, sgid = 0, fsgid = 0;
  uint64_t effective_capabilities = kAllCapabilities;
  uint64_t permitted_capabilities = kAllCapabilities;
  uint64_t inheritable_capabilities = 0;
  bool keep_capabilities = false;  // prctl(PR_SET_KEEPCAPS)
  uint32_t group_count = 0;
  uint32_t groups[kMaxSupplementaryGroups] = {};
};

// Guards every process's credentials. A leaf lock: taken after the tree and thread-list locks.
Spinlock& credentials_lock();
// A copy of the calling process's credentials.
Credentials current_credentials();
// Whether the calling process may send `signal` to `target` (Linux's check_kill_permission):
// a process of the same session may always send SIGCONT; otherwise the sender's real or
// effective uid must be the target's real or saved uid, or the sender holds CAP_KILL. Under
// the tree lock.
bool may_send_signal_locked(Process& target, int signal);
// Whether the calling process may trace `target` (Linux's ptrace_may_access): the same real,
// effective and saved uids and gids, or CAP_SYS_PTRACE. Under the tree lock.
bool may_trace_locked(Process& target);
// prctl(PR_GET_KEEPCAPS) and PR_SET_KEEPCAPS.
bool keeps_capabilities();
void set_keep_capabilities(bool keep);
// execve's change (Linux's cap_bprm_creds_from_file for a file without capabilities):
// set-user-ID and set-group-ID files (`mode`, owner `uid`, `gid`) give their owner's ids;
// root keeps every capability, anyone else has none; PR_SET_KEEPCAPS ends.
void apply_exec_credentials(uint32_t mode, uint32_t uid, uint32_t gid);

}  // namespace nimbus::linux
