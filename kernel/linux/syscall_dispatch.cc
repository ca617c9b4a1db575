// The system call table, built from syscall_list.h: decodes each handler's typed arguments
// from the registers, turns its Result into Linux's -errno, and hands calls to --strace.
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernel/lib/console.h"
#include "kernel/linux/process.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/syscall_frame.h"
#include "kernel/linux/syscall_trace.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_ptr.h"
#include "kernel/sched/cpu.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::linux {
namespace {

using Raw = uint64_t;

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

// --strace for calls syscall_trace_list.h does not describe: each argument as its handler's
// type suggests (pointers by address or NULL, signed numbers in decimal, unsigned ones in hex
// from 10 up, as they are mostly flags and sizes).
template <typename T>
void trace_argument(TraceLine& line, Raw raw) {
  if constexpr (std::is_pointer_v<T> || kIsUserPtr<T>) {
    if (raw == 0) line.append("NULL");
    else line.format("0x%lx", raw);
  } else if constexpr (std::is_signed_v<T>) {
    line.format("%ld", static_cast<long>(decode<T>(raw)));
  } else if (raw < 10) {
    line.format("%lu", raw);
  } else {
    line.format("0x%lx", static_cast<unsigned long>(decode<T>(raw)));
  }
}

template <typename... Args, size_t... I>
void trace_arguments(Result<long> (*)(Args...), [[maybe_unused]] const Raw* arguments, [[maybe_unused]] TraceLine& line,
                     std::index_sequence<I...>) {
  ((I ? line.append(", ") : void(), trace_argument<Args>(line, arguments[I])), ...);
}

template <typename... Args, size_t... I>
long invoke(Result<long> (*handler)(Args...), [[maybe_unused]] const Raw* raw, std::index_sequence<I...>) {
  Result<long> result = handler(decode<Args>(argument(raw, I))...);
  return result ? *result : -static_cast<long>(result.error());
}

template <typename... Args>
constexpr size_t arity(Result<long> (*)(Args...)) {
  return sizeof...(Args);
}

template <auto Handler>
long call(const Raw* raw) {
  return invoke(Handler, raw, std::make_index_sequence<arity(Handler)>());
}

template <auto Handler>
void describe(const Raw* arguments, TraceLine& line) {
  trace_arguments(Handler, arguments, line, std::make_index_sequence<arity(Handler)>());
}

struct SyscallInfo {
  const char* name;
  SyscallEntry entry;                // nullptr: not implemented
  GenericArgumentPrinter describe;   // for --strace
};

constexpr size_t kTableSize = 512;

constexpr auto kTable = [] {
  std::array<SyscallInfo, kTableSize> table{};
#define SYSCALL(number, name, handler, status, missing) table[number] = {#name, call<handler>, describe<handler>};
#define MISSING(number, name) table[number] = {#name, nullptr, nullptr};
#include "kernel/linux/syscall_list.h"
#undef SYSCALL
#undef MISSING
  return table;
}();

// One "not implemented" notice per syscall, not per call.
Spinlock g_reported_lock;
bool g_reported[kTableSize];

void report_not_implemented(uint64_t number, const SyscallInfo* info) {
  bool first;
  {
    SpinlockGuard guard(g_reported_lock);
    first = number < kTableSize && !g_reported[number];
    if (first) g_reported[number] = true;
  }
  if (first)
    log("nimbus: syscall %lu (%s) is not implemented: -ENOSYS\n", number, info && info->name ? info->name : "unknown");
}

}  // namespace

}  // namespace nimbus::linux

extern "C" void syscall_dispatch(nimbus::linux::SyscallFrame* frame) {
  using namespace nimbus;
  using namespace nimbus::linux;
  uint64_t number = frame->rax;
  const Raw* args = &frame->r9;
  current_syscall_frame() = frame;
  const SyscallInfo* info = number < kTableSize ? &kTable[number] : nullptr;
  long result;
  if (!info || !info->entry) report_not_implemented(number, info);
  LinuxThread* self = current_thread()->linux_thread;
  if (self) self->user_access_faulted = false;
  if (g_strace_on) [[unlikely]] {
    result = traced_call({number, info ? info->name : nullptr, info ? info->entry : nullptr, info ? info->describe : nullptr}, args);
  } else if (info && info->entry) {
    result = info->entry(args);
  } else {
    result = -static_cast<long>(Errno::enosys);
  }
  // A file, pipe or socket copied into or out of a program buffer that was gone (another
  // thread unmapped it during the call): the call fails as Linux's would, with EFAULT.
  if (self && self->user_access_faulted && result >= 0) result = -static_cast<long>(Errno::efault);
  frame->rax = static_cast<uint64_t>(result);
  deliver_pending_signals(*frame, number);
}
