// TLB shootdown through an IPI to all other CPUs, one request at a time.
#include "kernel/arch/x86_64/tlb.h"

#include <atomic>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/local_apic.h"
#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/lib/panic.h"
#include "kernel/sched/cpu.h"
#include "kernel/sync/mutex.h"

namespace nimbus::tlb {
namespace {

// Beyond this many pages a full flush is cheaper than invlpg one by one.
constexpr uintptr_t kMaxInvlpgPages = 64;
constexpr uintptr_t kPage = 4096;

Mutex g_request_lock;  // one shootdown at a time
std::atomic<uintptr_t> g_begin{0};
std::atomic<uintptr_t> g_end{0};
std::atomic<uint32_t> g_pending{0};
std::atomic<uint64_t> g_forgotten_root{0};  // a root to leave, with the flush (0: none)

void flush_local(uintptr_t begin, uintptr_t end) {
  if ((end - begin) / kPage > kMaxInvlpgPages) {
    // Application mappings are not global, so reloading CR3 drops them all.
    x86::write_cr3(x86::read_cr3());
    return;
  }
  for (uintptr_t va = begin & ~(kPage - 1); va < end; va += kPage) x86::invlpg(va);
}


// Leaves `root` for the kernel's tables when this CPU has it loaded. Interrupts are off.
void leave_root_locally(uint64_t root) {
  if (root && x86::read_cr3() == root) x86::write_cr3(mmu::kernel_page_table_root());
}

void shoot_down(uintptr_t begin, uintptr_t end, uint64_t forgotten_root) {
  size_t others = 0;
  for (size_t i = 0; i < cpus::count(); i++) {
    if (cpus::get(i).online.load(std::memory_order_acquire)) others++;
  }
  others--;  // this CPU
  if (others == 0) {
    bool interrupts = x86::save_and_disable_interrupts();
    flush_local(begin, end);
    leave_root_locally(forgotten_root);
    x86::restore_interrupts(interrupts);
    return;
  }
  ASSERT(x86::interrupts_enabled());
  MutexGuard guard(g_request_lock);
  g_begin.store(begin, std::memory_order_relaxed);
  g_end.store(end, std::memory_order_relaxed);
  g_forgotten_root.store(forgotten_root, std::memory_order_relaxed);
  g_pending.store(static_cast<uint32_t>(others), std::memory_order_release);
  bool interrupts = x86::save_and_disable_interrupts();
  flush_local(begin, end);
  leave_root_locally(forgotten_root);
  apic::send_ipi_all_but_self(apic::vector::kTlbShootdown);
  x86::restore_interrupts(interrupts);
  // Interrupts stay enabled while waiting, so this CPU can still answer other IPIs.
  while (g_pending.load(std::memory_order_acquire) != 0) x86::pause();
}

}  // namespace

void flush_range_everywhere(uintptr_t begin, uintptr_t end) { shoot_down(begin, end, 0); }

// The scheduler switches to a kernel thread without loading the kernel's tables (they are in
// every root): a CPU may still have a process's root loaded after the process left it.
void forget_page_root(uint64_t root) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  shoot_down(0, 0, root);
}

void barrier_everywhere() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  flush_range_everywhere(0, 0);
}

void on_shootdown_ipi() {
  flush_local(g_begin.load(std::memory_order_relaxed), g_end.load(std::memory_order_relaxed));
  leave_root_locally(g_forgotten_root.load(std::memory_order_relaxed));
  g_pending.fetch_sub(1, std::memory_order_acq_rel);
}

}  // namespace nimbus::tlb
