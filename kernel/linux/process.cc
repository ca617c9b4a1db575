// Processes: the table and tree, the threads of all processes, PID 1's start, and the
// initial stack every program (PID 1's or execve's) starts on.
#include "kernel/linux/process.h"

#include <atomic>
#include <cstring>
#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/tlb.h"
#include "kernel/fs/fs_context.h"
#include "kernel/fs/kernel_random.h"
#include "kernel/lib/console.h"
#include "kernel/lib/panic.h"
#include "kernel/linux/elf_loader.h"
#include "kernel/linux/procfs.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/vdso_mapping.h"
#include "kernel/mm/heap.h"
#include "kernel/mm/physical.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/thread.h"

extern "C" [[noreturn]] void enter_application(uint64_t entry, uint64_t stack);

namespace nimbus::linux {
namespace {

// Lock order: the tree lock, then the thread-list lock, then a process's signal locks.
Spinlock g_tree_lock;
IntrusiveList<Process, &Process::table_node> g_processes;
uint32_t g_next_pid = 1;  // under g_tree_lock
// Linux's default pid_max is 4194304; numbers are not reused here before wrapping.
constexpr uint32_t kPidMax = 4194304;

Spinlock g_threads_lock;
IntrusiveList<LinuxThread, &LinuxThread::node> g_threads;

// The main stack: 8 MiB reserved (filled on touch), below an unmapped guard gap.
constexpr size_t kStackSize = 8ull << 20;
constexpr size_t kInitialStackPages = 16;

// AT_* keys (linux/auxvec.h).
enum : uint64_t {
  kAtNull = 0, kAtPhdr = 3, kAtPhent = 4, kAtPhnum = 5, kAtPagesz = 6, kAtBase = 7, kAtFlags = 8,
  kAtEntry = 9, kAtUid = 11, kAtEuid = 12, kAtGid = 13, kAtEgid = 14, kAtPlatform = 15, kAtHwcap = 16,
  kAtClktck = 17, kAtSecure = 23, kAtRandom = 25, kAtHwcap2 = 26, kAtExecfn = 31, kAtSysinfoEhdr = 33,
  kAtMinsigstksz = 51,
};

// Builds argc, argv, envp and the auxiliary vector at the top of the stack (psABI 3.4.1).
Result<uintptr_t> build_initial_stack(const Program& program, const LoadedImage& image, uintptr_t vdso,
                                      uintptr_t top) {
  uintptr_t sp = top;
  auto push_bytes = [&](const void* data, size_t n) {
    sp -= n;
    memcpy(reinterpret_cast<void*>(sp), data, n);
    return sp;
  };
  auto push_string = [&](const char* s) { return push_bytes(s, strlen(s) + 1); };

  uintptr_t execfn = push_string(program.path);
  uintptr_t platform = push_string("x86_64");
  std::byte random[16];
  fs::kernel_random().fill(random);
  uintptr_t random_at = push_bytes(random, sizeof(random));

  size_t argc = 0, envc = 0;
  while (program.argv[argc]) argc++;
  while (program.envp[envc]) envc++;
  uintptr_t* strings = static_cast<uintptr_t*>(heap::allocate((argc + envc + 1) * sizeof(uintptr_t), 8));
  if (!strings) return error(Errno::enomem);
  for (size_t i = 0; i < envc; i++) strings[argc + i] = push_string(program.envp[i]);
  for (size_t i = 0; i < argc; i++) strings[i] = push_string(program.argv[i]);

  const uint64_t auxv[][2] = {
      {kAtPhdr, image.phdr}, {kAtPhent, image.phent}, {kAtPhnum, image.phnum}, {kAtPagesz, kPageSize},
      {kAtBase, image.interpreter_base}, {kAtFlags, 0}, {kAtEntry, image.program_entry}, {kAtUid, 0},
      {kAtEuid, 0}, {kAtGid, 0}, {kAtEgid, 0}, {kAtPlatform, platform}, {kAtHwcap, x86::cpuid(1).edx},
      {kAtClktck, 100}, {kAtSecure, 0}, {kAtRandom, random_at}, {kAtHwcap2, 0}, {kAtExecfn, execfn},
      {kAtSysinfoEhdr, vdso}, {kAtMinsigstksz, minimum_signal_stack_size()}, {kAtNull, 0},
  };
  size_t words = 1 + argc + 1 + envc + 1 + 2 * (sizeof(auxv) / sizeof(auxv[0]));
  sp = align_down(sp - words * 8, 16);
  auto* out = reinterpret_cast<uint64_t*>(sp);
  *out++ = argc;
  for (size_t i = 0; i < argc; i++) *out++ = strings[i];
  *out++ = 0;
  for (size_t i = 0; i < envc; i++) *out++ = strings[argc + i];
  *out++ = 0;
  for (const auto& pair : auxv) {
    *out++ = pair[0];
    *out++ = pair[1];
  }
  heap::free(strings);
  return sp;
}

// What the initial stack holds besides the strings: pointers, auxv, alignment.
size_t initial_stack_bytes(const Program& program, const ProgramLayout& layout) {
  size_t bytes = layout.stack_offset + strlen(program.path) + 64 + 64 * 8;
  for (const char* const* p = program.argv; *p; p++) bytes += strlen(*p) + 1 + 8;
  for (const char* const* p = program.envp; *p; p++) bytes += strlen(*p) + 1 + 8;
  return bytes;
}

struct StartInfo {
  uint64_t entry;
  uint64_t stack;
  LinuxThread* thread;
};

void start_application(void* argument) {
  auto* start = static_cast<StartInfo*>(argument);
  uint64_t entry = start->entry, stack = start->stack;
  LinuxThread* thread = start->thread;
  heap::free(start);
  adopt_linux_thread(*thread, 0);
  enter_application(entry, stack);
}

}  // namespace

void ProgramStrings::release() {
  if (references.fetch_sub(1, std::memory_order_acq_rel) == 1) heap::free(this);
}

Spinlock& process_tree_lock() { return g_tree_lock; }

Process& current_process() { return *current_thread()->linux_thread->process; }

Process* find_process_locked(uint32_t pid) {
  for (Process* p = g_processes.front(); p; p = g_processes.next(p)) {
    if (p->pid == pid) return p;
  }
  return nullptr;
}

bool group_exists_locked(uint32_t pgid, uint32_t sid) {
  for (Process* p = g_processes.front(); p; p = g_processes.next(p)) {
    if (p->pgid == pgid && (sid == 0 || p->sid == sid)) return true;
  }
  return false;
}

bool group_is_orphaned_locked(uint32_t pgid) {
  for (Process* p = g_processes.front(); p; p = g_processes.next(p)) {
    if (p->pgid != pgid || p->state != ProcessState::alive || !p->parent) continue;
    if (p->parent->pgid != pgid && p->parent->sid == p->sid) return false;
  }
  return true;
}

void for_each_process_locked(void (*f)(Process&, void*), void* context) {
  for (Process* p = g_processes.front(); p; p = g_processes.next(p)) f(*p, context);
}

void with_processes(void (*f)(Process&, void*), void* context) {
  SpinlockGuard guard(g_tree_lock);
  for (Process* p = g_processes.front(); p; p = g_processes.next(p)) f(*p, context);
}

namespace {
// The next number no process has, wrapping at pid_max (PID 1 stays taken while the VM runs);
// 0 if there is none.
uint32_t allocate_id_locked() {
  for (uint32_t tries = 0; tries < kPidMax; tries++) {
    uint32_t id = g_next_pid;
    g_next_pid = g_next_pid + 1 >= kPidMax ? 2 : g_next_pid + 1;
    if (!find_process_locked(id)) return id;
  }
  return 0;
}
}  // namespace

uint32_t allocate_id() {
  SpinlockGuard guard(g_tree_lock);
  return allocate_id_locked();
}

Result<Process*> create_process() {
  void* memory = heap::allocate(sizeof(Process), alignof(Process));
  if (!memory) return error(Errno::enomem);
  auto* process = new (memory) Process();
  SpinlockGuard guard(g_tree_lock);
  process->pid = allocate_id_locked();
  if (process->pid == 0) {
    process->~Process();
    heap::free(process);
    return error(Errno::eagain);
  }
  g_processes.push_back(process);
  return process;
}

void free_process(Process* process) {
  {
    SpinlockGuard guard(g_tree_lock);
    g_processes.remove(process);
  }
  if (process->strings) process->strings->release();
  process->~Process();
  heap::free(process);
}

void register_thread(LinuxThread& thread) {
  SpinlockGuard guard(g_threads_lock);
  g_threads.push_back(&thread);
}

void unregister_thread(LinuxThread& thread) {
  SpinlockGuard guard(g_threads_lock);
  g_threads.remove(&thread);
}

bool with_thread(uint32_t tid, void (*f)(LinuxThread&, void*), void* context) {
  Process* own = tid == 0 ? &current_process() : nullptr;
  SpinlockGuard guard(g_threads_lock);
  for (LinuxThread* t = g_threads.front(); t; t = g_threads.next(t)) {
    if (tid == 0 ? t->process == own : t->tid == tid) {
      f(*t, context);
      return true;
    }
  }
  return false;
}

void with_threads(Process& process, void (*f)(LinuxThread&, void*), void* context) {
  SpinlockGuard guard(g_threads_lock);
  for (LinuxThread* t = g_threads.front(); t; t = g_threads.next(t)) {
    if (t->process == &process) f(*t, context);
  }
}

void with_threads(void (*f)(LinuxThread&, void*), void* context) { with_threads(current_process(), f, context); }

void adopt_linux_thread(LinuxThread& thread, uint64_t fs_base) {
  Thread* self = current_thread();
  thread.thread = self;
  bool interrupts = x86::save_and_disable_interrupts();
  self->linux_thread = &thread;
  self->page_tables = &thread.process->space->tlb_context();
  tlb::load(self->page_tables);
  self->fs_base = fs_base;
  x86::wrmsr(x86::msr::kFsBase, fs_base);
  x86::restore_interrupts(interrupts);
  register_thread(thread);
}

uint64_t process_cpu_time_ns() {
  Process& process = current_process();
  uint64_t total = process.exited_cpu_time_ns.load();
  with_threads(process, [](LinuxThread& t, void* sum) { *static_cast<uint64_t*>(sum) += t.thread->cpu_time(); },
               &total);
  return total;
}

AddressSpace& address_space() { return *current_process().space; }
bool has_process() {
  LinuxThread* thread = current_thread()->linux_thread;
  return thread && thread->process->space;
}
SyscallFrame*& current_syscall_frame() { return current_thread()->syscall_frame; }
LinuxThread& current_linux_thread() { return *current_thread()->linux_thread; }

Result<uintptr_t> prepare_program_stack(AddressSpace& space, const Program& program, const LoadedImage& image,
                                        const ProgramLayout& layout, ProcessInfo& info) {
  uintptr_t top = layout.stack_top;
  uint32_t stack_prot = prot::kRead | prot::kWrite | (image.executable_stack ? prot::kExec : 0);
  TRY(space.map(top - kStackSize, kStackSize, stack_prot, AddressSpace::Placement::fixed, false, nullptr, 0));
  size_t needed = align_up(initial_stack_bytes(program, layout), kPageSize);
  // ARG_MAX: Linux allows a quarter of the stack limit for the strings.
  if (needed > kStackSize / 4) return error(Errno::e2big);
  size_t populate = needed > kInitialStackPages * kPageSize ? needed : kInitialStackPages * kPageSize;
  TRY(space.populate(top - populate, populate));
  uintptr_t vdso = TRY(map_vdso(space));
  info.stack_begin = top - kStackSize;
  info.stack_end = top;
  info.vdso_begin = vdso - kPageSize;
  info.vdso_end = vdso + kPageSize * 4;
  info.heap_begin = image.break_base;
  return build_initial_stack(program, image, vdso, top - layout.stack_offset);
}

int run_program(const Program& program, MappedFile& exe, uint64_t exe_size, OpenFile open_interpreter,
                fs::FsContext& files) {
  auto created = create_process();
  ProgramLayout layout = choose_layout();
  auto space = AddressSpace::try_create(layout.mmap_begin);
  auto* thread = static_cast<LinuxThread*>(heap::allocate(sizeof(LinuxThread), alignof(LinuxThread)));
  auto* start = static_cast<StartInfo*>(heap::allocate(sizeof(StartInfo)));
  if (!created || !space || !thread || !start) {
    print("nimbus: out of memory creating the process\n");
    return static_cast<int>(ExitStatus::out_of_memory);
  }
  Process& init = **created;
  init.pgid = init.sid = init.pid;
  init.space = *space;
  init.files = &files;
  auto image = load_elf(*init.space, exe, exe_size, open_interpreter, layout);
  if (!image) {
    print("nimbus: cannot run %s: %s\n", program.path, image.error().reason);
    return static_cast<int>(ExitStatus::bad_executable);
  }
  init.space->set_break_base(image->break_base);
  init.info = ProcessInfo{program.path, program.argv, program.envp};
  // The stack is written through the new page tables: this boot thread runs on them a moment.
  Thread* self = current_thread();
  bool interrupts = x86::save_and_disable_interrupts();
  self->page_tables = &init.space->tlb_context();
  tlb::load(self->page_tables);
  x86::restore_interrupts(interrupts);
  auto stack = prepare_program_stack(*init.space, program, *image, layout, init.info);
  interrupts = x86::save_and_disable_interrupts();
  self->page_tables = nullptr;
  tlb::load(nullptr);
  x86::restore_interrupts(interrupts);
  if (!stack) {
    print("nimbus: out of memory for the initial stack\n");
    return static_cast<int>(ExitStatus::out_of_memory);
  }
  new (thread) LinuxThread();
  thread->tid = init.pid;
  thread->process = &init;
  init.live_threads.store(1);
  *start = StartInfo{image->entry, *stack, thread};
  auto kernel_thread = Thread::try_create("main", start_application, start);
  if (!kernel_thread) {
    print("nimbus: out of memory starting the program\n");
    return static_cast<int>(ExitStatus::out_of_memory);
  }
  // The program ends the VM through PID 1's end (exit_group, or its last thread's exit).
  (*kernel_thread)->join();
  return 0;
}

}  // namespace nimbus::linux
