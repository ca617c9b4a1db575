// The kernel's page tables: direct map of RAM, the image with per-section permissions,
// 4 KiB mappings for kernel virtual ranges (stacks), and uncached MMIO windows.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus {
struct BootInfo;
}

namespace nimbus::mmu {

namespace pte {
constexpr uint64_t kPresent = 1ull << 0;
constexpr uint64_t kWritable = 1ull << 1;
constexpr uint64_t kWriteThrough = 1ull << 3;
constexpr uint64_t kCacheDisable = 1ull << 4;
constexpr uint64_t kLarge = 1ull << 7;
constexpr uint64_t kGlobal = 1ull << 8;
// Software bit: a private page shared with another address space since fork, read-only
// until its first write copies it (or finds it no longer shared).
constexpr uint64_t kCopyOnWrite = 1ull << 10;
constexpr uint64_t kNoExecute = 1ull << 63;
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;
}  // namespace pte

// Where page-table frames come from: the early bump allocator during boot, the frame
// allocator after. Returns the physical address of a zeroed frame, or 0.
using TableFrameSource = uint64_t (*)();

// Builds the kernel address space and switches to it. Afterwards the identity map of
// low memory is gone and the direct map is live.
void init_kernel_address_space(const BootInfo& info, TableFrameSource early_source);
void set_table_frame_source(TableFrameSource source);
// Loads the kernel page tables on an application processor.
uint64_t kernel_page_table_root();
bool direct_map_live();

// Kernel mappings (kernel_page_table_root, shared by every root).
Result<> map_page(uintptr_t virt, uint64_t phys, uint64_t flags);
// An application mapping in the page tables under `root`.
Result<> map_page_in(uint64_t root, uintptr_t virt, uint64_t phys, uint64_t flags);
// Returns the physical frame that was mapped, or 0. The caller flushes other CPUs' TLBs.
uint64_t unmap_page(uintptr_t virt);
enum class Caching { uncached, write_back };
// Maps physical memory outside RAM (device registers uncached, firmware tables cached)
// into the direct map window; returns its virtual address.
void* map_physical(uint64_t phys, size_t size, Caching caching);
// Whether `virt` is mapped (for the fault handler's diagnosis).
bool is_mapped(uintptr_t virt);
// The 4 KiB entry mapping `virt` under `root`, or 0.
uint64_t lookup_page(uint64_t root, uintptr_t virt);
// Replaces the entry mapping `virt` under `root` (which must exist). The caller flushes TLBs.
void set_entry(uint64_t root, uintptr_t virt, uint64_t entry);

// A process's root table: its own lower half (empty at first) over the kernel's upper-half
// entries, which are made once at boot and shared, so later kernel mappings show in all.
Result<uint64_t> create_root();
// Frees the lower-half page tables (their pages must already be released) and the root.
void destroy_root(uint64_t root);
// fork: copies the present entries of [begin, end) from one root to another, calling
// share_frame for each frame; with `copy_on_write` writable entries become read-only and
// copy-on-write in both. ENOMEM when a page table cannot be had (what was copied stays).
// The caller flushes TLBs for the source.
Result<> share_range(uint64_t from_root, uint64_t to_root, uintptr_t begin, uintptr_t end, bool copy_on_write,
                     void (*share_frame)(uint64_t phys));
// Replaces the permission bits of a present 4 KiB mapping; false if none. The caller
// flushes TLBs.
bool protect_page(uintptr_t virt, uint64_t flags);

// Range operations on application mappings, skipping absent page tables so that huge sparse
// ranges cost little. Unmapping is two-phase, so no frame is reused before every CPU's TLB
// has forgotten it: detach (clear present, keep the frame), flush TLBs, then release.
size_t detach_range(uint64_t root, uintptr_t begin, uintptr_t end);
void release_detached_range(uint64_t root, uintptr_t begin, uintptr_t end, void (*free_frame)(uint64_t phys));
// Gives the present and hidden entries of [begin, end) these permission bits (present again).
size_t protect_range(uint64_t root, uintptr_t begin, uintptr_t end, uint64_t flags);
// mprotect(PROT_NONE): makes the present entries of [begin, end) absent to the CPU but keeps
// their frames (a software bit marks them hidden), so that protect_range later shows the same
// data again and detach_range still frees them. The caller flushes TLBs.
size_t hide_range(uint64_t root, uintptr_t begin, uintptr_t end);
// mremap: moves the entries of [begin, end) to the same offsets from `to` (a range with no
// entries, not overlapping), frames and permissions unchanged; ENOMEM, with nothing moved,
// when a page table cannot be had. The caller flushes TLBs for [begin, end).
Result<> move_range(uint64_t root, uintptr_t begin, uintptr_t end, uintptr_t to);

// Page-table flags for an application page with these permissions.
uint64_t application_flags(bool writable, bool executable);

}  // namespace nimbus::mmu
