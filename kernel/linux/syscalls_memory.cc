// Memory: brk, mmap, munmap, mprotect, mremap, madvise, msync, mincore, mlock and friends,
// membarrier.
#include <atomic>

#include "kernel/arch/x86_64/tlb.h"
#include "kernel/fs/file.h"
#include "kernel/fs/fs.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/process.h"
#include "kernel/linux/resource_limits.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/linux/vnode_mapping.h"
#include "kernel/linux/volumes.h"
#include "kernel/mm/physical.h"

namespace nimbus::linux {
namespace {

// mmap flags (asm-generic/mman-common.h, x86 mman.h).
constexpr int kMapShared = 0x01;
constexpr int kMapPrivate = 0x02;
constexpr int kMapSharedValidate = 0x03;
constexpr int kMapFixed = 0x10;
constexpr int kMapAnonymous = 0x20;
constexpr int kMapGrowsdown = 0x100;
constexpr int kMapDenywrite = 0x800;
constexpr int kMapExecutable = 0x1000;
constexpr int kMapLocked = 0x2000;
constexpr int kMapNoreserve = 0x4000;
constexpr int kMapPopulate = 0x8000;
constexpr int kMapNonblock = 0x10000;
constexpr int kMapStack = 0x20000;
constexpr int kMapHugetlb = 0x40000;
constexpr int kMapFixedNoreplace = 0x100000;
constexpr int kMapUninitialized = 0x4000000;
constexpr int kMapHugeSizeMask = 0x3f << 26;  // MAP_HUGE_2MB and friends
// What MAP_SHARED_VALIDATE accepts (Linux's LEGACY_MAP_MASK plus MAP_FIXED_NOREPLACE);
// MAP_SYNC needs DAX, which no file here has.
constexpr int kMapKnown = kMapShared | kMapPrivate | kMapFixed | kMapAnonymous | kMapGrowsdown | kMapDenywrite |
                          kMapExecutable | kMapLocked | kMapNoreserve | kMapPopulate | kMapNonblock | kMapStack |
                          kMapHugetlb | kMapFixedNoreplace | kMapUninitialized | kMapHugeSizeMask;

constexpr int kProtMask = 7;

// mremap flags.
constexpr int kMremapMaymove = 1;
constexpr int kMremapFixed = 2;
constexpr int kMremapDontunmap = 4;

// msync flags.
constexpr int kMsAsync = 1;
constexpr int kMsInvalidate = 2;
constexpr int kMsSync = 4;

// mlock2 and mlockall flags.
constexpr int kMlockOnfault = 1;
constexpr int kMclCurrent = 1;
constexpr int kMclFuture = 2;
constexpr int kMclOnfault = 4;

// madvise advice.
enum Advice : int {
  kMadvNormal = 0, kMadvRandom = 1, kMadvSequential = 2, kMadvWillneed = 3, kMadvDontneed = 4, kMadvFree = 8,
  kMadvRemove = 9, kMadvDontfork = 10, kMadvDofork = 11, kMadvMergeable = 12, kMadvUnmergeable = 13,
  kMadvHugepage = 14, kMadvNohugepage = 15, kMadvDontdump = 16, kMadvDodump = 17, kMadvWipeonfork = 18,
  kMadvKeeponfork = 19, kMadvCold = 20, kMadvPageout = 21, kMadvPopulateRead = 22, kMadvPopulateWrite = 23,
  kMadvDontneedLocked = 24, kMadvCollapse = 25,
};

// Every advice up to MADV_COLLAPSE but the unused 5 to 7 (MADV_HWPOISON and MADV_SOFT_OFFLINE,
// for tests of memory failure, are EINVAL here).
bool is_known_advice(int advice) {
  return advice >= kMadvNormal && advice <= kMadvCollapse && (advice <= kMadvDontneed || advice >= kMadvFree);
}

// membarrier commands (linux/membarrier.h).
constexpr int kMembarrierQuery = 0;
constexpr int kMembarrierGlobal = 1;
constexpr int kMembarrierGlobalExpedited = 2;
constexpr int kMembarrierRegisterGlobalExpedited = 4;
constexpr int kMembarrierPrivateExpedited = 8;
constexpr int kMembarrierRegisterPrivateExpedited = 16;
constexpr int kMembarrierPrivateExpeditedSyncCore = 32;
constexpr int kMembarrierRegisterPrivateExpeditedSyncCore = 64;
constexpr int kMembarrierSupported = kMembarrierGlobal | kMembarrierGlobalExpedited |
                                     kMembarrierRegisterGlobalExpedited | kMembarrierPrivateExpedited |
                                     kMembarrierRegisterPrivateExpedited | kMembarrierPrivateExpeditedSyncCore |
                                     kMembarrierRegisterPrivateExpeditedSyncCore;
// The registrations the private commands need first (EPERM without), as on Linux.
std::atomic<int> g_membarrier_registered{0};

// Whether every page of [address, +length) is mapped (ENOMEM otherwise, as Linux).
Result<> require_mapped(uintptr_t address, size_t length) {
  if (!address_space().check_access(address, length, 0)) return error(Errno::enomem);
  return {};
}

// MAP_SHARED | MAP_ANONYMOUS (and shared /dev/zero): memory backed by an unnamed file, as
// Linux's shmem_zero_setup, so that MADV_DONTNEED drops only the mapping's view of the pages,
// not their contents (and so that processes can share them).
Result<MappedFile*> shared_anonymous_memory(size_t length) {
  RefPtr<fs::Vnode> devices = fs::vfs().dev_fs().root();
  RefPtr<fs::Vnode> file = TRY(devices->create_unnamed(fs::NewNode{fs::VnodeType::regular, 0600, 0, 0}, false));
  TRY(file->truncate(align_up(length, kPageSize)));
  return map_vnode(std::move(file), "/dev/zero (deleted)", true);
}

// Linux's file_mmap_ok: the mapping's last byte must be a valid offset in the file (off_t for
// regular files, any unsigned offset for devices); EOVERFLOW otherwise.
Result<> check_file_offset(const fs::Vnode& vnode, uint64_t offset, size_t length) {
  uint64_t largest = vnode.is_regular() ? static_cast<uint64_t>(INT64_MAX) : UINT64_MAX;
  uint64_t pages_length = align_up(length, kPageSize);
  if (pages_length > largest || (offset >> 12) > ((largest - pages_length) >> 12)) return error(Errno::eoverflow);
  return {};
}

// Linux's may_expand_vm: ENOMEM when `length` more bytes of mappings would pass RLIMIT_AS, or,
// for a data mapping (private and writable), RLIMIT_DATA. What [replaced_begin, replaced_end)
// holds (a MAP_FIXED mapping's range) is about to go and does not count. (Unlike Linux, the
// main stack counts as data.)
Result<> check_vm_limits(size_t length, bool data, uintptr_t replaced_begin = 0, uintptr_t replaced_end = 0) {
  uint64_t as_limit = soft_resource_limit(kRlimitAs);
  uint64_t data_limit = data ? soft_resource_limit(kRlimitData) : kRlimInfinity;
  if (as_limit == kRlimInfinity && data_limit == kRlimInfinity) return {};
  uint64_t total = 0;
  uint64_t data_total = 0;
  address_space().for_each_vma([&](const Vma& v) {
    uint64_t size = v.end - v.begin;
    uintptr_t overlap_begin = v.begin > replaced_begin ? v.begin : replaced_begin;
    uintptr_t overlap_end = v.end < replaced_end ? v.end : replaced_end;
    if (overlap_begin < overlap_end) size -= overlap_end - overlap_begin;
    total += size;
    if ((v.prot & prot::kWrite) && !v.shared) data_total += size;
  });
  uint64_t pages_length = align_up(length, kPageSize);
  if (as_limit != kRlimInfinity && total + pages_length > as_limit) return error(Errno::enomem);
  if (data_limit != kRlimInfinity && data_total + pages_length > data_limit) return error(Errno::enomem);
  return {};
}

}  // namespace

Result<long> sys_brk(uintptr_t address) {
  uintptr_t current = address_space().current_break();
  // A break the limits refuse stays where it was, as Linux's brk answers.
  if (address > current && address <= AddressSpace::kEnd) {
    size_t growth = align_up(address, kPageSize) - align_up(current, kPageSize);
    if (growth && !check_vm_limits(growth, true)) return static_cast<long>(current);
  }
  return static_cast<long>(address_space().set_break(address));
}

Result<long> sys_mmap(uintptr_t address, size_t length, int prot, int flags, int fd, int64_t offset) {
  int type = flags & 3;
  if (type != kMapShared && type != kMapPrivate && type != kMapSharedValidate) return error(Errno::einval);
  if (type == kMapSharedValidate && (flags & ~kMapKnown)) return error(Errno::enotsup);
  // Anonymous memory is MAP_SHARED or MAP_PRIVATE, not both (Linux's do_mmap: EINVAL).
  if (type == kMapSharedValidate && (flags & kMapAnonymous)) return error(Errno::einval);
  if (prot & ~kProtMask) return error(Errno::einval);
  // The offset only has to be page-aligned; how large it may be depends on the file.
  if (offset & 4095) return error(Errno::einval);
  if (length == 0) return error(Errno::einval);
  if (length > AddressSpace::kEnd) return error(Errno::enomem);
  bool shared = type != kMapPrivate;
  MappedFile* mapped_file = nullptr;
  if (!(flags & kMapAnonymous)) {
    auto file = TRY(file_context().fds().get(fd));
    if (!file->is_readable()) return error(Errno::eacces);
    if (shared && (prot & prot::kWrite) && !file->is_writable()) return error(Errno::eacces);
    RefPtr<fs::Vnode> vnode = file->vnode();
    TRY(check_file_offset(*vnode, static_cast<uint64_t>(offset), length));
    if (vnode->type() == fs::VnodeType::character_device) {
      // /dev/zero and friends: anonymous memory.
      if (shared) {
        mapped_file = TRY(shared_anonymous_memory(length));
        offset = 0;
      }
    } else if (!vnode->is_regular() || (shared && !vnode->can_share_pages())) {
      return error(Errno::enodev);
    } else {
      mapped_file = TRY(map_vnode(vnode, "", file->is_writable()));
    }
  } else if (shared) {
    mapped_file = TRY(shared_anonymous_memory(length));
    offset = 0;
  }
  AddressSpace::Placement placement = AddressSpace::Placement::anywhere;
  if (flags & kMapFixedNoreplace) placement = AddressSpace::Placement::fixed_noreplace;
  else if (flags & kMapFixed) placement = AddressSpace::Placement::fixed;
  else if (address) placement = AddressSpace::Placement::hint;
  bool replaces = placement == AddressSpace::Placement::fixed;
  if (auto within = check_vm_limits(length, (prot & prot::kWrite) && !shared, replaces ? address : 0,
                                    replaces ? address + align_up(length, kPageSize) : 0);
      !within) {
    if (mapped_file) mapped_file->release();
    return error(within.error());
  }
  // MAP_NORESERVE and MAP_STACK change nothing: every mapping is filled on first touch.
  auto mapped_or = address_space().map(address, length, static_cast<uint32_t>(prot), placement, shared,
                                       mapped_file, mapped_file ? static_cast<uint64_t>(offset) : 0);
  if (mapped_file) mapped_file->release();  // the mapping holds its own reference
  uintptr_t mapped = TRY(mapped_or);
  // As on Linux, a mapping stands even when it cannot be populated or locked.
  if (flags & kMapLocked) (void)address_space().set_locked(mapped, length, true, true);
  else if (flags & kMapPopulate) (void)address_space().populate(mapped, length);
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

Result<long> sys_mremap(uintptr_t address, size_t old_size, size_t new_size, int flags, uintptr_t new_address) {
  if (flags & ~(kMremapMaymove | kMremapFixed | kMremapDontunmap)) return error(Errno::einval);
  bool may_move = flags & kMremapMaymove;
  if ((flags & kMremapFixed) && !may_move) return error(Errno::einval);
  if ((flags & kMremapDontunmap) && (!may_move || old_size != new_size)) return error(Errno::einval);
  AddressSpace::Remap request{address,
                              old_size,
                              new_size,
                              may_move,
                              (flags & kMremapDontunmap) != 0,
                              (flags & kMremapFixed) ? AddressSpace::Placement::fixed : AddressSpace::Placement::anywhere,
                              new_address};
  return static_cast<long>(TRY(address_space().remap(request)));
}

Result<long> sys_madvise(uintptr_t address, size_t length, int advice) {
  // Linux's order: the advice, the alignment, a length that rounds up past the end, an empty
  // range (nothing to do).
  if (!is_known_advice(advice)) return error(Errno::einval);
  if (address & 4095) return error(Errno::einval);
  size_t pages_length = align_up(length, kPageSize);
  if (length && !pages_length) return error(Errno::einval);
  if (address + pages_length < address) return error(Errno::einval);
  if (pages_length == 0) return 0;
  TRY(require_mapped(address, pages_length));
  using Discard = AddressSpace::Discard;
  switch (advice) {
    case kMadvDontneed: TRY(address_space().discard(address, length, Discard::dontneed)); return 0;
    case kMadvDontneedLocked: TRY(address_space().discard(address, length, Discard::dontneed_locked)); return 0;
    case kMadvFree: TRY(address_space().discard(address, length, Discard::free)); return 0;
    case kMadvPopulateRead:
    case kMadvPopulateWrite:
      TRY(address_space().populate(address, length));
      return 0;
    case kMadvRemove:
      // Punching a hole in the file behind a shared mapping: ramfs cannot yet.
      return error(Errno::enotsup);
    case kMadvNormal:
    case kMadvRandom:
    case kMadvSequential:
    case kMadvWillneed:
    case kMadvDontfork:
    case kMadvDofork:
    case kMadvMergeable:
    case kMadvUnmergeable:
    case kMadvHugepage:
    case kMadvNohugepage:
    case kMadvDontdump:
    case kMadvDodump:
    case kMadvWipeonfork:
    case kMadvKeeponfork:
    case kMadvCold:
    case kMadvPageout:
    case kMadvCollapse:
      // Hints about read-ahead, fork, core dumps, huge pages and swap, none of which exists
      // here (file data is in memory, there is one process, pages are 4 KiB and never
      // swapped): Linux accepts them, and so do we, on mapped memory.
      return 0;
    default:
      return error(Errno::einval);
  }
}

// Memory protection keys: the CPU's PKU is not used (ring-0 code ignores it anyway), so these
// answer as Linux does on a CPU without it (no OSPKE): no key is ever allocated, pkey_alloc
// finds key 0 but the hardware check refuses it (EINVAL), and only key -1 (none) can be used.
Result<long> sys_pkey_alloc(unsigned, unsigned) { return error(Errno::einval); }

Result<long> sys_pkey_free(int) { return error(Errno::einval); }

Result<long> sys_pkey_mprotect(uintptr_t address, size_t length, int prot, int key) {
  if (key != -1) return error(Errno::einval);
  return sys_mprotect(address, length, prot);
}

Result<long> sys_msync(uintptr_t address, size_t length, int flags) {
  if ((address & 4095) || (flags & ~(kMsAsync | kMsInvalidate | kMsSync))) return error(Errno::einval);
  if ((flags & kMsAsync) && (flags & kMsSync)) return error(Errno::einval);
  // Shared mappings are the files' own page-cache pages, so reads see them at once and
  // there is nothing to invalidate. MS_SYNC makes them durable: a commit of every writable
  // volume (each writes its shared pages back). MS_ASYNC asks for nothing (as on Linux).
  TRY(require_mapped(address, length));
  // Invalidating locked pages is refused (Linux's EBUSY), which programs use to tell them.
  if ((flags & kMsInvalidate) && address_space().any_locked(address, length)) return error(Errno::ebusy);
  if (flags & kMsSync) sync_volumes();
  return 0;
}

Result<long> sys_mincore(uintptr_t address, size_t length, uint8_t* vector) {
  if (address & 4095) return error(Errno::einval);
  size_t pages = length / kPageSize + (length % kPageSize != 0);
  if (!user::writable(vector, pages)) return error(Errno::efault);
  uint8_t chunk[256];
  for (size_t done = 0; done < pages;) {
    size_t n = pages - done < sizeof(chunk) ? pages - done : sizeof(chunk);
    TRY(address_space().resident_pages(address + done * kPageSize, std::span<uint8_t>(chunk, n)));
    TRY(user::copy_to(vector + done, chunk, n));
    done += n;
  }
  return 0;
}

Result<long> sys_mlock(uintptr_t address, size_t length) {
  TRY(address_space().set_locked(address, length, true, true));
  return 0;
}

Result<long> sys_mlock2(uintptr_t address, size_t length, int flags) {
  if (flags & ~kMlockOnfault) return error(Errno::einval);
  TRY(address_space().set_locked(address, length, true, !(flags & kMlockOnfault)));
  return 0;
}

Result<long> sys_munlock(uintptr_t address, size_t length) {
  TRY(address_space().set_locked(address, length, false, false));
  return 0;
}

Result<long> sys_mlockall(int flags) {
  if (flags == 0 || (flags & ~(kMclCurrent | kMclFuture | kMclOnfault)) || flags == kMclOnfault)
    return error(Errno::einval);
  TRY(address_space().set_all_locked(flags & kMclCurrent, flags & kMclFuture, !(flags & kMclOnfault)));
  return 0;
}

Result<long> sys_munlockall() {
  TRY(address_space().set_all_locked(false, false, false));
  return 0;
}

Result<long> sys_membarrier(int command, unsigned flags, int) {
  if (flags != 0) return error(Errno::einval);
  switch (command) {
    case kMembarrierQuery:
      return kMembarrierSupported;
    case kMembarrierRegisterGlobalExpedited:
    case kMembarrierRegisterPrivateExpedited:
    case kMembarrierRegisterPrivateExpeditedSyncCore:
      g_membarrier_registered.fetch_or(command, std::memory_order_relaxed);
      return 0;
    case kMembarrierPrivateExpedited:
    case kMembarrierPrivateExpeditedSyncCore:
      // The registration command is the request's own bit shifted left once.
      if (!(g_membarrier_registered.load(std::memory_order_relaxed) & (command << 1))) return error(Errno::eperm);
      [[fallthrough]];
    case kMembarrierGlobal:
    case kMembarrierGlobalExpedited:
      // Every CPU may run one of the process's threads: interrupt them all. Taking and
      // leaving an interrupt orders memory and serializes the instruction stream, which
      // covers the SYNC_CORE variant too.
      tlb::barrier_everywhere();
      return 0;
    default:
      return error(Errno::einval);
  }
}

}  // namespace nimbus::linux
