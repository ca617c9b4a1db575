// The kernel's page tables (Intel SDM vol. 3A, 4.5: 4-level paging).
#include "kernel/arch/x86_64/page_tables.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/boot/start_info.h"
#include "kernel/lib/panic.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/physical.h"
#include "kernel/sync/spinlock.h"

extern "C" char __kernel_start[], __text_end[], __rodata_end[], __ksyms_start[], __kernel_end[];

namespace nimbus::mmu {
namespace {

uint64_t g_root = 0;
bool g_direct_map_live = false;
TableFrameSource g_frame_source = nullptr;
bool g_huge_pages = false;
bool g_no_execute = false;
Spinlock g_lock;

uint64_t* table(uint64_t phys) {
  // Before the switch only the boot mapping of the first GiB exists.
  return reinterpret_cast<uint64_t*>((g_direct_map_live ? DIRECT_MAP_BASE : KERNEL_VIRT_BASE) + phys);
}

unsigned index(uintptr_t virt, int level) { return (virt >> (12 + 9 * level)) & 511; }

// The kernel half: top-level entries 256-511, the same tables in every root.
constexpr unsigned kFirstKernelEntry = 256;
bool in_kernel_half(uintptr_t virt) { return index(virt, 3) >= kFirstKernelEntry; }
// Kernel mappings are always made through the kernel's own root: its upper-half entries
// are copied into every application root, so the tables below them are shared.
uint64_t root_for(uint64_t root, uintptr_t virt) { return in_kernel_half(virt) ? g_root : root; }
// Set once the first application root exists: from then on a new top-level kernel entry
// would be missing from the roots already made.
bool g_roots_exist = false;

// Returns the entry for `virt` at `level` (0 = PT, 1 = PD, 2 = PDPT), creating tables on
// the way down; nullptr when out of frames.
uint64_t* walk_create(uint64_t root, uintptr_t virt, int level) {
  uint64_t* current = table(root_for(root, virt));
  for (int l = 3; l > level; l--) {
    uint64_t& entry = current[index(virt, l)];
    if (!(entry & pte::kPresent)) {
      ASSERT(!(l == 3 && g_roots_exist && in_kernel_half(virt)));
      uint64_t frame = g_frame_source();
      if (!frame) return nullptr;
      entry = frame | pte::kPresent | pte::kWritable;
    }
    ASSERT(!(entry & pte::kLarge));
    current = table(entry & pte::kAddressMask);
  }
  return &current[index(virt, level)];
}

// The 4 KiB entry for virt, or nullptr if a level is missing or a large page covers it.
uint64_t* walk_existing(uint64_t root, uintptr_t virt) {
  uint64_t* current = table(root_for(root, virt));
  for (int l = 3; l > 0; l--) {
    uint64_t entry = current[index(virt, l)];
    if (!(entry & pte::kPresent) || (entry & pte::kLarge)) return nullptr;
    current = table(entry & pte::kAddressMask);
  }
  return &current[index(virt, 0)];
}

uint64_t nx() { return g_no_execute ? pte::kNoExecute : 0; }

void map_direct_range(uint64_t begin, uint64_t end) {
  begin = align_down(begin, kLargePageSize);
  end = align_up(end, kLargePageSize);
  uint64_t flags = pte::kPresent | pte::kWritable | pte::kGlobal | pte::kLarge | nx();
  for (uint64_t phys = begin; phys < end;) {
    uintptr_t virt = DIRECT_MAP_BASE + phys;
    if (g_huge_pages && phys % kHugePageSize == 0 && end - phys >= kHugePageSize) {
      uint64_t* entry = walk_create(g_root, virt, 2);
      if (!entry) panic_with_status(ExitStatus::out_of_memory, "out of memory building the direct map");
      if (!(*entry & pte::kPresent)) *entry = phys | flags;
      // A page directory made for an earlier, smaller range is filled with 2 MiB pages.
      if (*entry & pte::kLarge) {
        phys += kHugePageSize;
        continue;
      }
    }
    uint64_t* entry = walk_create(g_root, virt, 1);
    if (!entry) panic_with_status(ExitStatus::out_of_memory, "out of memory building the direct map");
    if (!(*entry & pte::kPresent)) *entry = phys | flags;
    phys += kLargePageSize;
  }
}

// The kernel image's alias in the direct map, in 4 KiB pages: its text and read-only data
// read-only there too, so kernel text is never writable through any mapping. Made before
// the rest of the direct map, which then keeps these tables and fills in around them.
void map_image_alias() {
  uint64_t image_begin = reinterpret_cast<uintptr_t>(__kernel_start) - KERNEL_VIRT_BASE;
  uint64_t read_only_end = align_up(reinterpret_cast<uintptr_t>(__rodata_end), kPageSize) - KERNEL_VIRT_BASE;
  uint64_t begin = align_down(image_begin, kLargePageSize);
  uint64_t end = align_up(reinterpret_cast<uintptr_t>(__kernel_end) - KERNEL_VIRT_BASE, kLargePageSize);
  for (uint64_t phys = begin; phys < end; phys += kPageSize) {
    uint64_t* entry = walk_create(g_root, DIRECT_MAP_BASE + phys, 0);
    if (!entry) panic_with_status(ExitStatus::out_of_memory, "out of memory building the direct map");
    bool read_only = phys >= image_begin && phys < read_only_end;
    *entry = phys | pte::kPresent | (read_only ? 0 : pte::kWritable) | pte::kGlobal | nx();
  }
}

void map_image_range(uintptr_t begin, uintptr_t end, uint64_t flags) {
  for (uintptr_t virt = begin; virt < end; virt += kPageSize) {
    uint64_t* entry = walk_create(g_root, virt, 0);
    if (!entry) panic_with_status(ExitStatus::out_of_memory, "out of memory mapping the kernel");
    *entry = (virt - KERNEL_VIRT_BASE) | flags;
  }
}

}  // namespace

void init_kernel_address_space(const BootInfo& info, TableFrameSource early_source) {
  g_frame_source = early_source;
  g_huge_pages = x86::cpuid(0x80000001).edx & (1u << 26);
  g_no_execute = x86::cpuid(0x80000001).edx & (1u << 20);
  if (g_no_execute) x86::wrmsr(x86::msr::kEfer, x86::rdmsr(x86::msr::kEfer) | (1u << 11));

  g_root = g_frame_source();
  if (!g_root) panic_with_status(ExitStatus::out_of_memory, "out of memory for page tables");

  map_image_alias();
  for (size_t i = 0; i < info.range_count; i++) {
    const MemoryRange& r = info.ranges[i];
    if (r.type == MemoryType::usable || r.type == MemoryType::acpi_reclaimable ||
        r.type == MemoryType::acpi_nvs)
      map_direct_range(r.begin, r.end);
  }
  // Low memory (BIOS tables, the AP trampoline) even if the map leaves a hole there.
  map_direct_range(0, 1ull << 20);

  auto start = reinterpret_cast<uintptr_t>(__kernel_start);
  auto text_end = align_up(reinterpret_cast<uintptr_t>(__text_end), kPageSize);
  auto rodata_end = align_up(reinterpret_cast<uintptr_t>(__rodata_end), kPageSize);
  auto data_end = reinterpret_cast<uintptr_t>(__ksyms_start);
  auto end = reinterpret_cast<uintptr_t>(__kernel_end);
  map_image_range(start, text_end, pte::kPresent | pte::kGlobal);
  map_image_range(text_end, rodata_end, pte::kPresent | pte::kGlobal | nx());
  map_image_range(rodata_end, data_end, pte::kPresent | pte::kWritable | pte::kGlobal | nx());
  map_image_range(data_end, end, pte::kPresent | pte::kGlobal | nx());
  // The top-level entry for kernel virtual ranges exists up front, so mappings made later
  // are seen by every CPU without touching the root table.
  if (!walk_create(g_root, KERNEL_VRANGE_BASE, 2))
    panic_with_status(ExitStatus::out_of_memory, "out of memory for page tables");

  x86::write_cr4(x86::read_cr4() | (1u << 7));  // PGE: global pages survive CR3 loads
  x86::write_cr3(g_root);
  g_direct_map_live = true;
}

void set_table_frame_source(TableFrameSource source) { g_frame_source = source; }
uint64_t kernel_page_table_root() { return g_root; }
bool direct_map_live() { return g_direct_map_live; }

Result<> map_page(uintptr_t virt, uint64_t phys, uint64_t flags) { return map_page_in(g_root, virt, phys, flags); }

Result<> map_page_in(uint64_t root, uintptr_t virt, uint64_t phys, uint64_t flags) {
  SpinlockGuard guard(g_lock);
  uint64_t* entry = walk_create(root, virt, 0);
  if (!entry) return error(Errno::enomem);
  // Without NX support the bit is reserved and would fault.
  *entry = phys | pte::kPresent | (g_no_execute ? flags : flags & ~pte::kNoExecute);
  return {};
}

uint64_t unmap_page(uintptr_t virt) {
  SpinlockGuard guard(g_lock);
  uint64_t* entry = walk_existing(g_root, virt);
  if (!entry || !(*entry & pte::kPresent)) return 0;
  uint64_t phys = *entry & pte::kAddressMask;
  *entry = 0;
  x86::invlpg(virt);
  return phys;
}

void* map_physical(uint64_t phys, size_t size, Caching caching) {
  uint64_t begin = align_down(phys, kPageSize);
  uint64_t end = align_up(phys + size, kPageSize);
  SpinlockGuard guard(g_lock);
  for (uint64_t p = begin; p < end; p += kPageSize) {
    uintptr_t virt = DIRECT_MAP_BASE + p;
    // Already there: RAM in the direct map (firmware tables often are), or mapped before.
    if (is_mapped(virt)) continue;
    uint64_t* entry = walk_create(g_root, virt, 0);
    if (!entry) panic_with_status(ExitStatus::out_of_memory, "out of memory mapping device memory");
    uint64_t cache_bits = caching == Caching::uncached ? pte::kCacheDisable | pte::kWriteThrough : 0;
    *entry = p | pte::kPresent | pte::kWritable | cache_bits | nx();
    x86::invlpg(virt);
  }
  return reinterpret_cast<void*>(DIRECT_MAP_BASE + phys);
}

namespace {
// A software-available PTE bit: "detached by detach_range, frame still owned".
constexpr uint64_t kDetached = 1ull << 9;
// Another: "hidden by hide_range (PROT_NONE), frame still mapped here" (Linux's _PAGE_PROTNONE).
// (Bit 10 is pte::kCopyOnWrite, which a hidden entry keeps.)
constexpr uint64_t kHidden = 1ull << 11;

// Calls f(entry) for every non-zero 4 KiB entry in [begin, end), skipping whole absent
// tables. Expects g_lock held.
template <typename F>
void for_each_entry_locked(uint64_t root, uintptr_t begin, uintptr_t end, F f) {
  uintptr_t va = begin;
  while (va < end) {
    uint64_t* current = table(root_for(root, va));
    int level = 3;
    bool descended = true;
    for (; level > 0; level--) {
      uint64_t entry = current[index(va, level)];
      if (!(entry & pte::kPresent) || (entry & pte::kLarge)) {
        descended = false;
        break;
      }
      current = table(entry & pte::kAddressMask);
    }
    if (!descended) {
      // Skip to the end of what the missing entry at `level` would have covered.
      uintptr_t span = 1ull << (12 + 9 * level);
      uintptr_t next = (va & ~(span - 1)) + span;
      if (next <= va) return;
      va = next;
      continue;
    }
    for (unsigned i = index(va, 0); i < 512 && va < end; i++, va += kPageSize) {
      if (current[i]) f(va, current[i]);
    }
  }
}
}  // namespace

size_t detach_range(uint64_t root, uintptr_t begin, uintptr_t end) {
  SpinlockGuard guard(g_lock);
  size_t count = 0;
  for_each_entry_locked(root, begin, end, [&](uintptr_t, uint64_t& entry) {
    if (entry & (pte::kPresent | kHidden)) {
      entry = (entry & ~(pte::kPresent | kHidden)) | kDetached;
      count++;
    }
  });
  return count;
}

size_t hide_range(uint64_t root, uintptr_t begin, uintptr_t end) {
  SpinlockGuard guard(g_lock);
  size_t count = 0;
  for_each_entry_locked(root, begin, end, [&](uintptr_t, uint64_t& entry) {
    if (entry & pte::kPresent) {
      entry = (entry & (pte::kAddressMask | pte::kCopyOnWrite)) | kHidden;
      count++;
    }
  });
  return count;
}

void release_detached_range(uint64_t root, uintptr_t begin, uintptr_t end, void (*free_frame)(uint64_t)) {
  SpinlockGuard guard(g_lock);
  for_each_entry_locked(root, begin, end, [&](uintptr_t, uint64_t& entry) {
    if (entry & kDetached) free_frame(entry & pte::kAddressMask);
    entry = 0;
  });
}

size_t protect_range(uint64_t root, uintptr_t begin, uintptr_t end, uint64_t flags) {
  SpinlockGuard guard(g_lock);
  size_t count = 0;
  uint64_t allowed = g_no_execute ? flags : flags & ~pte::kNoExecute;
  for_each_entry_locked(root, begin, end, [&](uintptr_t, uint64_t& entry) {
    if (!(entry & (pte::kPresent | kHidden))) return;
    // A copy-on-write page stays read-only until its write fault copies it.
    uint64_t cow = entry & pte::kCopyOnWrite;
    entry = (entry & pte::kAddressMask) | pte::kPresent | cow | (cow ? allowed & ~pte::kWritable : allowed);
    count++;
  });
  return count;
}

Result<> move_range(uint64_t root, uintptr_t begin, uintptr_t end, uintptr_t to) {
  SpinlockGuard guard(g_lock);
  // Every page table the move needs first, so that it cannot stop half-way.
  bool tables = true;
  for_each_entry_locked(root, begin, end, [&](uintptr_t va, uint64_t&) {
    if (tables && !walk_create(root, to + (va - begin), 0)) tables = false;
  });
  if (!tables) return error(Errno::enomem);
  for_each_entry_locked(root, begin, end, [&](uintptr_t va, uint64_t& entry) {
    *walk_existing(root, to + (va - begin)) = entry;
    entry = 0;
  });
  return {};
}

uint64_t lookup_page(uint64_t root, uintptr_t virt) {
  SpinlockGuard guard(g_lock);
  uint64_t* entry = walk_existing(root, virt);
  return entry ? *entry : 0;
}

bool protect_page(uintptr_t virt, uint64_t flags) {
  SpinlockGuard guard(g_lock);
  uint64_t* entry = walk_existing(g_root, virt);
  if (!entry || !(*entry & pte::kPresent)) return false;
  *entry = (*entry & pte::kAddressMask) | pte::kPresent | (g_no_execute ? flags : flags & ~pte::kNoExecute);
  return true;
}

uint64_t application_flags(bool writable, bool executable) {
  // Applications run in ring 0 too, so their pages are supervisor pages; permissions are
  // enforced through the writable and no-execute bits (CR0.WP makes ring 0 honour them).
  return (writable ? pte::kWritable : 0) | (executable ? 0 : pte::kNoExecute);
}

Result<uint64_t> create_root() {
  uint64_t root = g_frame_source();
  if (!root) return error(Errno::enomem);
  SpinlockGuard guard(g_lock);
  g_roots_exist = true;
  for (unsigned i = kFirstKernelEntry; i < 512; i++) table(root)[i] = table(g_root)[i];
  return root;
}

namespace {
// Frees the page tables below `entry` at `level` (1: a page directory's entry points at a
// page table, which holds no tables itself).
void free_tables(uint64_t entry, int level) {
  if (!(entry & pte::kPresent) || (entry & pte::kLarge)) return;
  uint64_t phys = entry & pte::kAddressMask;
  if (level > 1) {
    for (unsigned i = 0; i < 512; i++) free_tables(table(phys)[i], level - 1);
  }
  frames::free(phys, 0);
}
}  // namespace

void destroy_root(uint64_t root) {
  for (unsigned i = 0; i < kFirstKernelEntry; i++) free_tables(table(root)[i], 3);
  frames::free(root, 0);
}

Result<> share_range(uint64_t from_root, uint64_t to_root, uintptr_t begin, uintptr_t end, bool copy_on_write,
                     void (*share_frame)(uint64_t phys)) {
  SpinlockGuard guard(g_lock);
  bool tables = true;
  // The copy's last-level table for the 2 MiB the walk is in: fork walks from the root once
  // per table, not once per page (a 256 MiB process has 65,536 pages in 128 tables).
  constexpr uintptr_t kTableSpan = uintptr_t{1} << 21;
  uint64_t* leaf = nullptr;
  uintptr_t leaf_base = 1;  // never a table's base
  for_each_entry_locked(from_root, begin, end, [&](uintptr_t va, uint64_t& entry) {
    if (!tables || !(entry & (pte::kPresent | kHidden))) return;
    if ((va & ~(kTableSpan - 1)) != leaf_base) {
      uint64_t* slot = walk_create(to_root, va, 0);
      if (!slot) {
        tables = false;
        return;
      }
      leaf = slot - index(va, 0);
      leaf_base = va & ~(kTableSpan - 1);
    }
    uint64_t* copy = &leaf[index(va, 0)];
    // Every private page, read-only or hidden (PROT_NONE) ones too: a later mprotect must not
    // make a frame both processes see writable.
    if (copy_on_write) entry = (entry & ~pte::kWritable) | pte::kCopyOnWrite;
    *copy = entry;
    share_frame(entry & pte::kAddressMask);
  });
  if (!tables) return error(Errno::enomem);
  return {};
}

void set_entry(uint64_t root, uintptr_t virt, uint64_t entry) {
  SpinlockGuard guard(g_lock);
  if (uint64_t* slot = walk_existing(root, virt)) *slot = g_no_execute ? entry : entry & ~pte::kNoExecute;
}

bool is_mapped(uintptr_t virt) {
  uint64_t* current = table(g_root);
  for (int l = 3; l >= 0; l--) {
    uint64_t entry = current[index(virt, l)];
    if (!(entry & pte::kPresent)) return false;
    if (l == 0 || (entry & pte::kLarge)) return true;
    current = table(entry & pte::kAddressMask);
  }
  return false;
}

}  // namespace nimbus::mmu
