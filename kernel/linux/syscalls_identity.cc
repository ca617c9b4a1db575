// User and group identity: each process starts as its parent's (PID 1 as root: uid and gid 0,
// every capability, no supplementary groups) and changes its ids by Linux's rules: with
// CAP_SETUID (CAP_SETGID) any id, otherwise only among its real, effective and saved ids;
// leaving uid 0 drops capabilities as Linux's cap_emulate_setxuid does. kill checks the ids;
// the file systems do not check permissions against them.
#include "kernel/linux/credentials.h"
#include "kernel/linux/process.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::linux {
namespace {

constexpr uint32_t kUnchanged = ~0u;  // -1 in setres*id: leave this id as it is
constexpr int kCapKill = 5, kCapSetgid = 6, kCapSetuid = 7, kCapSetpcap = 8;
// The capabilities that a file system uid of 0 brings (Linux's CAP_FS_MASK): CHOWN,
// DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID, LINUX_IMMUTABLE, MKNOD, MAC_OVERRIDE.
constexpr uint64_t kFsCapabilities = 0x1f | (1ull << 9) | (1ull << 27) | (1ull << 32);

Spinlock g_lock;  // every process's credentials

Credentials& own() { return current_process().credentials; }
bool capable(const Credentials& c, int capability) { return c.effective_capabilities & (1ull << capability); }

// The ids of one kind: users (uid...) or groups (gid...), as the set*id calls share their rules.
struct IdFields {
  uint32_t Credentials::*real;
  uint32_t Credentials::*effective;
  uint32_t Credentials::*saved;
  uint32_t Credentials::*fs;
  int capability;  // CAP_SETUID or CAP_SETGID
};
constexpr IdFields kUsers{&Credentials::uid, &Credentials::euid, &Credentials::suid, &Credentials::fsuid, kCapSetuid};
constexpr IdFields kGroups{&Credentials::gid, &Credentials::egid, &Credentials::sgid, &Credentials::fsgid, kCapSetgid};

// A fs uid leaving 0 drops the file system capabilities from the effective set; returning to
// 0 brings back the permitted ones (Linux's cap_task_fix_setuid, LSM_SETID_FS).
void fix_fs_capabilities(Credentials& c, uint32_t old_fsuid) {
  if (old_fsuid == 0 && c.fsuid != 0) c.effective_capabilities &= ~kFsCapabilities;
  if (old_fsuid != 0 && c.fsuid == 0) c.effective_capabilities |= c.permitted_capabilities & kFsCapabilities;
}

// After a change of user ids (Linux's cap_emulate_setxuid): leaving root for good drops every
// capability unless PR_SET_KEEPCAPS; an effective uid leaving 0 drops the effective set, and
// returning to 0 raises it to the permitted one.
void fix_capabilities(const Credentials& old, Credentials& c) {
  if ((old.uid == 0 || old.euid == 0 || old.suid == 0) && c.uid != 0 && c.euid != 0 && c.suid != 0 &&
      !c.keep_capabilities) {
    c.permitted_capabilities = 0;
    c.effective_capabilities = 0;
  }
  if (old.euid == 0 && c.euid != 0) c.effective_capabilities = 0;
  if (old.euid != 0 && c.euid == 0) c.effective_capabilities = c.permitted_capabilities;
  fix_fs_capabilities(c, old.fsuid);
}

// Applies a change made on a copy, fixing capabilities for user ids.
void commit(const IdFields& f, const Credentials& old, Credentials& c) {
  if (f.capability == kCapSetuid) fix_capabilities(old, c);
  own() = c;
}

// setuid/setgid: with the capability all four ids; otherwise the effective (and fs) id, to
// the real or saved one.
Result<long> set_id(const IdFields& f, uint32_t id) {
  if (id == kUnchanged) return error(Errno::einval);
  SpinlockGuard guard(g_lock);
  Credentials old = own(), c = old;
  if (capable(old, f.capability)) {
    c.*f.real = c.*f.saved = id;
  } else if (id != old.*f.real && id != old.*f.saved) {
    return error(Errno::eperm);
  }
  c.*f.effective = c.*f.fs = id;
  commit(f, old, c);
  return 0;
}

// setreuid/setregid: the real id may become the real or effective one, the effective id any
// of the three; the saved id follows the effective one when the real id is set, or the
// effective one becomes other than the old real one.
Result<long> set_real_effective(const IdFields& f, uint32_t real, uint32_t effective) {
  SpinlockGuard guard(g_lock);
  Credentials old = own(), c = old;
  bool privileged = capable(old, f.capability);
  if (real != kUnchanged) {
    if (!privileged && real != old.*f.real && real != old.*f.effective) return error(Errno::eperm);
    c.*f.real = real;
  }
  if (effective != kUnchanged) {
    if (!privileged && effective != old.*f.real && effective != old.*f.effective && effective != old.*f.saved)
      return error(Errno::eperm);
    c.*f.effective = effective;
  }
  if (real != kUnchanged || (effective != kUnchanged && effective != old.*f.real)) c.*f.saved = c.*f.effective;
  c.*f.fs = c.*f.effective;
  commit(f, old, c);
  return 0;
}

// setresuid/setresgid: each id that changes must be one of the current three, unless privileged.
Result<long> set_ids(const IdFields& f, uint32_t real, uint32_t effective, uint32_t saved) {
  SpinlockGuard guard(g_lock);
  Credentials old = own(), c = old;
  if (!capable(old, f.capability)) {
    for (uint32_t id : {real, effective, saved})
      if (id != kUnchanged && id != old.*f.real && id != old.*f.effective && id != old.*f.saved)
        return error(Errno::eperm);
  }
  if (real != kUnchanged) c.*f.real = real;
  if (effective != kUnchanged) c.*f.effective = effective;
  if (saved != kUnchanged) c.*f.saved = saved;
  c.*f.fs = c.*f.effective;
  commit(f, old, c);
  return 0;
}

// setfsuid/setfsgid: returns the old fs id whatever happens; sets it to one of the four ids,
// or to any with the capability.
long set_fs_id(const IdFields& f, uint32_t id) {
  SpinlockGuard guard(g_lock);
  Credentials old = own(), c = old;
  uint32_t previous = old.*f.fs;
  if (id == kUnchanged) return previous;
  if (capable(old, f.capability) || id == old.*f.real || id == old.*f.effective || id == old.*f.saved ||
      id == old.*f.fs) {
    c.*f.fs = id;
    if (f.capability == kCapSetuid) fix_fs_capabilities(c, old.fsuid);
    own() = c;
  }
  return previous;
}

Result<long> get_ids(const IdFields& f, uint32_t* real, uint32_t* effective, uint32_t* saved) {
  Credentials c = current_credentials();
  TRY(user::write(real, c.*f.real));
  TRY(user::write(effective, c.*f.effective));
  TRY(user::write(saved, c.*f.saved));
  return 0;
}

}  // namespace

