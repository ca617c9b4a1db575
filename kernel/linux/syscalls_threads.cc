// Threads: clone/clone3 with CLONE_VM|CLONE_THREAD, thread exit, and futex.
#include <atomic>
#include <cstring>
#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/lib/console.h"
#include "kernel/linux/fork.h"
#include "kernel/linux/futex.h"
#include "kernel/linux/clone_flags.h"
#include "kernel/linux/process.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/mm/heap.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/thread.h"
#include "kernel/time/clock.h"

extern "C" [[noreturn]] void resume_from_frame(nimbus::linux::SyscallFrame* frame);

namespace nimbus::linux {
namespace {

constexpr uint64_t kSupported = kCloneVm | kCloneFs | kCloneFiles | kCloneSighand | kCloneThread | kCloneSysvsem |
                                kCloneSettls | kCloneParentSettid | kCloneChildCleartid | kCloneChildSettid |
                                kCloneDetached | 0xff /* exit signal */;

// futex operations (linux/futex.h).
constexpr int kFutexWait = 0;
constexpr int kFutexWake = 1;
constexpr int kFutexRequeue = 3;
constexpr int kFutexCmpRequeue = 4;
constexpr int kFutexWakeOp = 5;
constexpr int kFutexWaitBitset = 9;
constexpr int kFutexWakeBitset = 10;
constexpr int kFutexPrivate = 128;
constexpr int kFutexClockRealtime = 256;

struct ChildStart {
  SyscallFrame frame;
  LinuxThread* linux_thread;
  uint64_t fs_base;
};

void start_child(void* argument) {
  auto* start = static_cast<ChildStart*>(argument);
  adopt_linux_thread(*start->linux_thread, start->fs_base);
  // The frame lives in this function's stack frame; leaving through it abandons the rest of
  // the kernel stack, which the next syscall reuses from the top.
  SyscallFrame frame = start->frame;
  heap::free(start);
  resume_from_frame(&frame);
}

Result<long> create_thread(uint64_t flags, uint64_t stack, int* parent_tid, int* child_tid, uint64_t tls) {
  constexpr uint64_t kRequired = kCloneVm | kCloneThread | kCloneSighand;
  if ((flags & kRequired) != kRequired || (flags & ~kSupported)) return error(Errno::einval);
  auto* linux_thread = static_cast<LinuxThread*>(heap::allocate(sizeof(LinuxThread)));
  auto* start = static_cast<ChildStart*>(heap::allocate(sizeof(ChildStart)));
  if (!linux_thread || !start) {
    heap::free(linux_thread);
    heap::free(start);
    return error(Errno::eagain);
  }
  // Thread ids and process ids are one number space, as on Linux.
  uint32_t tid = allocate_id();
  new (linux_thread) LinuxThread();
  linux_thread->tid = tid;
  linux_thread->process = &current_process();
  linux_thread->signal_mask = current_linux_thread().signal_mask;
  if (flags & kCloneChildCleartid) linux_thread->clear_child_tid = reinterpret_cast<uint64_t>(child_tid);

  start->frame = *current_syscall_frame();
  start->frame.rax = 0;  // the child sees clone return 0
  if (stack) start->frame.rsp = stack;
  start->linux_thread = linux_thread;
  start->fs_base = (flags & kCloneSettls) ? tls : current_thread()->fs_base;

  if (flags & kCloneParentSettid) TRY(user::write(parent_tid, static_cast<int>(tid)));
  if (flags & kCloneChildSettid) TRY(user::write(child_tid, static_cast<int>(tid)));

  current_process().live_threads.fetch_add(1);
  // A new thread inherits its creator's CPU affinity, as on Linux.
  auto thread = Thread::try_create("app", start_child, start, current_thread()->allowed_cpus);
  if (!thread) {
    current_process().live_threads.fetch_sub(1);
    heap::free(linux_thread);
    heap::free(start);
    return error(Errno::eagain);
  }
  (*thread)->detach();
  return tid;
}

}  // namespace

namespace {

Result<long> clone_any(uint64_t flags, uint64_t stack, int* parent_tid, int* child_tid, uint64_t tls) {
  // The new thread's FS base must be a canonical user address, as arch_prctl(ARCH_SET_FS)'s.
  if ((flags & kCloneSettls) && tls >= AddressSpace::kEnd) return error(Errno::eperm);
  if (!(flags & kCloneThread)) return fork_process(flags, stack, parent_tid, child_tid, tls);
  return create_thread(flags, stack, parent_tid, child_tid, tls);
}

}  // namespace

Result<long> sys_clone(uint64_t flags, uint64_t stack, int* parent_tid, int* child_tid, uint64_t tls) {
  // clone(2) takes only the low 32 bits as flags (and exit signal); the rest are clone3's.
  return clone_any(flags & 0xffffffffu, stack, parent_tid, child_tid, tls);
}

Result<long> sys_clone3(const void* arguments, size_t size) {
  struct CloneArgs {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
  } args{};
  if (size < 64) return error(Errno::einval);
  TRY(user::copy_from(&args, arguments, sizeof(args)));
  uint64_t top = args.stack ? args.stack + args.stack_size : 0;
  if (args.exit_signal > 64 || (args.flags & 0xff)) return error(Errno::einval);
  // Clearing the handlers of a shared table would clear the caller's too.
  if ((args.flags & kCloneClearSighand) && (args.flags & kCloneSighand)) return error(Errno::einval);
  return clone_any(args.flags | args.exit_signal, top, reinterpret_cast<int*>(args.parent_tid),
                   reinterpret_cast<int*>(args.child_tid), args.tls);
}

Result<long> sys_exit(int status) { exit_thread(exited_status(status)); }

Result<long> sys_futex(uint32_t* address, int op, uint32_t value, const Timespec* timeout, uint32_t* address2,
                       uint32_t value3) {
  int command = op & ~(kFutexPrivate | kFutexClockRealtime);
  // Only the absolute waits take CLOCK_REALTIME (ENOSYS otherwise); every futex word is aligned.
  if ((op & kFutexClockRealtime) && command != kFutexWaitBitset) return error(Errno::enosys);
  if (reinterpret_cast<uintptr_t>(address) & 3) return error(Errno::einval);
  // The requeue counts are ints: negative ones are EINVAL.
  auto requeue_count = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(timeout));
  bool requeues = command == kFutexRequeue || command == kFutexCmpRequeue;
  if (requeues && (static_cast<int32_t>(value) < 0 || static_cast<int32_t>(requeue_count) < 0))
    return error(Errno::einval);
  auto deadline = [&](bool absolute) -> Result<uint64_t> {
    if (!timeout) return uint64_t{0};
    uint64_t ns = TRY(read_duration_ns(timeout));
    uint64_t now = clock::monotonic_ns();
    if (!absolute) return now + ns;
    uint64_t reference = (op & kFutexClockRealtime) ? clock::wall_ns() : now;
    return ns > reference ? now + (ns - reference) : now;
  };
  switch (command) {
    case kFutexWait:
      return futex::wait(address, value, ~0u, TRY(deadline(false)));
    case kFutexWaitBitset:
      return futex::wait(address, value, value3, TRY(deadline(true)));
    case kFutexWake:
      return futex::wake(address, value, ~0u);
    case kFutexWakeBitset:
      if (value3 == 0) return error(Errno::einval);
      return futex::wake(address, value, value3);
    case kFutexRequeue:
      return futex::requeue(address, value, requeue_count, address2, nullptr);
    case kFutexCmpRequeue:
      return futex::requeue(address, value, requeue_count, address2, &value3);
    case kFutexWakeOp:
      return futex::wake_op(address, address2, value, static_cast<uint32_t>(reinterpret_cast<uintptr_t>(timeout)),
                            value3);
    default:
      return error(Errno::enosys);
  }
}

}  // namespace nimbus::linux
