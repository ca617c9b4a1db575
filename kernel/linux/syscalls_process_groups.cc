// The process tree as programs see it: getppid, process groups (setpgid, getpgid, getpgrp)
// and sessions (setsid, getsid).
#include "kernel/linux/process.h"
#include "kernel/linux/syscalls.h"

namespace nimbus::linux {
namespace {

// The process `pid` (0: the caller); the tree lock is held.
Result<Process*> lookup_locked(int pid) {
  if (pid < 0) return error(Errno::esrch);
  if (pid == 0) return &current_process();
  Process* process = find_process_locked(static_cast<uint32_t>(pid));
  if (!process) return error(Errno::esrch);
  return process;
}

}  // namespace

Result<long> sys_getppid() {
  SpinlockGuard guard(process_tree_lock());
  Process* parent = current_process().parent;
  return parent ? parent->pid : 0;
}

Result<long> sys_getpgid(int pid) {
  SpinlockGuard guard(process_tree_lock());
  return TRY(lookup_locked(pid))->pgid;
}

Result<long> sys_getpgrp() { return sys_getpgid(0); }

Result<long> sys_getsid(int pid) {
  SpinlockGuard guard(process_tree_lock());
  return TRY(lookup_locked(pid))->sid;
}

Result<long> sys_setpgid(int pid, int pgid) {
  if (pgid < 0) return error(Errno::einval);
  Process& self = current_process();
  SpinlockGuard guard(process_tree_lock());
  Process* target = TRY(lookup_locked(pid));
  // Only the caller or one of its children (kernel/sys.c's order of checks).
  if (target != &self) {
    if (target->parent != &self) return error(Errno::esrch);
    if (target->sid != self.sid) return error(Errno::eperm);
    if (target->has_execed) return error(Errno::eacces);
  }
  if (target->sid == target->pid) return error(Errno::eperm);  // a session leader
  uint32_t group = pgid ? static_cast<uint32_t>(pgid) : target->pid;
  if (group != target->pid) {
    // Joining a group: it must exist in the same session.
    if (!group_exists_locked(group, self.sid)) return error(Errno::eperm);
  }
  target->pgid = group;
  return 0;
}

Result<long> sys_setsid() {
  Process& self = current_process();
  SpinlockGuard guard(process_tree_lock());
  // A group leader cannot, nor can any process while another's group has its number.
  if (self.pgid == self.pid || group_exists_locked(self.pid, 0)) return error(Errno::eperm);
  self.sid = self.pgid = self.pid;
  return self.sid;
}

}  // namespace nimbus::linux
