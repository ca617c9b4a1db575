// What the PVH loader tells us (hvm_start_info), copied out of low memory at entry.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus {

enum class MemoryType : uint32_t { usable = 1, reserved = 2, acpi_reclaimable = 3, acpi_nvs = 4, bad = 5 };

struct MemoryRange {
  uint64_t begin;
  uint64_t end;
  MemoryType type;
};

struct BootModule {
  uint64_t begin;
  uint64_t end;
};

struct BootInfo {
  static constexpr size_t kMaxRanges = 128;
  static constexpr size_t kMaxModules = 4;
  static constexpr size_t kMaxCommandLine = 2048;

  MemoryRange ranges[kMaxRanges];
  size_t range_count = 0;
  BootModule modules[kMaxModules];
  size_t module_count = 0;
  char command_line[kMaxCommandLine] = {};
  uint64_t rsdp_phys = 0;
  uint64_t entry_tsc = 0;

  // One past the highest RAM byte.
  uint64_t ram_end() const;
};

// Copies the start_info at `phys` (reached through the boot identity mapping). Returns
// nullptr-free errors as a message for the panic path.
const char* parse_start_info(uint64_t phys, BootInfo& info);

BootInfo& boot_info();

}  // namespace nimbus
