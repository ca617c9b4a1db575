// Kernel symbol lookup for backtraces, from the table the build embeds (.ksyms).
#pragma once

#include <cstdint>

namespace nimbus::symbols {

struct Symbol {
  const char* name;
  uint64_t offset;  // from the start of the symbol
};

// The function containing `address`, or a null name.
Symbol lookup(uint64_t address);

}  // namespace nimbus::symbols
