// A kernel thread: its saved context, stacks, extended FPU state and life cycle.
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/result.h"
#include "kernel/mm/kernel_stacks.h"
#include "kernel/sched/cpu_mask.h"
#include "kernel/sched/timer_queue.h"
#include "kernel/sync/wait_queue.h"

namespace nimbus {

struct Cpu;
namespace tlb {
struct Context;
}
namespace linux {
struct LinuxThread;
struct SyscallFrame;
}  // namespace linux

enum class ThreadState : uint8_t { runnable, running, blocked, dead };
enum class ThreadKind : uint8_t { normal, idle, boot };

class Thread {
 public:
  using Entry = void (*)(void*);

  // Creates a thread that starts running `entry(argument)` at once, on the least-loaded
  // CPU of `allowed` (later moved by work stealing, within `allowed`). Join or detach it.
  static Result<Thread*> try_create(const char* name, Entry entry, void* argument,
                                    const CpuMask& allowed = CpuMask::all());
  // As try_create(), but the thread runs only on CPU `cpu_index`.
  static Result<Thread*> try_create_pinned(const char* name, Entry entry, void* argument, uint32_t cpu_index);
  // Waits for the thread to end and frees it.
  void join();
  // The thread frees itself when it ends.
  void detach();
  [[noreturn]] static void exit();

  uint64_t id() const { return m_id; }
  // Ends the thread's interruptible wait, if it is in one, or its next one.
  void interrupt();
  // CPU time used so far, the current turn included when it is running.
  uint64_t cpu_time() const;
  bool may_run_on(size_t cpu_index) const { return allowed_cpus.has(cpu_index); }
  const char* name() const { return m_name; }

  // --- used by the scheduler ---
  uint64_t saved_rsp = 0;  // first: switch_context() stores here
  Cpu* cpu = nullptr;
  ThreadState state = ThreadState::runnable;
  ThreadKind kind = ThreadKind::normal;
  // Where the thread may run (sched_setaffinity; one CPU for pinned and idle threads).
  // Changed through scheduler::set_affinity.
  CpuMask allowed_cpus = CpuMask::all();
  ListNode run_node;  // in a run queue
  Timer sleep_timer;
  bool timed_out = false;
  void* extended_state = nullptr;  // xsave area, 64-byte aligned
  StackSet stacks;
  // Application threads: the %fs base (TLS), saved and restored on every switch; the Linux
  // per-thread state; the registers of the syscall in progress.
  uint64_t fs_base = 0;
  // The page tables the thread runs on (its process's); null: the kernel's.
  tlb::Context* page_tables = nullptr;
  // CPU time: what the thread ran before its current turn, and when that turn began.
  uint64_t cpu_time_ns = 0;
  uint64_t running_since_ns = 0;
  // A signal (or another reason to stop waiting) is there: interruptible waits end early.
  // Set through interrupt(); cleared by whoever decides nothing is left to deliver.
  std::atomic<bool> interrupt_requested{false};
  std::atomic<bool> in_interruptible_wait{false};
  linux::LinuxThread* linux_thread = nullptr;
  linux::SyscallFrame* syscall_frame = nullptr;

  // Wraps the running boot code (or an AP's first context) as a thread.
  static Thread* adopt_current(const char* name, ThreadKind kind, const StackSet& stacks);
  static Result<Thread*> try_create_idle(uint32_t cpu_index);
  // Called once the thread can no longer run: wakes joiners or frees a detached thread.
  void finish_exit();

 private:
  Thread() = default;
  static Result<Thread*> try_allocate(const char* name);
  void prepare_start(Entry entry, void* argument);
  static Result<Thread*> try_create_with_stacks(const char* name, Entry entry, void* argument);
  void destroy();

  uint64_t m_id = 0;
  char m_name[24] = {};
  Spinlock m_exit_lock;  // guards m_exited, m_detached, m_joiners
  bool m_exited = false;
  bool m_detached = false;
  WaitQueue m_joiners;
};

}  // namespace nimbus
