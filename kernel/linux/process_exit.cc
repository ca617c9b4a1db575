// How threads and processes end: exit, exit_group, fatal signals; zombies, SIGCHLD to the
// parent, orphans to PID 1, and the VM's end with PID 1's.
#include <cstring>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/tlb.h"
#include "kernel/fs/fs_context.h"
#include "kernel/lib/console.h"
#include "kernel/linux/futex.h"
#include "kernel/linux/volumes.h"
#include "kernel/linux/process.h"
#include "kernel/linux/ptrace.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/user_memory.h"
#include "kernel/mm/heap.h"
#include "kernel/net/kernel_net_stack.h"
#include "kernel/platform/kvm/power.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/thread.h"
#include "kernel/time/clock.h"

namespace nimbus::linux {
namespace {

// How long the VM's end waits at most for TCP peers to acknowledge what they were sent.
constexpr uint64_t kExitDrainNs = 2'000'000'000;
// si_code of SIGCHLD (uapi/asm-generic/siginfo.h).
constexpr int kCldExited = 1;
constexpr int kCldKilled = 2;
constexpr uint64_t kSaNocldwait = 2;
constexpr uint64_t kSigIgn = 1;

[[noreturn]] void end_vm(int wait_status) {
  int code = (wait_status & 0x7f) ? 128 + (wait_status & 0x7f) : (wait_status >> 8) & 0xff;
  // What the program's TCP connections hold still reaches their peers (bounded: the VM must
  // end), as on Linux, where the kernel goes on sending after the process has gone.
  net::drain_kernel_network(clock::monotonic_ns() + kExitDrainNs);
  // What the program wrote to its volumes reaches their disks before the power goes.
  sync_volumes(/*final=*/true);
  power::exit_vm(code);
}

// Wakes a parent sleeping in vfork. Under the tree lock.
void finish_vfork_locked(Process& child) {
  if (Process* parent = child.vfork_parent) {
    child.vfork_parent = nullptr;
    parent->vfork_done = true;
    parent->vfork_wait.wake_all();
  }
}

// The last thread of `process` has gone: release what it owns, make it a zombie for its
// parent (or reap it at once if the parent does not wait), and hand its children to PID 1.
void end_process(Process& process, int wait_status) {
  if (process.pid == 1) end_vm(wait_status);
  AddressSpace* space = process.space;
  fs::FsContext* files = process.files;
  // Closing the descriptors (pipe ends: readers see EOF) and the memory, without any lock.
  files->destroy();
  Process* reap = nullptr;
  {
    SpinlockGuard guard(process_tree_lock());
    process.space = nullptr;
    process.files = nullptr;
    finish_vfork_locked(process);
    Process* init = find_process_locked(1);
    while (Process* child = process.children.pop_front()) {
      child->parent = init;
      init->children.push_back(child);
      if (child->state == ProcessState::zombie) init->child_events.wake_all();
    }
    release_tracees_locked(process);
    process.state = ProcessState::zombie;
    process.wait_status = wait_status;
    // A tracer that is not the parent waits for its tracee's stops: it learns it is gone.
    if (Process* tracer = process.tracer.load(); tracer && tracer != process.parent) tracer->child_events.wake_all();
    Process& parent = *process.parent;
    uint64_t handler, flags;
    {
      SpinlockGuard actions(parent.signals.actions_lock);
      handler = parent.signals.actions[kSigchld].handler;
      flags = parent.signals.actions[kSigchld].flags;
    }
    // SIGCHLD ignored or SA_NOCLDWAIT: nobody waits for this child, so it goes now.
    bool auto_reap = process.exit_signal == kSigchld && (handler == kSigIgn || (flags & kSaNocldwait));
    if (auto_reap) {
      parent.children.remove(&process);
      reap = &process;
    }
    parent.child_events.wake_all();
    if (process.exit_signal) {
      SignalDetails details;
      details.code = (wait_status & 0x7f) ? kCldKilled : kCldExited;
      details.pid_or_timer = static_cast<int32_t>(process.pid);
      details.value = (wait_status & 0x7f) ? (wait_status & 0x7f) : (wait_status >> 8) & 0xff;
      (void)send_process_signal(parent, process.exit_signal, details);
    }
  }
  // The memory goes last: a vfork parent shares it, and the frames are many.
  space->release();
  if (reap) free_process(reap);
}

}  // namespace

// PR_SET_PDEATHSIG: the children that thread `tid` made are told it is gone, each by the
// signal its threads asked for. Linux sends it when the creating thread exits, whether or not
// its process goes on (forget_original_parent).
static void signal_parent_death(Process& process, uint32_t tid) {
  SpinlockGuard guard(process_tree_lock());
  for (Process* child = process.children.front(); child; child = process.children.next(child)) {
    if (child->creator_tid != tid || child->state != ProcessState::alive) continue;
    uint64_t wanted = 0;  // bit n-1 for signal n, gathered first: sending takes the list lock too
    with_threads(
        *child,
        [](LinuxThread& t, void* out) {
          if (t.parent_death_signal > 0) *static_cast<uint64_t*>(out) |= 1ull << (t.parent_death_signal - 1);
        },
        &wanted);
    SignalDetails details;
    details.pid_or_timer = static_cast<int32_t>(process.pid);
    for (int signal = 1; wanted; signal++, wanted >>= 1)
      if (wanted & 1) (void)send_process_signal(*child, signal, details);
  }
}

void finish_vfork(Process& child) {
  SpinlockGuard guard(process_tree_lock());
  finish_vfork_locked(child);
}

void exit_thread(int wait_status) {
  LinuxThread& self = current_linux_thread();
  Process& process = *self.process;
  // Robust futexes first (their owners die), then CLONE_CHILD_CLEARTID, as Linux's mm_release.
  futex::release_robust_list(self.robust_list, self.tid);
  signal_parent_death(process, self.tid);
  // CLONE_CHILD_CLEARTID: pthread_join waits on this word.
  if (self.clear_child_tid) {
    auto* word = reinterpret_cast<uint32_t*>(self.clear_child_tid);
    if (user::write(word, uint32_t{0})) futex::wake(word, 1, ~0u);
  }
  unregister_thread(self);
  Thread* thread = current_thread();
  process.exited_cpu_time_ns.fetch_add(thread->cpu_time());
  // Off the process's page tables before they may be freed (by this thread or the last).
  bool interrupts = x86::save_and_disable_interrupts();
  thread->page_tables = nullptr;
  tlb::load(nullptr);
  thread->linux_thread = nullptr;
  x86::restore_interrupts(interrupts);
  self.~LinuxThread();
  heap::free(&self);
  if (process.live_threads.fetch_sub(1) == 1) {
    int status = wait_status;
    {
      SpinlockGuard guard(process_tree_lock());
      if (process.exiting.load()) status = process.exit_status;
    }
    end_process(process, status);
  }
  Thread::exit();
}

void exit_process(int wait_status) {
  Process& process = current_process();
  // Killed by a sibling's execve (which goes on in this process): only this thread ends.
  LinuxThread* execing = process.exec_thread.load();
  if (execing && execing != &current_linux_thread()) exit_thread(wait_status);
  if (process.pid == 1) end_vm(wait_status);
  bool first;
  {
    SpinlockGuard guard(process_tree_lock());
    first = !process.exiting.load();
    if (first) {
      process.exit_status = wait_status;
      process.exiting.store(true);
    }
  }
  if (first) kill_other_threads(process);
  exit_thread(wait_status);
}

}  // namespace nimbus::linux
