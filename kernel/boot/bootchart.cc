// Per-stage boot timing.
#include "kernel/boot/bootchart.h"

#include <cstddef>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/lib/console.h"
#include "kernel/time/clock.h"

namespace nimbus::bootchart {
namespace {
struct Stamp {
  const char* name;
  uint64_t tsc;
};
constexpr size_t kMaxStages = 32;
Stamp g_stamps[kMaxStages];
size_t g_count = 0;
uint64_t g_entry_tsc = 0;
}  // namespace

void start(uint64_t entry_tsc) { g_entry_tsc = entry_tsc; }

void stage_done(const char* name) {
  if (g_count < kMaxStages) g_stamps[g_count++] = {name, x86::rdtsc()};
}

void print() {
  uint64_t previous = g_entry_tsc;
  for (size_t i = 0; i < g_count; i++) {
    uint64_t ns = clock::tsc_to_ns(g_stamps[i].tsc - previous);
    nimbus::print("bootchart: %-16s %6lu.%03lu us  %8lu tsc\n", g_stamps[i].name, ns / 1000, ns % 1000,
                  g_stamps[i].tsc - previous);
    previous = g_stamps[i].tsc;
  }
  uint64_t total_tsc = previous - g_entry_tsc;
  uint64_t ns = clock::tsc_to_ns(total_tsc);
  nimbus::print("bootchart: total %lu.%03lu us\n", ns / 1000, ns % 1000);
  nimbus::print("bootchart: total-tsc %lu\n", total_tsc);
  nimbus::print("bootchart: tsc-khz %lu (%s)\n", clock::tsc_khz(), clock::source_name());
}

}  // namespace nimbus::bootchart
