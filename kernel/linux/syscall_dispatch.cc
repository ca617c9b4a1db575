// The system call table, built from syscall_list.h: decodes each handler's typed arguments
// from the registers, turns its Result into Linux's -errno, and logs with `strace`.
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernel/lib/console.h"
#include "kernel/linux/process.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/syscall_frame.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_ptr.h"
#include "kernel/sched/cpu.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::linux {
namespace {

using Raw = uint64_t;
using Entry = long (*)(const Raw* args, bool trace);

// The arguments are read in place from the saved frame, where syscall_entry pushed them in
// the order rdi rsi rdx r10 r8 r9, so they lie reversed from &frame->r9 up.
constexpr Raw argument(const Raw* frame_r9, size_t index) { return frame_r9[5 - index]; }
static_assert(offsetof(SyscallFrame, rdi) - offsetof(SyscallFrame, r9) == 5 * sizeof(Raw) &&
              offsetof(SyscallFrame, r10) - offsetof(SyscallFrame, r9) == 2 * sizeof(Raw));

template <typename T>
T decode(Raw raw) {
  if constexpr (kIsUserPtr<T>) return T::from_address(raw);
  else if constexpr (std::is_pointer_v<T>) return reinterpret_cast<T>(raw);
  else return static_cast<T>(raw);
}

template <typename T>
void trace_argument(T value) {
  if constexpr (std::is_same_v<T, const char*>) {
    print("%p", static_cast<const void*>(value));
  } else if constexpr (kIsUserPtr<T>) {
    print("%p", reinterpret_cast<const void*>(value.address()));
  } else if constexpr (std::is_pointer_v<T>) {
    print("%p", reinterpret_cast<const void*>(value));
  } else if constexpr (std::is_signed_v<T>) {
    print("%ld", static_cast<long>(value));
  } else {
    print("0x%lx", static_cast<unsigned long>(value));
  }
}

template <typename... Args, size_t... I>
long invoke(Result<long> (*handler)(Args...), [[maybe_unused]] const Raw* raw, bool trace, std::index_sequence<I...>) {
  if (trace) {
    print("(");
    ((I ? print(", ") : void(), trace_argument(decode<Args>(argument(raw, I)))), ...);
    print(")");
  }
  Result<long> result = handler(decode<Args>(argument(raw, I))...);
  return result ? *result : -static_cast<long>(result.error());
}

template <typename... Args>
constexpr size_t arity(Result<long> (*)(Args...)) {
  return sizeof...(Args);
}

template <auto Handler>
long call(const Raw* raw, bool trace) {
  return invoke(Handler, raw, trace, std::make_index_sequence<arity(Handler)>());
}

struct SyscallInfo {
  const char* name;
  Entry entry;  // nullptr: not implemented
};

constexpr size_t kTableSize = 512;

constexpr auto kTable = [] {
  std::array<SyscallInfo, kTableSize> table{};
#define SYSCALL(number, name, handler, status, missing) table[number] = {#name, call<handler>};
#define MISSING(number, name) table[number] = {#name, nullptr};
#include "kernel/linux/syscall_list.h"
#undef SYSCALL
#undef MISSING
  return table;
}();

bool g_strace = false;
// One "not implemented" notice per syscall, not per call.
Spinlock g_reported_lock;
bool g_reported[kTableSize];

}  // namespace

void set_strace(bool enabled) { g_strace = enabled; }

}  // namespace nimbus::linux

extern "C" void syscall_dispatch(nimbus::linux::SyscallFrame* frame) {
  using namespace nimbus;
  using namespace nimbus::linux;
  uint64_t number = frame->rax;
  const Raw* args = &frame->r9;
  current_syscall_frame() = frame;
  const SyscallInfo* info = number < kTableSize ? &kTable[number] : nullptr;
  long result;
  if (!info || !info->entry) {
    result = -static_cast<long>(Errno::enosys);
    bool first;
    {
      SpinlockGuard guard(g_reported_lock);
      first = number < kTableSize && !g_reported[number];
      if (first) g_reported[number] = true;
    }
    if (first || g_strace)
      log("nimbus: syscall %lu (%s) is not implemented: -ENOSYS\n", number,
          info && info->name ? info->name : "unknown");
    if (g_strace) print("[%lu] %s(...) = -ENOSYS\n", current_thread()->id(), info && info->name ? info->name : "?");
  } else {
    if (g_strace) print("[%lu] %s", current_thread()->id(), info->name);
    LinuxThread* self = current_thread()->linux_thread;
    if (self) self->user_access_faulted = false;
    result = info->entry(args, g_strace);
    // A file, pipe or socket copied into or out of a program buffer that was gone (another
    // thread unmapped it during the call): the call fails as Linux's would, with EFAULT.
    if (self && self->user_access_faulted && result >= 0) result = -static_cast<long>(Errno::efault);
    if (g_strace) print(" = %ld\n", result);
  }
  frame->rax = static_cast<uint64_t>(result);
  deliver_pending_signals(*frame, number);
}
