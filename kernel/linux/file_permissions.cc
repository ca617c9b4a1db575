// Permission bits against the caller's credentials, where Nimbus checks them: opening an
// existing file (read, write, truncate). Linux's generic_permission: the owner's bits if the
// file system uid owns the file, else the group's if the process is in the file's group,
// else the others'; CAP_DAC_OVERRIDE passes anything but executing a file without any
// execute bit, CAP_DAC_READ_SEARCH passes reading files and reading or searching directories.
//
// Not yet checked (docs/syscalls.md says so): search permission on the directories of a
// path, and write permission on the directory that a create, unlink or rename changes.
#include "kernel/fs/fs.h"
#include "kernel/linux/credentials.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/syscalls.h"

namespace nimbus::linux {
namespace {

using namespace fs::linux_abi;

constexpr uint32_t kMayExec = 1, kMayWrite = 2, kMayRead = 4;
constexpr int kCapDacOverride = 1;
constexpr int kCapDacReadSearch = 2;

bool in_group(const Credentials& c, uint32_t gid) {
  if (c.fsgid == gid) return true;
  for (uint32_t i = 0; i < c.group_count; i++)
    if (c.groups[i] == gid) return true;
  return false;
}

bool has(const Credentials& c, int capability) { return c.effective_capabilities & (1ull << capability); }

}  // namespace

static bool may_access(const fs::Stat& st, uint32_t mask, const Credentials& c) {
  uint32_t bits = st.uid == c.fsuid ? (st.mode >> 6) & 7 : in_group(c, st.gid) ? (st.mode >> 3) & 7 : st.mode & 7;
  if ((bits & mask) == mask) return true;
  if ((st.mode & s_ifmt) == s_ifdir) {
    if (!(mask & kMayWrite) && has(c, kCapDacReadSearch)) return true;
    return has(c, kCapDacOverride);
  }
  if (has(c, kCapDacOverride) && (!(mask & kMayExec) || (st.mode & 0111))) return true;
  return mask == kMayRead && has(c, kCapDacReadSearch);
}

Result<> check_open_permission(int dirfd, std::string_view path, uint32_t flags) {
  if (flags & o_path) return {};
  uint32_t mask = 0;
  switch (flags & o_accmode) {
    case o_wronly: mask = kMayWrite; break;
    case o_rdwr: mask = kMayRead | kMayWrite; break;
    default: mask = kMayRead; break;
  }
  if (flags & o_trunc) mask |= kMayWrite;
  // A file this open creates is opened whatever its mode says (Linux's FMODE_CREATED).
  if ((flags & o_creat) && (flags & o_excl)) return {};
  auto st = fs::stat(file_context(), dirfd, path, (flags & o_nofollow) ? at_symlink_nofollow : 0);
  if (!st) return {};  // the open itself reports the lookup's error, or creates the file
  if ((st->mode & s_ifmt) == s_iflnk) return {};  // O_NOFOLLOW's ELOOP comes from the open
  if (!may_access(*st, mask, current_credentials())) return error(Errno::eacces);
  return {};
}

Result<> check_access_permission(int dirfd, std::string_view path, uint32_t mode, uint32_t at_flags) {
  mode &= kMayRead | kMayWrite | kMayExec;
  if (!mode) return {};
  Credentials c = current_credentials();
  if (!(at_flags & at_eaccess)) {
    // access(2) asks for the real ids; a real uid other than root has no capabilities, root
    // has its permitted ones (Linux's access_override_creds).
    c.fsuid = c.uid;
    c.fsgid = c.gid;
    c.effective_capabilities = c.uid == 0 ? c.permitted_capabilities : 0;
  }
  fs::Stat st = TRY(fs::stat(file_context(), dirfd, path, at_flags & ~at_eaccess));
  if (!may_access(st, mode, c)) return error(Errno::eacces);
  return {};
}

}  // namespace nimbus::linux
