// Starting the application processors (Intel SDM vol. 3A 8.4.4, MP initialization).
#include "kernel/arch/x86_64/smp.h"

#include <atomic>
#include <cstring>
#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/descriptors.h"
#include "kernel/arch/x86_64/fpu.h"
#include "kernel/arch/x86_64/local_apic.h"
#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/arch/x86_64/syscall_msrs.h"
#include "kernel/arch/x86_64/tlb.h"
#include "kernel/lib/console.h"
#include "kernel/lib/panic.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/heap.h"
#include "kernel/mm/physical.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/time/clock.h"

extern "C" char ap_trampoline_start[], ap_trampoline_end[], ap_trampoline_params[];
extern "C" [[noreturn]] void ap_entry(nimbus::Cpu* cpu);

namespace nimbus::smp {

// Set by each AP once it runs in long mode with its own descriptors.
std::atomic<bool> g_ap_started{false};

namespace {

struct TrampolineParams {
  uint64_t cr3;
  uint64_t efer_extra;
  uint64_t stack;
  uint64_t cpu;
  uint64_t entry;
};


constexpr uint64_t kFirstSipiWaitNs = 10'000'000;
// Generous: under TCG with many vCPUs on few host cores an AP can take long to run.
constexpr uint64_t kStartTimeoutNs = 5'000'000'000;
constexpr uint64_t kEferNoExecute = 1u << 11;

bool wait_started(uint64_t ns) {
  uint64_t deadline = clock::monotonic_ns() + ns;
  while (!g_ap_started.load(std::memory_order_acquire)) {
    if (clock::monotonic_ns() >= deadline) return false;
    x86::pause();
  }
  return true;
}

uint64_t zeroed_frame() {
  auto frame = frames::allocate(0);
  if (!frame) panic_with_status(ExitStatus::out_of_memory, "out of memory starting CPUs");
  memset(phys_to_virt(*frame), 0, kPageSize);
  return *frame;
}

// The trampoline turns paging on while running at its physical address, so the first
// 2 MiB are identity-mapped (executable) while APs start; the mapping goes afterwards.
void set_trampoline_identity_map(bool present) {
  auto* root = phys_to_virt<uint64_t>(mmu::kernel_page_table_root());
  if (!present) {
    root[0] = 0;
    x86::write_cr3(x86::read_cr3());
    return;
  }
  uint64_t pdpt = zeroed_frame();
  uint64_t pd = zeroed_frame();
  phys_to_virt<uint64_t>(pd)[0] = mmu::pte::kPresent | mmu::pte::kWritable | mmu::pte::kLarge;
  phys_to_virt<uint64_t>(pdpt)[0] = pd | mmu::pte::kPresent | mmu::pte::kWritable;
  root[0] = pdpt | mmu::pte::kPresent | mmu::pte::kWritable;
}

Cpu* prepare_cpu(uint32_t apic_id) {
  void* memory = heap::allocate(sizeof(Cpu), alignof(Cpu));
  if (!memory) return nullptr;
  auto* cpu = new (memory) Cpu();
  cpu->apic_id = apic_id;
  auto idle = Thread::try_create_idle(static_cast<uint32_t>(cpus::count()));
  if (!idle) return nullptr;
  cpu->idle = *idle;
  cpu->current = *idle;
  (*idle)->state = ThreadState::running;
  (*idle)->cpu = cpu;
  return cpu;
}

}  // namespace

size_t start_application_processors(const uint32_t* apic_ids, size_t count) {
  uint32_t self = apic::this_cpu_id();
  size_t started = 0;
  memcpy(phys_to_virt(AP_TRAMPOLINE_PHYS), ap_trampoline_start, ap_trampoline_end - ap_trampoline_start);
  auto* params = phys_to_virt<TrampolineParams>(AP_TRAMPOLINE_PHYS + (ap_trampoline_params - ap_trampoline_start));
  set_trampoline_identity_map(true);
  for (size_t i = 0; i < count && cpus::count() < cpus::kMax; i++) {
    if (apic_ids[i] == self) continue;
    Cpu* cpu = prepare_cpu(apic_ids[i]);
    if (!cpu) panic_with_status(ExitStatus::out_of_memory, "out of memory starting CPUs");
    cpus::add(*cpu);
    params->cr3 = mmu::kernel_page_table_root();
    params->efer_extra = x86::rdmsr(x86::msr::kEfer) & kEferNoExecute;
    params->stack = cpu->idle->stacks.main_top;
    params->cpu = reinterpret_cast<uint64_t>(cpu);
    params->entry = reinterpret_cast<uint64_t>(ap_entry);
    g_ap_started.store(false, std::memory_order_release);

    apic::send_init(apic_ids[i]);
    apic::send_startup(apic_ids[i], AP_TRAMPOLINE_PHYS >> 12);
    if (!wait_started(kFirstSipiWaitNs)) {
      apic::send_startup(apic_ids[i], AP_TRAMPOLINE_PHYS >> 12);
      if (!wait_started(kStartTimeoutNs)) panic("cpu with APIC id %u did not start", apic_ids[i]);
    }
    started++;
  }
  set_trampoline_identity_map(false);
  return started;
}

}  // namespace nimbus::smp

extern "C" [[noreturn]] void ap_entry(nimbus::Cpu* cpu) {
  using namespace nimbus;
  // Drop any TLB entry of the trampoline's identity mapping.
  x86::write_cr3(mmu::kernel_page_table_root());
  x86::load_descriptors(cpu->descriptors);
  x86::set_ist(cpu->descriptors, x86::IstSlot::interrupt, cpu->idle->stacks.interrupt_top);
  x86::set_ist(cpu->descriptors, x86::IstSlot::exception, cpu->idle->stacks.exception_top);
  cpus::install_this_cpu(*cpu);
  fpu::init_this_cpu();
  tlb::init_ap();
  x86::enable_syscall_instruction();
  x86::set_cpu_number(cpu->index);
  apic::init_this_cpu();
  heap::init_this_cpu();
  smp::g_ap_started.store(true, std::memory_order_release);
  scheduler::run_ap(*cpu);
}
