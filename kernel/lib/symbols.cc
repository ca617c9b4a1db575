// Kernel symbol lookup. The table is generated from the first link of the kernel (see
// kernel/CMakeLists.txt) and linked last, so it never moves the code it describes.
#include "kernel/lib/symbols.h"

#include <cstddef>

struct KernelSymbol {
  uint64_t address;
  uint32_t name_offset;
  uint32_t reserved;
};

// Defined in the generated ksyms.S (empty in the first link).
extern "C" const KernelSymbol ksyms_table[];
extern "C" const uint64_t ksyms_count;
extern "C" const char ksyms_names[];

namespace nimbus::symbols {

Symbol lookup(uint64_t address) {
  size_t low = 0;
  size_t high = ksyms_count;
  // The last symbol whose address is <= address (the table is sorted).
  while (low < high) {
    size_t middle = (low + high) / 2;
    if (ksyms_table[middle].address <= address) low = middle + 1;
    else high = middle;
  }
  if (low == 0) return {nullptr, 0};
  const KernelSymbol& s = ksyms_table[low - 1];
  return {ksyms_names + s.name_offset, address - s.address};
}

}  // namespace nimbus::symbols
