// Per-stage boot timing (--bootchart): TSC stamps taken as each stage ends.
#pragma once

#include <cstdint>

namespace nimbus::bootchart {

void start(uint64_t entry_tsc);
void stage_done(const char* name);
// Prints "bootchart: <stage> <us> us" lines, the total, and the raw TSC count (which is the
// guest instruction count under QEMU's -icount shift=0).
void print();

}  // namespace nimbus::bootchart
