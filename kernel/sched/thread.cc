// Kernel threads: creation with guarded stacks, start, exit, join and detach.
#include "kernel/sched/thread.h"

#include <atomic>
#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/fpu.h"
#include "kernel/lib/format.h"
#include "kernel/lib/panic.h"
#include "kernel/mm/heap.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/time/clock.h"

extern "C" char thread_trampoline[];

namespace nimbus {
namespace {
std::atomic<uint64_t> g_next_id{1};
}  // namespace

Result<Thread*> Thread::try_allocate(const char* name) {
  void* memory = heap::allocate(sizeof(Thread), alignof(Thread));
  if (!memory) return error(Errno::enomem);
  auto* thread = new (memory) Thread();
  thread->m_id = g_next_id.fetch_add(1, std::memory_order_relaxed);
  format_to(thread->m_name, sizeof(thread->m_name), "%s", name);
  thread->extended_state = heap::allocate(fpu::state_size(), 64);
  if (!thread->extended_state) {
    thread->destroy();
    return error(Errno::enomem);
  }
  fpu::init_state(thread->extended_state);
  return thread;
}

Thread* Thread::adopt_current(const char* name, ThreadKind kind, const StackSet& stacks) {
  auto thread = try_allocate(name);
  if (!thread) panic_with_status(ExitStatus::out_of_memory, "out of memory adopting thread %s", name);
  (*thread)->kind = kind;
  (*thread)->state = ThreadState::running;
  (*thread)->stacks = stacks;
  return *thread;
}

void Thread::prepare_start(Entry entry, void* argument) {
  // The frame switch_context() pops: r15 r14 r13 r12 rbx rbp, then the return address.
  auto* top = reinterpret_cast<uint64_t*>(stacks.main_top);
  top[-1] = reinterpret_cast<uint64_t>(thread_trampoline);
  top[-2] = 0;                                     // rbp
  top[-3] = 0;                                     // rbx
  top[-4] = reinterpret_cast<uint64_t>(entry);     // r12
  top[-5] = reinterpret_cast<uint64_t>(argument);  // r13
  top[-6] = 0;                                     // r14
  top[-7] = 0;                                     // r15
  saved_rsp = reinterpret_cast<uint64_t>(&top[-7]);
}

Result<Thread*> Thread::try_create_with_stacks(const char* name, Entry entry, void* argument) {
  Thread* thread = TRY(try_allocate(name));
  auto stacks = kernel_stacks::try_allocate();
  if (!stacks) {
    thread->destroy();
    return error(stacks.error());
  }
  thread->stacks = *stacks;
  thread->prepare_start(entry, argument);
  return thread;
}

Result<Thread*> Thread::try_create(const char* name, Entry entry, void* argument, const CpuMask& allowed) {
  Thread* thread = TRY(try_create_with_stacks(name, entry, argument));
  thread->allowed_cpus = allowed;
  scheduler::start(thread);
  return thread;
}

Result<Thread*> Thread::try_create_pinned(const char* name, Entry entry, void* argument, uint32_t cpu_index) {
  if (cpu_index >= cpus::count() || !cpus::get(cpu_index).online.load()) return error(Errno::einval);
  Thread* thread = TRY(try_create_with_stacks(name, entry, argument));
  thread->allowed_cpus = CpuMask::only(cpu_index);
  scheduler::start_on(thread, cpus::get(cpu_index));
  return thread;
}

static void idle_loop(void*) { scheduler::idle_loop(); }

Result<Thread*> Thread::try_create_idle(uint32_t cpu_index) {
  char name[16];
  format_to(name, sizeof(name), "idle%u", cpu_index);
  Thread* thread = TRY(try_create_with_stacks(name, idle_loop, nullptr));
  thread->kind = ThreadKind::idle;
  thread->allowed_cpus = CpuMask::only(cpu_index);
  return thread;
}

void Thread::exit() {
  x86::disable_interrupts();
  current_thread()->state = ThreadState::dead;
  scheduler::yield();
  panic("a dead thread ran again");
}

void Thread::interrupt() {
  // Pairs with WaitQueue::wait_interruptible, which publishes in_interruptible_wait before it
  // checks interrupt_requested: one of the two sides sees the other.
  interrupt_requested.store(true, std::memory_order_seq_cst);
  if (in_interruptible_wait.load(std::memory_order_seq_cst)) scheduler::wake(this);
}

uint64_t Thread::cpu_time() const {
  uint64_t total = __atomic_load_n(&cpu_time_ns, __ATOMIC_RELAXED);
  // A thread running elsewhere is read without its CPU's lock: off by at most a switch.
  uint64_t since = __atomic_load_n(&running_since_ns, __ATOMIC_RELAXED);
  uint64_t now = clock::monotonic_ns();
  if (state == ThreadState::running && now > since) total += now - since;
  return total;
}

void Thread::finish_exit() {
  bool interrupts = m_exit_lock.lock();
  m_exited = true;
  bool detached = m_detached;
  m_joiners.wake_all();
  m_exit_lock.unlock(interrupts);
  if (detached) destroy();
}

void Thread::join() {
  bool interrupts = m_exit_lock.lock();
  while (!m_exited) m_joiners.wait(m_exit_lock);
  m_exit_lock.unlock(interrupts);
  destroy();
}

void Thread::detach() {
  bool interrupts = m_exit_lock.lock();
  bool exited = m_exited;
  m_detached = true;
  m_exit_lock.unlock(interrupts);
  if (exited) destroy();
}

void Thread::destroy() {
  if (stacks.region) kernel_stacks::free(stacks);
  if (extended_state) heap::free(extended_state);
  this->~Thread();
  heap::free(this);
}

}  // namespace nimbus

// First C++ code of every new thread (see thread_trampoline in context_switch.S).
extern "C" [[noreturn]] void thread_start(nimbus::Thread::Entry entry, void* argument) {
  nimbus::scheduler::finish_switch();
  nimbus::x86::enable_interrupts();
  entry(argument);
  nimbus::Thread::exit();
}
