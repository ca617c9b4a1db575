// The exception table, gathered by the linker from every .ex_table section.
#include "kernel/arch/x86_64/exception_table.h"

extern "C" const nimbus::exception_table::Entry __ex_table_start[], __ex_table_end[];

namespace nimbus::exception_table {

const Entry* find(uint64_t rip) {
  // A handful of entries, looked up only on a fault the page could not serve: a scan is enough.
  for (const Entry* e = __ex_table_start; e < __ex_table_end; e++) {
    if (e->fault_rip == rip) return e;
  }
  return nullptr;
}

}  // namespace nimbus::exception_table
