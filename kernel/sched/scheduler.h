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

// Called by a new thread on its first run.
void finish_switch();

}  // namespace scheduler
}  // namespace nimbus
