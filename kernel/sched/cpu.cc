// The table of CPUs and this CPU's GS base.
#include "kernel/sched/cpu.h"

#include "kernel/arch/x86_64/cpu.h"

namespace nimbus::cpus {
namespace {
Cpu* g_cpus[kMax];
std::atomic<size_t> g_count{0};
}  // namespace

void add(Cpu& cpu) {
  size_t index = g_count.load(std::memory_order_relaxed);
  cpu.index = static_cast<uint32_t>(index);
  g_cpus[index] = &cpu;
  g_count.store(index + 1, std::memory_order_release);
}

void install_this_cpu(Cpu& cpu) {
  x86::wrmsr(x86::msr::kGsBase, reinterpret_cast<uint64_t>(&cpu));
}

size_t count() { return g_count.load(std::memory_order_acquire); }
Cpu& get(size_t index) { return *g_cpus[index]; }

}  // namespace nimbus::cpus
