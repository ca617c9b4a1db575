// TLBs: CR3 loads with PCIDs, and shootdowns through an IPI to the CPUs that have an address
// space loaded, one request at a time.
//
// Correctness rests on one pairing: a CPU loading a space publishes `loaded` and then reads
// the space's generation; a flush moves the generation (after changing the entries) and then
// reads every CPU's `loaded`. Both sequentially consistent, so either the flush sees the CPU
// and interrupts it, or the CPU sees the new generation and flushes the PCID as it loads.
// Kernel mappings are global (the image, the direct map) or retired rather than reused
// (kernel stacks), as without PCIDs, so only application mappings need this.
#include "kernel/arch/x86_64/tlb.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/local_apic.h"
#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/lib/console.h"
#include "kernel/lib/panic.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/cpu_mask.h"
#include "kernel/sync/mutex.h"

namespace nimbus::tlb {
namespace {

// Beyond this many pages a full flush is cheaper than invlpg one by one.
constexpr uintptr_t kMaxInvlpgPages = 64;
constexpr uintptr_t kPage = 4096;
constexpr uint32_t kCpuidPcid = 1u << 17;  // CPUID.1:ECX
constexpr uint64_t kCr4Pcide = 1u << 17;
// With CR4.PCIDE, a CR3 load with this bit keeps the TLB entries the new PCID tags.
constexpr uint64_t kCr3NoFlush = 1ull << 63;

bool g_pcids = false;
std::atomic<uint64_t> g_next_context_id{1};

enum class Kind { flush, forget, barrier };
struct Request {
  Kind kind;
  Context* context;  // null for a barrier
  uintptr_t begin = 0;
  uintptr_t end = 0;
  uint64_t generation = 0;  // the one a flush made
};

Mutex g_request_lock;  // one shootdown at a time
Request g_request{Kind::barrier, nullptr};  // written under g_request_lock, before g_pending
std::atomic<uint32_t> g_pending{0};

// Drops every application entry of the loaded PCID: a CR3 load without the no-flush bit
// (application mappings are not global).
void flush_loaded() { x86::write_cr3(x86::read_cr3()); }

void flush_loaded_range(uintptr_t begin, uintptr_t end) {
  if ((end - begin) / kPage > kMaxInvlpgPages) {
    flush_loaded();
    return;
  }
  // invlpg acts on the loaded PCID: the right one, since the space is loaded.
  for (uintptr_t va = begin & ~(kPage - 1); va < end; va += kPage) x86::invlpg(va);
}

// This CPU's part of a request. Interrupts off.
void answer(const Request& request) {
  CpuTlb& tlb = this_cpu().tlb;
  // Not loaded here: a PCID that still tags the space is behind its generation and is
  // flushed when the space is loaded again.
  if (request.kind == Kind::barrier || tlb.loaded.load(std::memory_order_relaxed) != request.context) return;
  if (request.kind == Kind::forget) {
    load(nullptr);
    return;
  }
  switch (tlb.slots.on_request(request.generation, request.context->generation.load(std::memory_order_acquire))) {
    case PcidSlots::Flush::none:
      break;
    case PcidSlots::Flush::range:
      flush_loaded_range(request.begin, request.end);
      break;
    case PcidSlots::Flush::all:
      flush_loaded();
      break;
  }
}

// The other online CPUs that must answer: those with the space loaded, or all for a barrier.
// Interrupts off (this CPU stays this CPU).
size_t choose_targets(const Request& request, CpuMask& targets) {
  size_t self = this_cpu().index;
  size_t count = 0;
  for (size_t i = 0; i < cpus::count(); i++) {
    Cpu& cpu = cpus::get(i);
    if (i == self || !cpu.online.load(std::memory_order_acquire)) continue;
    if (request.kind != Kind::barrier && cpu.tlb.loaded.load(std::memory_order_seq_cst) != request.context) continue;
    targets.add(i);
    count++;
  }
  return count;
}

bool others_online() {
  size_t online = 0;
  for (size_t i = 0; i < cpus::count(); i++) {
    if (cpus::get(i).online.load(std::memory_order_acquire)) online++;
  }
  return online > 1;
}

void shoot_down(const Request& request) {
  if (!others_online()) {
    bool interrupts = x86::save_and_disable_interrupts();
    answer(request);
    x86::restore_interrupts(interrupts);
    return;
  }
  ASSERT(x86::interrupts_enabled());
  MutexGuard guard(g_request_lock);
  x86::disable_interrupts();
  CpuMask targets;
  size_t count = choose_targets(request, targets);
  g_request = request;
  g_pending.store(static_cast<uint32_t>(count), std::memory_order_release);
  answer(request);
  for (size_t i = 0; count && i < cpus::count(); i++) {
    if (targets.has(i)) apic::send_ipi(cpus::get(i).apic_id, apic::vector::kTlbShootdown);
  }
  x86::enable_interrupts();
  // Interrupts stay enabled while waiting, so this CPU can still answer other IPIs.
  while (g_pending.load(std::memory_order_acquire) != 0) x86::pause();
}

void enable_on_this_cpu() {
  if (!g_pcids) return;
  // PCIDE may be set only while CR3 names PCID 0, as the kernel's tables do.
  x86::write_cr4(x86::read_cr4() | kCr4Pcide);
  this_cpu().tlb.slots = PcidSlots(true);
}

}  // namespace

Context::Context(uint64_t page_root)
    : root(page_root), id(g_next_context_id.fetch_add(1, std::memory_order_relaxed)) {}

void init_bsp(bool allowed) {
  g_pcids = allowed && (x86::cpuid(1).ecx & kCpuidPcid);
  enable_on_this_cpu();
  log("tlb: PCIDs %s\n", g_pcids ? "on" : allowed ? "off (the CPU has none)" : "off (nopcid)");
}

void init_ap() { enable_on_this_cpu(); }

void load(Context* context) {
  CpuTlb& tlb = this_cpu().tlb;
  if (tlb.loaded.load(std::memory_order_relaxed) == context) return;
  tlb.loaded.store(context, std::memory_order_seq_cst);
  if (!context) {
    // PCID 0 tags only kernel entries, the same in every root: nothing to drop.
    x86::write_cr3(mmu::kernel_page_table_root() | (g_pcids ? kCr3NoFlush : 0));
    return;
  }
  auto choice = tlb.slots.choose(context->id, context->generation.load(std::memory_order_seq_cst));
  x86::write_cr3(context->root | choice.pcid | (choice.flush ? 0 : kCr3NoFlush));
}

void flush_range_everywhere(Context& context, uintptr_t begin, uintptr_t end) {
  uint64_t generation = context.generation.fetch_add(1, std::memory_order_seq_cst) + 1;
  shoot_down(Request{Kind::flush, &context, begin, end, generation});
}

void forget(Context& context) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  shoot_down(Request{Kind::forget, &context});
}

void barrier_everywhere() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  shoot_down(Request{Kind::barrier, nullptr});
}

void on_shootdown_ipi() {
  (void)g_pending.load(std::memory_order_acquire);  // pairs with the sender's release
  answer(g_request);
  g_pending.fetch_sub(1, std::memory_order_acq_rel);
}

}  // namespace nimbus::tlb
