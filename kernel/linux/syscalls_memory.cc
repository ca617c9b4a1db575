// Memory: brk, mmap, munmap, mprotect, madvise.
#include "kernel/linux/process.h"
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
  if (!(flags & kMapAnonymous)) {
    (void)fd;
    return error(Errno::enodev);  // file mappings arrive with the file layer
  }
  AddressSpace::Placement placement = AddressSpace::Placement::anywhere;
  if (flags & kMapFixedNoreplace) placement = AddressSpace::Placement::fixed_noreplace;
  else if (flags & kMapFixed) placement = AddressSpace::Placement::fixed;
  else if (address) placement = AddressSpace::Placement::hint;
  uintptr_t mapped = TRY(address_space().map(address, length, static_cast<uint32_t>(prot), placement,
                                             type != kMapPrivate, nullptr, 0));
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
