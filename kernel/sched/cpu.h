// Per-CPU data, reached through the GS base: the current thread, the run queue, timers.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "kernel/arch/x86_64/descriptors.h"
#include "kernel/arch/x86_64/tlb.h"
#include "kernel/sched/run_queue.h"
#include "kernel/sched/thread.h"
#include "kernel/sched/timer_queue.h"
#include "kernel/sync/spinlock.h"

namespace nimbus {

struct Cpu {
  // The first fields are read by assembly at fixed %gs offsets (see the static_asserts).
  Cpu* self = this;  // %gs:0
  Thread* current = nullptr;  // %gs:8
  uint64_t syscall_stack_top = 0;  // %gs:16, the current thread's kernel stack for syscalls
  uint64_t user_rsp_scratch = 0;   // %gs:24, the application's %rsp during syscall entry
  uint32_t index = 0;
  uint32_t apic_id = 0;
  Thread* idle = nullptr;
  // The thread that ran before `current`, for finish_switch() on the other side.
  Thread* previous = nullptr;
  // A thread that switched out here but may no longer run here (its affinity changed):
  // finish_switch() wakes it on a CPU it may use once its context is saved.
  Thread* migrating = nullptr;

  // Lock order: run_queue_lock before timer_lock; never two CPUs' run queue locks except
  // through try_lock (work stealing).
  Spinlock run_queue_lock;
  RunQueue<Thread, &Thread::run_node> run_queue;
  Spinlock timer_lock;
  TimerQueue timers;
  Timer* running_timer = nullptr;  // whose callback runs now (guarded by timer_lock)

  bool need_resched = false;
  // The idle poller indexes (bits) whose devices this CPU's idle thread is watching, their
  // interrupts suppressed; ended before the idle thread is switched out (scheduler.cc).
  uint8_t idle_watching = 0;
  // The TSC deadline the local APIC timer is set for (0: none), kept so that a context switch
  // need not re-program it (scheduler.cc: program_timer).
  uint64_t armed_tsc = 0;
  uint64_t slice_end_ns = 0;  // when `current` should yield, if others wait
  std::atomic<bool> online{false};
  std::atomic<uint64_t> context_switches{0};

  // Which address space is loaded, and what this CPU's PCIDs tag.
  tlb::CpuTlb tlb;

  x86::CpuDescriptors descriptors;
};

static_assert(offsetof(Cpu, current) == 8 && offsetof(Cpu, syscall_stack_top) == 16 &&
              offsetof(Cpu, user_rsp_scratch) == 24);

inline Cpu& this_cpu() {
  Cpu* cpu;
  asm volatile("movq %%gs:0, %0" : "=r"(cpu));
  return *cpu;
}
inline Thread* current_thread() {
  Thread* thread;
  asm volatile("movq %%gs:8, %0" : "=r"(thread));
  return thread;
}

namespace cpus {
constexpr size_t kMax = 256;
// Registers a CPU (it gets the next index); it runs nothing until it is online.
void add(Cpu& cpu);
// Points this CPU's GS base at its Cpu.
void install_this_cpu(Cpu& cpu);
size_t count();
Cpu& get(size_t index);
}  // namespace cpus

}  // namespace nimbus
