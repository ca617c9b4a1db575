// The preemptive scheduler: per-CPU run queues, time slices, wake-ups, sleeping, stealing.
//
// A CPU's run queue lock is held across a context switch and released by the thread
// that resumes (finish_switch), so no other CPU can see a half-switched thread. A thread
// may be woken and queued while it is still running on its CPU on its way to sleep; it
// is then not stolen, because stealing skips the victim CPU's current thread.
#include "kernel/sched/scheduler.h"

#include <algorithm>
#include <atomic>
#include <limits>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/fpu.h"
#include "kernel/arch/x86_64/local_apic.h"
#include "kernel/arch/x86_64/tlb.h"
#include "kernel/lib/panic.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/thread.h"
#include "kernel/time/clock.h"

extern "C" void switch_context(uint64_t* save_rsp, uint64_t next_rsp);

namespace nimbus::scheduler {
namespace {

std::atomic<size_t> g_steal_start{0};

void use_thread_stacks(Cpu& cpu, Thread* thread) {
  x86::set_ist(cpu.descriptors, x86::IstSlot::interrupt, thread->stacks.interrupt_top);
  x86::set_ist(cpu.descriptors, x86::IstSlot::exception, thread->stacks.exception_top);
}

bool is_idle(const Cpu& cpu) { return cpu.current == cpu.idle; }

// Tickless: the timer is armed only for the next timer deadline, and for the end of the
// current slice when another thread waits for this CPU. Lazily: writing the timer is a
// hypervisor exit (a QEMU timer update under TCG), and a context switch would do it twice,
// so a timer already set early enough stays, and one no longer needed is left to fire
// once for nothing; the interrupt then programs the next deadline. Interrupts are disabled.
void program_timer(Cpu& cpu) {
  uint64_t deadline = std::numeric_limits<uint64_t>::max();
  cpu.timer_lock.lock_raw();
  if (Timer* t = cpu.timers.earliest()) deadline = t->deadline_ns;
  cpu.timer_lock.unlock_raw();
  // An unlocked peek: a wake-up that races with it sends an IPI that re-programs.
  if (!is_idle(cpu) && !cpu.run_queue.empty()) deadline = std::min(deadline, cpu.slice_end_ns);
  if (deadline == std::numeric_limits<uint64_t>::max()) return;
  uint64_t tsc = clock::tsc_at(deadline);
  if (tsc == 0) tsc = 1;  // 0 means "none"
  if (cpu.armed_tsc != 0 && cpu.armed_tsc <= tsc) return;
  cpu.armed_tsc = tsc;
  apic::arm_timer_at_tsc(tsc);
}

// Takes a waiting thread from the busiest other CPU. Called with this CPU's run queue
// locked; other queues are only try-locked, so two stealing CPUs cannot deadlock.
Thread* steal(Cpu& self) {
  size_t count = cpus::count();
  if (count < 2) return nullptr;
  size_t start = g_steal_start.fetch_add(1, std::memory_order_relaxed);
  Cpu* victim = nullptr;
  size_t most = 0;
  for (size_t i = 0; i < count; i++) {
    Cpu& c = cpus::get((start + i) % count);
    if (&c == &self || !c.online.load(std::memory_order_acquire)) continue;
    size_t queued = c.run_queue.size();  // a hint; re-checked under the lock
    if (queued > most) {
      most = queued;
      victim = &c;
    }
  }
  if (!victim || !victim->run_queue_lock.try_lock_raw()) return nullptr;
  Thread* thread = victim->run_queue.steal_candidate(victim->current, self.index);
  if (thread) {
    victim->run_queue.remove(thread);
    thread->cpu = &self;
  }
  victim->run_queue_lock.unlock_raw();
  return thread;
}

// Interrupts disabled on entry and on return.
void schedule() {
  Cpu& cpu = this_cpu();
  cpu.run_queue_lock.lock_raw();
  cpu.need_resched = false;
  Thread* prev = cpu.current;
  if (prev->state == ThreadState::running) {
    prev->state = ThreadState::runnable;
    if (prev->kind != ThreadKind::idle) {
      if (prev->may_run_on(cpu.index)) {
        cpu.run_queue.enqueue(prev);
      } else {
        prev->state = ThreadState::blocked;
        cpu.migrating = prev;
      }
    }
  }
  Thread* next = cpu.run_queue.dequeue();
  if (!next) next = steal(cpu);
  if (!next) next = cpu.idle;
  next->state = ThreadState::running;
  uint64_t now = clock::monotonic_ns();
  cpu.slice_end_ns = now + kTimeSliceNs;
  if (next == prev) {
    cpu.run_queue_lock.unlock_raw();
    program_timer(cpu);
    return;
  }
  next->cpu = &cpu;
  __atomic_store_n(&prev->cpu_time_ns, prev->cpu_time_ns + (now - prev->running_since_ns), __ATOMIC_RELAXED);
  __atomic_store_n(&next->running_since_ns, now, __ATOMIC_RELAXED);
  cpu.previous = prev;
  cpu.current = next;
  cpu.context_switches.fetch_add(1, std::memory_order_relaxed);
  fpu::save(prev->extended_state);
  fpu::restore(next->extended_state);
  prev->fs_base = x86::rdmsr(x86::msr::kFsBase);
  x86::wrmsr(x86::msr::kFsBase, next->fs_base);
  use_thread_stacks(cpu, next);
  cpu.syscall_stack_top = next->stacks.main_top;
  // Each process has its own page-table root. Kernel threads (the network's receive and worker
  // threads, idle) run on whatever root is loaded, as Linux's lazy TLB does: the kernel half is
  // the same in every root, and a CR3 write empties the TLB (under TCG all of QEMU's software
  // TLB), so a program woken through a kernel thread would refill it twice per wake-up. A space
  // is dropped everywhere before its tables are freed (tlb::forget). With PCIDs, loading a
  // space whose entries this CPU still holds up to date keeps them (tlb::load).
  if (next->page_tables) tlb::load(next->page_tables);
  switch_context(&prev->saved_rsp, next->saved_rsp);
  finish_switch();
}

// Wakes an idle CPU so it steals from `busy`, which has more work than it can run.
void kick_idle_cpu(const Cpu& busy) {
  for (size_t i = 0; i < cpus::count(); i++) {
    Cpu& c = cpus::get(i);
    if (&c != &busy && c.online.load(std::memory_order_acquire) && is_idle(c) && c.run_queue.empty()) {
      apic::send_ipi(c.apic_id, apic::vector::kReschedule);
      return;
    }
  }
}

void wake_sleeper(Timer* timer) { wake(static_cast<Thread*>(timer->context)); }

}  // namespace

void finish_switch() {
  Cpu& cpu = this_cpu();
  Thread* prev = cpu.previous;
  cpu.run_queue_lock.unlock_raw();
  program_timer(cpu);
  if (Thread* moving = cpu.migrating) {
    cpu.migrating = nullptr;
    wake(moving);  // placed on a CPU it may use
  }
  if (prev && prev->state == ThreadState::dead) {
    cpu.previous = nullptr;
    prev->finish_exit();
  }
}

void init_bsp(Cpu& cpu, const StackSet& stacks) {
  cpu.current = Thread::adopt_current("boot", ThreadKind::boot, stacks);
  cpu.current->cpu = &cpu;
  cpu.online.store(true, std::memory_order_release);
}

void start_idle_thread(Cpu& cpu) {
  auto idle = Thread::try_create_idle(cpu.index);
  if (!idle) panic_with_status(ExitStatus::out_of_memory, "out of memory creating the idle thread");
  cpu.idle = *idle;
  cpu.idle->cpu = &cpu;
}

namespace {

constexpr size_t kMaxIdlePollers = 8;
IdlePoller g_idle_pollers[kMaxIdlePollers];
std::atomic<size_t> g_idle_poller_count{0};
std::atomic<uint64_t> g_idle_poll_ns{0};

bool has_work(const Cpu& cpu) { return cpu.need_resched || !cpu.run_queue.empty(); }

// Ends the watch of every device this CPU's idle thread watches: their interrupts go back on.
// True when one of them had work meanwhile (it woke its thread). Interrupts are off.
bool end_idle_watch(Cpu& cpu) {
  bool work = false;
  size_t count = g_idle_poller_count.load(std::memory_order_acquire);
  for (size_t i = 0; i < count; i++)
    if ((cpu.idle_watching & (1u << i)) && g_idle_pollers[i].end(g_idle_pollers[i].context)) work = true;
  cpu.idle_watching = 0;
  return work;
}

// Before halting: watches the busy devices' rings for up to g_idle_poll_ns, with interrupts on
// (timers and other devices still interrupt; an interrupt that wakes a thread switches the idle
// thread out, and preempt_if_needed ends the watch first). True when the CPU has work (schedule
// again). Interrupts are off on entry and on return.
bool poll_while_idle(Cpu& cpu) {
  uint64_t poll_ns = g_idle_poll_ns.load(std::memory_order_relaxed);
  size_t count = g_idle_poller_count.load(std::memory_order_acquire);
  if (!poll_ns || !count) return false;
  for (size_t i = 0; i < count; i++)
    if (g_idle_pollers[i].begin(g_idle_pollers[i].context)) cpu.idle_watching |= static_cast<uint8_t>(1u << i);
  if (!cpu.idle_watching) return false;
  uint64_t end = clock::monotonic_ns() + poll_ns;
  x86::enable_interrupts();
  for (;;) {
    for (size_t i = 0; i < count; i++) {
      // Re-read each time: an interrupt may have ended the watch.
      uint8_t bit = static_cast<uint8_t>(1u << i);
      if (!(__atomic_load_n(&cpu.idle_watching, __ATOMIC_RELAXED) & bit)) continue;
      if (g_idle_pollers[i].poll(g_idle_pollers[i].context)) {
        bool interrupts = x86::save_and_disable_interrupts();
        cpu.idle_watching &= static_cast<uint8_t>(~bit);
        x86::restore_interrupts(interrupts);
      }
    }
    if (has_work(cpu) || !__atomic_load_n(&cpu.idle_watching, __ATOMIC_RELAXED) || clock::monotonic_ns() >= end) break;
    x86::pause();
  }
  x86::disable_interrupts();
  bool work = end_idle_watch(cpu);
  return work || has_work(cpu);
}

}  // namespace

void add_idle_poller(const IdlePoller& poller) {
  size_t index = g_idle_poller_count.load(std::memory_order_relaxed);
  if (index == kMaxIdlePollers) return;
  g_idle_pollers[index] = poller;
  g_idle_poller_count.store(index + 1, std::memory_order_release);
}

void set_idle_poll_ns(uint64_t ns) { g_idle_poll_ns.store(ns, std::memory_order_relaxed); }

[[noreturn]] void idle_loop() {
  for (;;) {
    x86::disable_interrupts();
    schedule();
    // Back on the idle thread: a wake-up while switching may have queued work.
    Cpu& cpu = this_cpu();
    if (has_work(cpu)) continue;
    if (poll_while_idle(cpu)) continue;
    x86::enable_interrupts_and_halt();
  }
}

[[noreturn]] void run_ap(Cpu& cpu) {
  // The AP's boot context becomes its idle thread; its stacks were allocated for it.
  cpu.online.store(true, std::memory_order_release);
  idle_loop();
}

void start(Thread* thread) {
  size_t count = cpus::count();
  CpuLoad loads[cpus::kMax];
  for (size_t i = 0; i < count; i++) {
    Cpu& c = cpus::get(i);
    loads[i] = CpuLoad{c.run_queue.size(), !is_idle(c)};
    if (!c.online.load(std::memory_order_acquire) || !thread->may_run_on(i)) loads[i] = CpuLoad{~size_t{0} / 2, true};
  }
  bool interrupts = x86::save_and_disable_interrupts();
  size_t preferred = thread->may_run_on(this_cpu().index) ? this_cpu().index : thread->allowed_cpus.first_below(count);
  size_t target = least_loaded_cpu(std::span<const CpuLoad>(loads, count), preferred);
  x86::restore_interrupts(interrupts);
  start_on(thread, cpus::get(target));
}

void start_on(Thread* thread, Cpu& cpu) {
  thread->cpu = &cpu;
  thread->state = ThreadState::blocked;
  wake(thread);
}

namespace {

// A CPU `thread` may use: its last one if allowed (warm caches), else the first allowed.
Cpu* allowed_cpu_for(Thread* thread, Cpu* last) {
  if (thread->may_run_on(last->index)) return last;
  size_t index = thread->allowed_cpus.first_below(cpus::count());
  return index < cpus::count() ? &cpus::get(index) : last;
}

// Locks the run queue of the CPU `thread` belongs to, following it if it is stolen meanwhile.
// Interrupts are disabled.
Cpu& lock_cpu_of(Thread* thread) {
  for (;;) {
    Cpu* cpu = __atomic_load_n(&thread->cpu, __ATOMIC_ACQUIRE);
    cpu->run_queue_lock.lock_raw();
    if (thread->cpu == cpu) return *cpu;
    cpu->run_queue_lock.unlock_raw();
  }
}

}  // namespace

void wake(Thread* thread) {
  bool interrupts = x86::save_and_disable_interrupts();
  Cpu& self = this_cpu();
  Cpu* target = &lock_cpu_of(thread);
  // A thread whose CPU it may no longer use moves now if it has left that CPU. One still on
  // its way to sleep (blocked, but still its CPU's current) is queued where it is and moves
  // when it next switches out (schedule() hands it on): queued elsewhere now, it could run
  // on two CPUs.
  if (Cpu* allowed = allowed_cpu_for(thread, target);
      allowed != target && thread->state == ThreadState::blocked && target->current != thread) {
    __atomic_store_n(&thread->cpu, allowed, __ATOMIC_RELEASE);
    target->run_queue_lock.unlock_raw();
    target = &lock_cpu_of(thread);
  }
  if (thread->state != ThreadState::blocked) {
    target->run_queue_lock.unlock_raw();
    x86::restore_interrupts(interrupts);
    return;
  }
  thread->state = ThreadState::runnable;
  target->run_queue.enqueue(thread);
  bool target_idle = is_idle(*target);
  size_t queued = target->run_queue.size();
  target->run_queue_lock.unlock_raw();
  if (target != &self) {
    apic::send_ipi(target->apic_id, apic::vector::kReschedule);
  } else if (target_idle) {
    self.need_resched = true;
  } else {
    program_timer(self);  // start the slice clock for the thread that now waits
  }
  if (!target_idle && queued > 0) kick_idle_cpu(*target);
  x86::restore_interrupts(interrupts);
}

void set_affinity(Thread* thread, const CpuMask& allowed) {
  bool interrupts = x86::save_and_disable_interrupts();
  Cpu& cpu = lock_cpu_of(thread);
  // Written under the run queue lock that stealing takes, so no CPU takes the thread
  // against the new mask.
  thread->allowed_cpus = allowed;
  // (A queued thread that is still this CPU's current, on its way out, stays: it moves
  // when it next switches out.)
  bool requeue = thread->state == ThreadState::runnable && !allowed.has(cpu.index) && cpu.current != thread;
  if (requeue) {
    cpu.run_queue.remove(thread);
    thread->state = ThreadState::blocked;
  }
  cpu.run_queue_lock.unlock_raw();
  if (requeue) wake(thread);  // onto a CPU it may use
  // schedule() hands the caller to a CPU it may use once its context is saved.
  if (thread == current_thread() && !allowed.has(this_cpu().index)) schedule();
  x86::restore_interrupts(interrupts);
}

void yield() {
  bool interrupts = x86::save_and_disable_interrupts();
  schedule();
  x86::restore_interrupts(interrupts);
}

void block(Spinlock& held) {
  ASSERT(!x86::interrupts_enabled());
  held.unlock_raw();
  schedule();
}

void arm_timer(Timer* timer) {
  Cpu& cpu = this_cpu();
  cpu.timer_lock.lock_raw();
  cpu.timers.insert(timer);
  bool earliest = cpu.timers.earliest() == timer;
  cpu.timer_lock.unlock_raw();
  if (earliest) program_timer(cpu);
}

bool cancel_timer(Cpu& cpu, Timer* timer) {
  bool interrupts = cpu.timer_lock.lock();
  bool armed = timer->is_armed();
  if (armed) cpu.timers.remove(timer);
  cpu.timer_lock.unlock(interrupts);
  return armed;
}

void cancel_timer_and_wait(Cpu& cpu, Timer* timer) {
  cancel_timer(cpu, timer);
  // Its callback may still run on any CPU: the one it was armed on, or one where it fired
  // before being armed again here.
  for (size_t i = 0; i < cpus::count(); i++) {
    Cpu& other = cpus::get(i);
    for (;;) {
      bool interrupts = other.timer_lock.lock();
      bool running = other.running_timer == timer;
      if (&other == &cpu && timer->is_armed()) cpu.timers.remove(timer);  // re-armed by a callback
      other.timer_lock.unlock(interrupts);
      if (!running) break;
      x86::pause();
    }
  }
}

void sleep_until(uint64_t deadline_ns) {
  bool interrupts = x86::save_and_disable_interrupts();
  Thread* self = current_thread();
  self->sleep_timer.deadline_ns = deadline_ns;
  self->sleep_timer.callback = wake_sleeper;
  self->sleep_timer.context = self;
  // Blocked before the timer is armed: it fires on this CPU, whose interrupts are off.
  self->state = ThreadState::blocked;
  arm_timer(&self->sleep_timer);
  schedule();
  x86::restore_interrupts(interrupts);
}

void sleep_for(uint64_t ns) { sleep_until(clock::monotonic_ns() + ns); }

void on_timer_interrupt() {
  Cpu& cpu = this_cpu();
  cpu.armed_tsc = 0;  // it fired (early, possibly: then the deadline is programmed again)
  uint64_t now = clock::monotonic_ns();
  for (;;) {
    cpu.timer_lock.lock_raw();
    Timer* timer = cpu.timers.pop_expired(now);
    cpu.running_timer = timer;
    cpu.timer_lock.unlock_raw();
    if (!timer) break;
    timer->callback(timer);
    // The timer may be gone by now (its owner was woken): only the CPU's own field is written.
    cpu.timer_lock.lock_raw();
    cpu.running_timer = nullptr;
    cpu.timer_lock.unlock_raw();
  }
  if (!cpu.run_queue.empty() && (is_idle(cpu) || now >= cpu.slice_end_ns)) cpu.need_resched = true;
  program_timer(cpu);
}

void on_reschedule_ipi() {
  Cpu& cpu = this_cpu();
  if (is_idle(cpu)) {
    cpu.need_resched = true;
  } else {
    program_timer(cpu);
  }
}

void preempt_if_needed() {
  Cpu& cpu = this_cpu();
  if (!cpu.need_resched) return;
  // The idle thread, interrupted while it watched devices: they must not stay without
  // interrupts while other threads run.
  if (cpu.idle_watching) end_idle_watch(cpu);
  schedule();
}

}  // namespace nimbus::scheduler
