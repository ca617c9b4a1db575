// The one Linux process: loading the program, its initial stack, its first thread, exit.
#include "kernel/linux/process.h"

#include <atomic>
#include <cstring>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/fs/kernel_random.h"
#include "kernel/lib/console.h"
#include "kernel/lib/panic.h"
#include "kernel/linux/elf_loader.h"
#include "kernel/linux/procfs.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/user_memory.h"
#include "kernel/linux/vdso_mapping.h"
#include "kernel/mm/heap.h"
#include "kernel/mm/physical.h"
#include "kernel/net/kernel_net_stack.h"
#include "kernel/platform/kvm/power.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/spinlock.h"
#include "kernel/time/clock.h"

extern "C" [[noreturn]] void enter_application(uint64_t entry, uint64_t stack);

namespace nimbus::linux {
namespace {

AddressSpace* g_space = nullptr;
LinuxThread g_main_thread;
Spinlock g_threads_lock;
IntrusiveList<LinuxThread, &LinuxThread::node> g_threads;

// The main stack: 8 MiB reserved (filled on touch), below an unmapped guard gap.
constexpr uintptr_t kStackTop = AddressSpace::kEnd;
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
uintptr_t build_initial_stack(const Program& program, const LoadedImage& image, uintptr_t vdso) {
  uintptr_t sp = kStackTop;
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

struct StartInfo {
  uint64_t entry;
  uint64_t stack;
};

void start_application(void* argument) {
  auto* start = static_cast<StartInfo*>(argument);
  uint64_t entry = start->entry, stack = start->stack;
  heap::free(start);
  Thread* self = current_thread();
  self->linux_thread = &g_main_thread;
  g_main_thread.thread = self;
  register_thread(g_main_thread);
  enter_application(entry, stack);
}

}  // namespace

void register_thread(LinuxThread& thread) {
  SpinlockGuard guard(g_threads_lock);
  g_threads.push_back(&thread);
}

void unregister_thread(LinuxThread& thread) {
  SpinlockGuard guard(g_threads_lock);
  g_threads.remove(&thread);
}

bool with_thread(uint32_t tid, void (*f)(LinuxThread&, void*), void* context) {
  SpinlockGuard guard(g_threads_lock);
  for (LinuxThread* t = g_threads.front(); t; t = g_threads.next(t)) {
    if (tid == 0 || t->tid == tid) {
      f(*t, context);
      return true;
    }
  }
  return false;
}

void with_threads(void (*f)(LinuxThread&, void*), void* context) {
  SpinlockGuard guard(g_threads_lock);
  for (LinuxThread* t = g_threads.front(); t; t = g_threads.next(t)) f(*t, context);
}

namespace {
std::atomic<uint64_t> g_exited_cpu_time_ns{0};
}  // namespace

void account_exited_thread_time(uint64_t ns) { g_exited_cpu_time_ns.fetch_add(ns); }

uint64_t process_cpu_time_ns() {
  uint64_t total = g_exited_cpu_time_ns.load();
  with_threads([](LinuxThread& t, void* sum) { *static_cast<uint64_t*>(sum) += t.thread->cpu_time(); }, &total);
  return total;
}

AddressSpace& address_space() { return *g_space; }
bool has_process() { return g_space != nullptr; }
SyscallFrame*& current_syscall_frame() { return current_thread()->syscall_frame; }
LinuxThread& current_linux_thread() { return *current_thread()->linux_thread; }
LinuxThread& main_linux_thread() { return g_main_thread; }

int run_program(const Program& program, MappedFile& exe, uint64_t exe_size, OpenFile open_interpreter) {
  auto space = AddressSpace::try_create();
  if (!space) {
    print("nimbus: out of memory creating the address space\n");
    return static_cast<int>(ExitStatus::out_of_memory);
  }
  g_space = *space;
  auto image = load_elf(*g_space, exe, exe_size, open_interpreter);
  if (!image) {
    print("nimbus: cannot run %s: %s\n", program.path, image.error().reason);
    return static_cast<int>(ExitStatus::bad_executable);
  }
  g_space->set_break_base(image->break_base);
  uint32_t stack_prot = prot::kRead | prot::kWrite | (image->executable_stack ? prot::kExec : 0);
  auto stack = g_space->map(kStackTop - kStackSize, kStackSize, stack_prot, AddressSpace::Placement::fixed, false,
                            nullptr, 0);
  if (!stack || !g_space->populate(kStackTop - kInitialStackPages * kPageSize, kInitialStackPages * kPageSize)) {
    print("nimbus: out of memory for the initial stack\n");
    return static_cast<int>(ExitStatus::out_of_memory);
  }
  auto vdso = map_vdso(*g_space);
  auto* start = static_cast<StartInfo*>(heap::allocate(sizeof(StartInfo)));
  if (!vdso || !start) return static_cast<int>(ExitStatus::out_of_memory);
  set_process_info(ProcessInfo{program.path, program.argv, program.envp, kStackTop - kStackSize, kStackTop,
                               *vdso - kPageSize, *vdso + kPageSize * 4, image->break_base});
  *start = StartInfo{image->entry, build_initial_stack(program, *image, *vdso)};
  g_main_thread.tid = kPid;
  auto thread = Thread::try_create("main", start_application, start);
  if (!thread) {
    print("nimbus: out of memory starting the program\n");
    return static_cast<int>(ExitStatus::out_of_memory);
  }
  // The program ends the VM through exit_group; its main thread returning would too.
  (*thread)->join();
  return 0;
}

// How long the VM's end waits at most for TCP peers to acknowledge what they were sent.
constexpr uint64_t kExitDrainNs = 2'000'000'000;

void exit_process(int status) {
  // What the program's TCP connections hold still reaches their peers (bounded: the VM must
  // end), as on Linux, where the kernel goes on sending after the process has gone.
  net::drain_kernel_network(clock::monotonic_ns() + kExitDrainNs);
  power::exit_vm(status);
}

}  // namespace nimbus::linux