Spinlock& credentials_lock() { return g_lock; }

Credentials current_credentials() {
  SpinlockGuard guard(g_lock);
  return own();
}

bool may_send_signal_locked(Process& target, int signal) {
  Process& self = current_process();
  if (&target == &self) return true;
  if (signal == kSigcont && target.sid == self.sid) return true;
  SpinlockGuard guard(g_lock);
  const Credentials& sender = self.credentials;
  const Credentials& receiver = target.credentials;
  return sender.euid == receiver.suid || sender.euid == receiver.uid || sender.uid == receiver.suid ||
         sender.uid == receiver.uid || capable(sender, kCapKill);
}

bool may_trace_locked(Process& target) {
  constexpr int kCapSysPtrace = 19;
  SpinlockGuard guard(g_lock);
  const Credentials& c = current_process().credentials;
  const Credentials& t = target.credentials;
  bool same = c.uid == t.uid && c.uid == t.euid && c.uid == t.suid && c.gid == t.gid && c.gid == t.egid &&
              c.gid == t.sgid;
  return same || capable(c, kCapSysPtrace);
}

bool keeps_capabilities() { return current_credentials().keep_capabilities; }

void set_keep_capabilities(bool keep) {
  SpinlockGuard guard(g_lock);
  own().keep_capabilities = keep;
}

