// Address-space layout randomization with Linux x86-64's entropy (arch/x86/mm/mmap.c,
// fs/binfmt_elf.c, mm/util.c): each draw comes from the kernel's random source.
#include "kernel/linux/layout_randomization.h"

#include <cstddef>

#include "kernel/fs/kernel_random.h"
#include "kernel/mm/address_space.h"
#include "kernel/mm/physical.h"

namespace nimbus::linux {
namespace {

bool g_randomize = true;

// Linux's ELF_ET_DYN_BASE (2/3 of the 47-bit space, page aligned): a PIE's place without
// randomization.
constexpr uintptr_t kPieBase = 0x555555554000;
// mmap_rnd_bits' default and maximum on x86-64: 28 bits of pages (1 TiB), for the mmap
// base and, separately drawn, a PIE's base.
constexpr unsigned kMmapRandomBits = 28;
// STACK_RND_MASK on x86-64: 22 bits of pages (16 GiB) below the top of the address space.
constexpr unsigned kStackRandomBits = 22;
// arch_align_stack: up to 8 KiB more inside the stack, 16-byte aligned.
constexpr uint64_t kStackOffsetRange = 8192;
// arch_randomize_brk: the heap starts up to 32 MiB past the end of the image.
constexpr uint64_t kBreakRange = 32ull << 20;

uint64_t random_u64() {
  uint64_t value = 0;
  fs::kernel_random().fill(std::span(reinterpret_cast<std::byte*>(&value), sizeof(value)));
  return value;
}

uint64_t random_pages(unsigned bits) { return (random_u64() & ((uint64_t{1} << bits) - 1)) * kPageSize; }

}  // namespace

// The mmap window shrinks downward from its fixed start (it is filled upward), so the fixed
// layout is exactly the one Nimbus always had; its 28 bits fit between 0x7e0000000000 and
// 0x7f0000000000. The stack's 16 GiB stay above the window's end (0x7ff000000000).
static_assert(AddressSpace::kMmapBegin - (uint64_t{1} << (kMmapRandomBits + 12)) >= 0x7e0000000000);
static_assert(AddressSpace::kEnd - (uint64_t{1} << (kStackRandomBits + 12)) - (8ull << 20) >= AddressSpace::kMmapEnd);

ProgramLayout fixed_layout() { return {AddressSpace::kMmapBegin, kPieBase, 0, AddressSpace::kEnd, 0}; }

ProgramLayout choose_layout() {
  ProgramLayout layout = fixed_layout();
  if (!g_randomize) return layout;
  layout.mmap_begin -= random_pages(kMmapRandomBits);
  layout.pie_base += random_pages(kMmapRandomBits);
  layout.break_offset = (random_u64() % (kBreakRange / kPageSize)) * kPageSize;
  layout.stack_top -= random_pages(kStackRandomBits);
  layout.stack_offset = (random_u64() % kStackOffsetRange) & ~uint64_t{15};
  return layout;
}

void set_layout_randomization(bool enabled) { g_randomize = enabled; }
bool layout_randomization() { return g_randomize; }

}  // namespace nimbus::linux
