// Parses the PVH hvm_start_info (Xen's arch-x86/hvm/start_info.h layout, version 1).
#include "kernel/boot/start_info.h"

#include "kernel/arch/x86_64/layout.h"

namespace nimbus {
namespace {

struct HvmStartInfo {
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;
  uint32_t memmap_entries;
  uint32_t reserved;
};

struct HvmModlistEntry {
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;
  uint64_t reserved;
};

struct HvmMemmapEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
  uint32_t reserved;
};

constexpr uint32_t kStartInfoMagic = 0x336ec578;
// The boot page tables map the first GiB at the kernel's base too.
constexpr uint64_t kBootMappedLimit = 1ull << 30;

template <typename T>
const T* boot_phys(uint64_t phys) {
  return reinterpret_cast<const T*>(KERNEL_VIRT_BASE + phys);
}

BootInfo g_boot_info;

}  // namespace

uint64_t BootInfo::ram_end() const {
  uint64_t end = 0;
  for (size_t i = 0; i < range_count; i++) {
    if (ranges[i].type == MemoryType::usable && ranges[i].end > end) end = ranges[i].end;
  }
  return end;
}

BootInfo& boot_info() { return g_boot_info; }

const char* parse_start_info(uint64_t phys, BootInfo& info) {
  if (phys == 0 || phys >= kBootMappedLimit) return "no PVH start_info";
  const auto* start = boot_phys<HvmStartInfo>(phys);
  if (start->magic != kStartInfoMagic) return "bad PVH start_info magic";
  if (start->version < 1 || start->memmap_paddr == 0 || start->memmap_entries == 0)
    return "PVH start_info has no memory map";

  if (start->cmdline_paddr && start->cmdline_paddr < kBootMappedLimit) {
    const char* text = boot_phys<char>(start->cmdline_paddr);
    size_t i = 0;
    for (; text[i] && i + 1 < BootInfo::kMaxCommandLine; i++) info.command_line[i] = text[i];
    info.command_line[i] = '\0';
  }
  info.rsdp_phys = start->rsdp_paddr;

  const auto* entries = boot_phys<HvmMemmapEntry>(start->memmap_paddr);
  for (uint32_t i = 0; i < start->memmap_entries && info.range_count < BootInfo::kMaxRanges; i++) {
    if (entries[i].size == 0) continue;
    info.ranges[info.range_count++] = MemoryRange{entries[i].addr, entries[i].addr + entries[i].size,
                                                  static_cast<MemoryType>(entries[i].type)};
  }

  if (start->nr_modules && start->modlist_paddr) {
    const auto* modules = boot_phys<HvmModlistEntry>(start->modlist_paddr);
    for (uint32_t i = 0; i < start->nr_modules && info.module_count < BootInfo::kMaxModules; i++) {
      info.modules[info.module_count++] = BootModule{modules[i].paddr, modules[i].paddr + modules[i].size};
    }
  }
  return nullptr;
}

}  // namespace nimbus
