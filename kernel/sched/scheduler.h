// The preemptive scheduler: per-CPU run queues, time slices, wake-ups, sleeping, stealing.
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"
#include "kernel/sched/cpu_mask.h"

namespace nimbus {

class Thread;
struct StackSet;
struct Cpu;
struct InterruptFrame;
class Spinlock;
struct Timer;

namespace scheduler {

constexpr uint64_t kTimeSliceNs = 4'000'000;

// The boot code, running on `stacks`, becomes the bootstrap CPU's first thread.
void init_bsp(Cpu& cpu, const StackSet& stacks);
// On an application processor: makes its boot context the idle thread and never returns.
[[noreturn]] void run_ap(Cpu& cpu);
// The body of every idle thread: run whatever is runnable, else halt until an interrupt.
[[noreturn]] void idle_loop();
// Creates this CPU's idle thread (bootstrap CPU) once threads can be created.
void start_idle_thread(Cpu& cpu);

// Puts a new thread on the least-loaded CPU.
void start(Thread* thread);
// Puts a new thread on `cpu`.
void start_on(Thread* thread, Cpu& cpu);
// Makes a blocked thread runnable (no effect otherwise). Safe from interrupt handlers.
void wake(Thread* thread);
void yield();
// Restricts where `thread` runs (at least one online CPU of `allowed`; the caller checks). The
// calling thread moves at once if it may no longer run here; a thread waiting in a run queue
// moves now; one running elsewhere moves when it next leaves its CPU.
void set_affinity(Thread* thread, const CpuMask& allowed);
// Gives up the CPU; the current thread's state must already be blocked or dead, set
// under `held`, which is released here without re-enabling interrupts. Interrupts must
// be disabled; they stay disabled on return.
void block(Spinlock& held);
void sleep_until(uint64_t deadline_ns);
void sleep_for(uint64_t ns);

// Arms `timer` on this CPU (interrupts must be disabled).
void arm_timer(Timer* timer);
// Disarms a timer armed on `cpu`; false if it already fired.
bool cancel_timer(Cpu& cpu, Timer* timer);
// As cancel_timer, and if its callback is running on `cpu`, waits until it has returned,
// so the caller may free the timer. Not from the timer's own callback.
void cancel_timer_and_wait(Cpu& cpu, Timer* timer);

// Interrupt entry points.
void on_timer_interrupt();
void on_reschedule_ipi();
// Called on the way out of every interrupt: switches threads if one is due.
void preempt_if_needed();

// Interrupt suppression with bounded polling: a driver whose device is busy lets the idle loop
// watch its ring for a while before the CPU halts. Under TCG a halted vCPU is woken by a host
// thread signal, and each device interrupt costs an injection, a status read, an acknowledgement
// and an EOI, all exits to QEMU; a frame found by polling costs none of them.
struct IdlePoller {
  // With interrupts off, on an idle CPU: true when the device is busy enough to be watched; it
  // then suppresses its interrupts (one CPU at a time watches a device).
  bool (*begin)(void* context);
  // Interrupts on or off: true when it found work (it woke the thread that does it, and keeps
  // its interrupts suppressed for that thread); the watch ends.
  bool (*poll)(void* context);
  // With interrupts off, when the watch ends without work found: interrupts back on; true when
  // work arrived meanwhile (it woke its thread).
  bool (*end)(void* context);
  void* context;
};
// Registers a poller for the kernel's lifetime (at most 8).
void add_idle_poller(const IdlePoller& poller);
// How long an idle CPU polls (0: never); the boot option idle_poll_us.
void set_idle_poll_ns(uint64_t ns);

// Called by a new thread on its first run.
void finish_switch();

}  // namespace scheduler
}  // namespace nimbus
