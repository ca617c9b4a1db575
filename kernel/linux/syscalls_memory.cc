// Memory: brk, mmap, munmap, mprotect, madvise.
#include "kernel/fs/file.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/process.h"
#include "kernel/linux/vnode_mapping.h"
#include "kernel/linux/syscalls.h"
#include "kernel/mm/physical.h"

namespace nimbus::linux {
namespace {

// mmap flags and advice (asm-generic/mman-common.h, x86 mman.h).
constexpr int kMapShared = 0x01;
constexpr int kMapPrivate = 0x02;
constexpr int kMapSharedValidate = 0x03;
constexpr int kMapFixed = 0x10;
constexpr int kMapAnonymous = 0x20;
constexpr int kMapPopulate = 0x8000;
constexpr int kMapFixedNoreplace = 0x100000;
constexpr int kMadvDontneed = 4;
constexpr int kMadvFree = 8;

constexpr int kProtMask = 7;

}  // namespace

Result<long> sys_brk(uintptr_t address) { return static_cast<long>(address_space().set_break(address)); }

Result<long> sys_mmap(uintptr_t address, size_t length, int prot, int flags, int fd, int64_t offset) {
  int type = flags & 3;
  if (type != kMapShared && type != kMapPrivate && type != kMapSharedValidate) return error(Errno::einval);
  if (prot & ~kProtMask) return error(Errno::einval);
  if (offset < 0 || (offset & 4095)) return error(Errno::einval);
  MappedFile* mapped_file = nullptr;
  if (!(flags & kMapAnonymous)) {
    auto file = TRY(file_context().fds().get(fd));
    if (!file->is_readable()) return error(Errno::eacces);
    if (type != kMapPrivate && (prot & prot::kWrite) && !file->is_writable()) return error(Errno::eacces);
    RefPtr<fs::Vnode> vnode = file->vnode();
    if (vnode->type() == fs::VnodeType::character_device) {
      // /dev/zero and friends: an anonymous mapping.
    } else if (!vnode->is_regular()) {
      return error(Errno::enodev);
    } else {
      mapped_file = TRY(map_vnode(vnode, ""));
    }
  }
  AddressSpace::Placement placement = AddressSpace::Placement::anywhere;
  if (flags & kMapFixedNoreplace) placement = AddressSpace::Placement::fixed_noreplace;
  else if (flags & kMapFixed) placement = AddressSpace::Placement::fixed;
  else if (address) placement = AddressSpace::Placement::hint;
  auto mapped_or = address_space().map(address, length, static_cast<uint32_t>(prot), placement, type != kMapPrivate,
                                       mapped_file, mapped_file ? static_cast<uint64_t>(offset) : 0);
  if (mapped_file) mapped_file->release();  // the mapping holds its own reference
  uintptr_t mapped = TRY(mapped_or);
  if (flags & kMapPopulate) (void)address_space().populate(mapped, length);
  return static_cast<long>(mapped);
}

Result<long> sys_munmap(uintptr_t address, size_t length) {
  TRY(address_space().unmap(address, length));
  return 0;
}

Result<long> sys_mprotect(uintptr_t address, size_t length, int prot) {
  if (prot & ~kProtMask) return error(Errno::einval);
  TRY(address_space().protect(address, length, static_cast<uint32_t>(prot)));
  return 0;
}

Result<long> sys_madvise(uintptr_t address, size_t length, int advice) {
  if (address & 4095) return error(Errno::einval);
  if (advice == kMadvDontneed || advice == kMadvFree) {
    TRY(address_space().discard(address, length));
  }
  // Other advice is a hint; Linux accepts it, and so do we.
  return 0;
}

}  // namespace nimbus::linux
