// A bump allocator of zeroed frames for boot.
#include "kernel/mm/early_allocator.h"

#include <cstring>

#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/boot/start_info.h"
#include "kernel/mm/physical.h"

extern "C" char __kernel_end[];

namespace nimbus::early {
namespace {
uint64_t g_begin = 0;
uint64_t g_next = 0;
uint64_t g_limit = 0;
}  // namespace

void init(const BootInfo& info) {
  uint64_t image_end = reinterpret_cast<uint64_t>(__kernel_end) - KERNEL_VIRT_BASE;
  // The usable range holding the end of the image; modules (the initrd) are skipped.
  for (size_t i = 0; i < info.range_count; i++) {
    const MemoryRange& r = info.ranges[i];
    if (r.type != MemoryType::usable || r.end <= image_end || r.begin > image_end) continue;
    g_begin = g_next = align_up(image_end, kPageSize);
    g_limit = align_down(r.end, kPageSize);
    for (size_t m = 0; m < info.module_count; m++) {
      if (info.modules[m].begin >= g_begin && info.modules[m].begin < g_limit)
        g_limit = align_down(info.modules[m].begin, kPageSize);
    }
    return;
  }
}

uint64_t allocate(uint64_t bytes) {
  bytes = align_up(bytes, kPageSize);
  if (g_next + bytes > g_limit || g_next + bytes < g_next) return 0;
  uint64_t phys = g_next;
  g_next += bytes;
  // Before the switch, the boot tables map the first GiB at the kernel base.
  void* virt = mmu::direct_map_live() ? phys_to_virt(phys)
                                      : reinterpret_cast<void*>(KERNEL_VIRT_BASE + phys);
  memset(virt, 0, bytes);
  return phys;
}

uint64_t allocate_frame() { return allocate(kPageSize); }
uint64_t used_begin() { return g_begin; }
uint64_t used_end() { return g_next; }

}  // namespace nimbus::early