void apply_exec_credentials(uint32_t mode, uint32_t uid, uint32_t gid) {
  constexpr uint32_t kSetUid = 04000, kSetGid = 02000, kGroupExecute = 010;
  SpinlockGuard guard(g_lock);
  Credentials& c = own();
  if (mode & kSetUid) c.euid = uid;
  // Set-group-ID without group execute is mandatory locking's mark, not a set-group-ID program.
  if ((mode & kSetGid) && (mode & kGroupExecute)) c.egid = gid;
  c.suid = c.fsuid = c.euid;
  c.sgid = c.fsgid = c.egid;
  // Root's programs get every capability of the bounding set (all), effective if the
  // effective uid is 0; anyone else's get none (no file capabilities, no ambient set).
  if (c.uid == 0 || c.euid == 0) {
    c.permitted_capabilities = kAllCapabilities;
    c.effective_capabilities = c.euid == 0 ? kAllCapabilities : 0;
  } else {
    c.permitted_capabilities = 0;
    c.effective_capabilities = 0;
  }
  c.keep_capabilities = false;
}

Result<long> sys_getuid() { return current_credentials().uid; }
Result<long> sys_geteuid() { return current_credentials().euid; }
Result<long> sys_getgid() { return current_credentials().gid; }
Result<long> sys_getegid() { return current_credentials().egid; }
Result<long> sys_setuid(uint32_t uid) { return set_id(kUsers, uid); }
Result<long> sys_setgid(uint32_t gid) { return set_id(kGroups, gid); }
Result<long> sys_setreuid(uint32_t real, uint32_t effective) { return set_real_effective(kUsers, real, effective); }
Result<long> sys_setregid(uint32_t real, uint32_t effective) { return set_real_effective(kGroups, real, effective); }
Result<long> sys_setresuid(uint32_t real, uint32_t effective, uint32_t saved) {
  return set_ids(kUsers, real, effective, saved);
}
Result<long> sys_setresgid(uint32_t real, uint32_t effective, uint32_t saved) {
  return set_ids(kGroups, real, effective, saved);
}
Result<long> sys_getresuid(uint32_t* real, uint32_t* effective, uint32_t* saved) {
  return get_ids(kUsers, real, effective, saved);
}
Result<long> sys_getresgid(uint32_t* real, uint32_t* effective, uint32_t* saved) {
  return get_ids(kGroups, real, effective, saved);
}
Result<long> sys_setfsuid(uint32_t uid) { return set_fs_id(kUsers, uid); }
Result<long> sys_setfsgid(uint32_t gid) { return set_fs_id(kGroups, gid); }

namespace {

// Capabilities: PID 1 is root with every one, as root in a container that grants them all.
// capset may drop them, and leaving uid 0 drops them (above); kill, setuid and setgid,
// setgroups and SCM_CREDENTIALS check them.
constexpr uint32_t kCapabilityVersion1 = 0x19980330;  // one 32-bit word per set
constexpr uint32_t kCapabilityVersion2 = 0x20071026;  // two words, deprecated
constexpr uint32_t kCapabilityVersion3 = 0x20080522;  // two words

struct CapabilityHeader {
  uint32_t version;
  int32_t pid;
};
struct CapabilityData {
  uint32_t effective, permitted, inheritable;
};

// Linux's cap_validate_magic: an unknown version is EINVAL, and the header learns the one the
// kernel prefers. The number of 32-bit words per set otherwise.
Result<size_t> capability_words(CapabilityHeader* user_header, CapabilityHeader& header) {
  header = TRY(user::read(user_header));
  switch (header.version) {
    case kCapabilityVersion1: return size_t{1};
    case kCapabilityVersion2:
    case kCapabilityVersion3: return size_t{2};
    default:
      TRY(user::write(&user_header->version, kCapabilityVersion3));
      return error(Errno::einval);
  }
}

}  // namespace

