// User and group identity: the program starts as root (uid and gid 0, no supplementary
// groups; setgroups may set up to kMaxGroups), and may change its ids by Linux's rules (root may take any; others only swap
// among their real, effective and saved ids). Nimbus records the ids and reports them; the
// in-memory file system does not check permissions against them.
#include "kernel/linux/process.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::linux {
namespace {

constexpr uint32_t kUnchanged = ~0u;  // -1 in setres*id: leave this id as it is

struct Ids {
  uint32_t real = 0, effective = 0, saved = 0;
};

// Linux allows 65536 (NGROUPS_MAX); daemons dropping privileges set one or a few.
constexpr size_t kMaxGroups = 64;

Spinlock g_lock;  // guards everything below (ids are per process, as threads share them here)
Ids g_users;
Ids g_groups;
uint32_t g_supplementary[kMaxGroups];
size_t g_supplementary_count = 0;

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

namespace {

// Capabilities: root with every one (CAP_CHOWN ... CAP_CHECKPOINT_RESTORE, 41 bits), as root in
// a container that grants them all. capset may drop them; only SCM_CREDENTIALS checks them
// (has_capability).
constexpr uint64_t kAllCapabilities = (1ull << 41) - 1;
constexpr uint32_t kCapabilityVersion1 = 0x19980330;  // one 32-bit word per set
constexpr uint32_t kCapabilityVersion2 = 0x20071026;  // two words, deprecated
constexpr uint32_t kCapabilityVersion3 = 0x20080522;  // two words

struct CapabilitySets {
  uint64_t effective = kAllCapabilities, permitted = kAllCapabilities, inheritable = 0;
};
CapabilitySets g_capabilities;  // under g_lock

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

// Whether `pid` names a process (capget and capset may name any; 0 is the caller).
bool names_a_process(int32_t pid) {
  if (pid == 0) return true;
  SpinlockGuard guard(process_tree_lock());
  return find_process_locked(static_cast<uint32_t>(pid)) != nullptr;
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
  if (!names_a_process(header.pid)) return error(Errno::esrch);
  if (!data_pointer) return 0;
  CapabilitySets sets;
  {
    SpinlockGuard guard(g_lock);
    sets = g_capabilities;
  }
  CapabilityData data[2];
  for (size_t i = 0; i < 2; i++) {
    data[i] = {static_cast<uint32_t>(sets.effective >> (32 * i)), static_cast<uint32_t>(sets.permitted >> (32 * i)),
               static_cast<uint32_t>(sets.inheritable >> (32 * i))};
  }
  TRY(user::copy_to(data_pointer, data, words * sizeof(CapabilityData)));
  return 0;
}

bool has_capability(int capability) {
  if (capability < 0 || capability >= 41) return false;
  SpinlockGuard guard(g_lock);
  return g_capabilities.effective & (1ull << capability);
}

Result<long> sys_capset(void* header_pointer, const void* data_pointer) {
  auto* user_header = static_cast<CapabilityHeader*>(header_pointer);
  CapabilityHeader header;
  size_t words = TRY(capability_words(user_header, header));
  // Linux lets a process set only its own capabilities.
  if (header.pid != 0 && header.pid != static_cast<int32_t>(current_process().pid)) return error(Errno::eperm);
  CapabilityData data[2] = {};
  TRY(user::copy_from(data, data_pointer, words * sizeof(CapabilityData)));
  CapabilitySets wanted;
  wanted.effective = (data[0].effective | uint64_t{data[1].effective} << 32) & kAllCapabilities;
  wanted.permitted = (data[0].permitted | uint64_t{data[1].permitted} << 32) & kAllCapabilities;
  wanted.inheritable = (data[0].inheritable | uint64_t{data[1].inheritable} << 32) & kAllCapabilities;
  SpinlockGuard guard(g_lock);
  // Linux's cap_capset: the permitted set may only shrink and bounds the effective one;
  // inheritable ones come from the old inheritable or permitted set (with CAP_SETPCAP, from
  // the bounding set: all of them).
  bool setpcap = g_capabilities.effective & (1ull << 8);
  uint64_t inheritable_source = setpcap ? kAllCapabilities : g_capabilities.inheritable | g_capabilities.permitted;
  if ((wanted.permitted & ~g_capabilities.permitted) || (wanted.effective & ~wanted.permitted) ||
      (wanted.inheritable & ~inheritable_source))
    return error(Errno::eperm);
  g_capabilities = wanted;
  return 0;
}

// The lists are copied through the kernel's stack: the program's memory may fault, which
// must not happen under the spinlock.
Result<long> sys_getgroups(int size, uint32_t* list) {
  if (size < 0) return error(Errno::einval);
  uint32_t groups[kMaxGroups];
  size_t count;
  {
    SpinlockGuard guard(g_lock);
    count = g_supplementary_count;
    for (size_t i = 0; i < count; i++) groups[i] = g_supplementary[i];
  }
  if (size == 0) return static_cast<long>(count);
  if (static_cast<size_t>(size) < count) return error(Errno::einval);
  TRY(user::copy_to(list, groups, count * sizeof(uint32_t)));
  return static_cast<long>(count);
}

Result<long> sys_setgroups(size_t size, const uint32_t* list) {
  if (size > 65536) return error(Errno::einval);
  if (size > kMaxGroups) return error(Errno::enomem);  // more than Nimbus keeps
  uint32_t groups[kMaxGroups];
  if (size) TRY(user::copy_from(groups, list, size * sizeof(uint32_t)));
  SpinlockGuard guard(g_lock);
  if (!privileged()) return error(Errno::eperm);
  for (size_t i = 0; i < size; i++) g_supplementary[i] = groups[i];
  g_supplementary_count = size;
  return 0;
}

}  // namespace nimbus::linux
