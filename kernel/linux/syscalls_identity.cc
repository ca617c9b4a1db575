// User and group identity: the program starts as root (uid and gid 0, no supplementary
// groups), and may change its ids by Linux's rules (root may take any; others only swap
// among their real, effective and saved ids). Nimbus records the ids and reports them; the
// in-memory file system does not check permissions against them.
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::linux {
namespace {

constexpr uint32_t kUnchanged = ~0u;  // -1 in setres*id: leave this id as it is

struct Ids {
  uint32_t real = 0, effective = 0, saved = 0;
};

Spinlock g_lock;  // guards the two below (ids are per process, as threads share them here)
Ids g_users;
Ids g_groups;

bool privileged() { return g_users.effective == 0; }

bool is_one_of(uint32_t id, const Ids& ids) { return id == ids.real || id == ids.effective || id == ids.saved; }

// setuid/setgid: root sets all three; anyone else only the effective id, to the real or saved one.
Result<long> set_id(Ids& ids, uint32_t id) {
  SpinlockGuard guard(g_lock);
  if (privileged()) {
    ids = Ids{id, id, id};
  } else if (id == ids.real || id == ids.saved) {
    ids.effective = id;
  } else {
    return error(Errno::eperm);
  }
  return 0;
}

// setresuid/setresgid: each id that changes must be one of the current three, unless root.
Result<long> set_ids(Ids& ids, uint32_t real, uint32_t effective, uint32_t saved) {
  SpinlockGuard guard(g_lock);
  if (!privileged()) {
    for (uint32_t id : {real, effective, saved})
      if (id != kUnchanged && !is_one_of(id, ids)) return error(Errno::eperm);
  }
  if (real != kUnchanged) ids.real = real;
  if (effective != kUnchanged) ids.effective = effective;
  if (saved != kUnchanged) ids.saved = saved;
  return 0;
}

Result<long> get_ids(const Ids& ids, uint32_t* real, uint32_t* effective, uint32_t* saved) {
  Ids copy;
  {
    SpinlockGuard guard(g_lock);
    copy = ids;
  }
  TRY(user::write(real, copy.real));
  TRY(user::write(effective, copy.effective));
  TRY(user::write(saved, copy.saved));
  return 0;
}

uint32_t read_id(const uint32_t Ids::*field, const Ids& ids) {
  SpinlockGuard guard(g_lock);
  return ids.*field;
}

}  // namespace

Result<long> sys_getuid() { return read_id(&Ids::real, g_users); }
Result<long> sys_geteuid() { return read_id(&Ids::effective, g_users); }
Result<long> sys_getgid() { return read_id(&Ids::real, g_groups); }
Result<long> sys_getegid() { return read_id(&Ids::effective, g_groups); }
Result<long> sys_setuid(uint32_t uid) { return set_id(g_users, uid); }
Result<long> sys_setgid(uint32_t gid) { return set_id(g_groups, gid); }
Result<long> sys_setresuid(uint32_t real, uint32_t effective, uint32_t saved) {
  return set_ids(g_users, real, effective, saved);
}
Result<long> sys_setresgid(uint32_t real, uint32_t effective, uint32_t saved) {
  return set_ids(g_groups, real, effective, saved);
}
Result<long> sys_getresuid(uint32_t* real, uint32_t* effective, uint32_t* saved) {
  return get_ids(g_users, real, effective, saved);
}
Result<long> sys_getresgid(uint32_t* real, uint32_t* effective, uint32_t* saved) {
  return get_ids(g_groups, real, effective, saved);
}

// No supplementary groups: getgroups reports none; setgroups (root only) accepts an empty list.
Result<long> sys_getgroups(int size, uint32_t* list) {
  (void)list;
  if (size < 0) return error(Errno::einval);
  return 0;
}
Result<long> sys_setgroups(size_t size, const uint32_t* list) {
  (void)list;
  SpinlockGuard guard(g_lock);
  if (!privileged()) return error(Errno::eperm);
  if (size != 0) return error(Errno::einval);
  return 0;
}

}  // namespace nimbus::linux