Result<long> sys_capget(void* header_pointer, void* data_pointer) {
  auto* user_header = static_cast<CapabilityHeader*>(header_pointer);
  CapabilityHeader header;
  auto checked = capability_words(user_header, header);
  // Without a data pointer, a call only asks which version the kernel wants: not an error.
  if (!checked) return !data_pointer && checked.error() == Errno::einval ? Result<long>(0) : error(checked.error());
  size_t words = *checked;
  if (header.pid < 0) return error(Errno::einval);
  Credentials c;
  if (header.pid == 0) {
    c = current_credentials();
  } else {
    SpinlockGuard tree(process_tree_lock());
    Process* target = find_process_locked(static_cast<uint32_t>(header.pid));
    if (!target) return error(Errno::esrch);
    SpinlockGuard guard(g_lock);
    c = target->credentials;
  }
  if (!data_pointer) return 0;
  CapabilityData data[2];
  for (size_t i = 0; i < 2; i++) {
    data[i] = {static_cast<uint32_t>(c.effective_capabilities >> (32 * i)),
               static_cast<uint32_t>(c.permitted_capabilities >> (32 * i)),
               static_cast<uint32_t>(c.inheritable_capabilities >> (32 * i))};
  }
  TRY(user::copy_to(data_pointer, data, words * sizeof(CapabilityData)));
  return 0;
}

bool has_capability(int capability) {
  if (capability < 0 || capability >= 41) return false;
  return capable(current_credentials(), capability);
}

Result<long> sys_capset(void* header_pointer, const void* data_pointer) {
  auto* user_header = static_cast<CapabilityHeader*>(header_pointer);
  CapabilityHeader header;
  size_t words = TRY(capability_words(user_header, header));
  // Linux lets a process set only its own capabilities.
  if (header.pid != 0 && header.pid != static_cast<int32_t>(current_process().pid)) return error(Errno::eperm);
  CapabilityData data[2] = {};
  TRY(user::copy_from(data, data_pointer, words * sizeof(CapabilityData)));
  uint64_t effective = (data[0].effective | uint64_t{data[1].effective} << 32) & kAllCapabilities;
  uint64_t permitted = (data[0].permitted | uint64_t{data[1].permitted} << 32) & kAllCapabilities;
  uint64_t inheritable = (data[0].inheritable | uint64_t{data[1].inheritable} << 32) & kAllCapabilities;
  SpinlockGuard guard(g_lock);
  Credentials& c = own();
  // Linux's cap_capset: the permitted set may only shrink and bounds the effective one;
  // inheritable ones come from the old inheritable or permitted set (with CAP_SETPCAP, from
  // the bounding set: all of them).
  uint64_t inheritable_source =
      capable(c, kCapSetpcap) ? kAllCapabilities : c.inheritable_capabilities | c.permitted_capabilities;
  if ((permitted & ~c.permitted_capabilities) || (effective & ~permitted) || (inheritable & ~inheritable_source))
    return error(Errno::eperm);
  c.effective_capabilities = effective;
  c.permitted_capabilities = permitted;
  c.inheritable_capabilities = inheritable;
  return 0;
}

// The lists are copied through the kernel's stack: the program's memory may fault, which
// must not happen under the spinlock.
Result<long> sys_getgroups(int size, uint32_t* list) {
  if (size < 0) return error(Errno::einval);
  Credentials c = current_credentials();
  if (size == 0) return static_cast<long>(c.group_count);
  if (static_cast<size_t>(size) < c.group_count) return error(Errno::einval);
  TRY(user::copy_to(list, c.groups, c.group_count * sizeof(uint32_t)));
  return static_cast<long>(c.group_count);
}

Result<long> sys_setgroups(size_t size, const uint32_t* list) {
  if (size > 65536) return error(Errno::einval);
  if (size > kMaxSupplementaryGroups) return error(Errno::enomem);  // more than Nimbus keeps
  uint32_t groups[kMaxSupplementaryGroups];
  if (size) TRY(user::copy_from(groups, list, size * sizeof(uint32_t)));
  SpinlockGuard guard(g_lock);
  Credentials& c = own();
  if (!capable(c, kCapSetgid)) return error(Errno::eperm);
  for (size_t i = 0; i < size; i++) c.groups[i] = groups[i];
  c.group_count = static_cast<uint32_t>(size);
  return 0;
}

}  // namespace nimbus::linux
