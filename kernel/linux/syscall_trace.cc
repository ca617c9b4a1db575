// --strace: the filter, the argument descriptions of syscall_trace_list.h joined to the
// syscall table by name, the line of each call, and the channel that carries the lines.
#include "kernel/linux/syscall_trace.h"

#include <array>
#include <cstdarg>

#include "kernel/drivers/virtio/console.h"
#include "kernel/lib/console.h"
#include "kernel/lib/errno.h"
#include "kernel/lib/format.h"
#include "kernel/linux/process.h"
#include "kernel/linux/syscall_trace_kinds.h"
#include "kernel/time/clock.h"

namespace nimbus::linux {

bool g_strace_on = false;

namespace {

using trace::ArgKind;
using trace::CallValues;
using trace::ResultKind;

constexpr size_t kTableSize = 512;
constexpr size_t kMaxArguments = 6;

// The syscall numbers by name, from the one list.
namespace number {
enum : uint16_t {
#define SYSCALL(n, name, handler, status, missing) name = n,
#define MISSING(n, name) name = n,
#include "kernel/linux/syscall_list.h"
#undef SYSCALL
#undef MISSING
};
}  // namespace number

constexpr auto kNames = [] {
  std::array<std::string_view, kTableSize> names{};
#define SYSCALL(n, name, handler, status, missing) names[n] = #name;
#define MISSING(n, name) names[n] = #name;
#include "kernel/linux/syscall_list.h"
#undef SYSCALL
#undef MISSING
  return names;
}();

struct Signature {
  bool described = false;
  ResultKind result = ResultKind::rdec;
  uint8_t count = 0;
  std::array<ArgKind, kMaxArguments> arguments{};
};

template <typename... Kinds>
constexpr Signature signature(ResultKind result, Kinds... kinds) {
  static_assert(sizeof...(kinds) <= kMaxArguments);
  return Signature{true, result, sizeof...(kinds), {kinds...}};
}

constexpr auto kSignatures = [] {
  std::array<Signature, kTableSize> table{};
  using enum ArgKind;
  using enum ResultKind;
#define TRACE(name, result, ...) table[number::name] = signature(result, __VA_ARGS__);
#include "kernel/linux/syscall_trace_list.h"
#undef TRACE
  return table;
}();

// The calls the filter takes (all when no filter was given).
std::array<uint64_t, kTableSize / 64> g_traced{};
bool g_filtered = false;
virtio_console::Port* g_port = nullptr;
// strace -f prefixes "[pid N]" once the program has more than one thread.
bool g_many_threads = false;

constexpr std::string_view kTracePort = "nimbus.trace";
constexpr uint64_t kPortWaitNs = 2'000'000'000;
// strace aligns " = result" at this column.
constexpr size_t kResultColumn = 40;

bool takes(uint64_t n) {
  if (!g_filtered) return true;
  return n < kTableSize && (g_traced[n / 64] >> (n % 64) & 1);
}

void append_arguments(TraceLine& line, const TracedCall& call, const Signature* signature,
                      const CallValues& values) {
  if (!signature) {
    if (call.print_arguments)
      call.print_arguments(values.arguments, line);
    else
      line.append("...");
    return;
  }
  bool first = true;
  for (int i = 0; i < signature->count; i++) {
    ArgKind kind = signature->arguments[i];
    if (!trace::is_shown(kind, values, i)) continue;
    if (!first) line.append(", ");
    trace::append_argument(line, kind, values, i);
    first = false;
  }
}

void end_call(TraceLine& line) {
  line.append(") ");
  while (line.size() < kResultColumn) line.append(' ');
  line.append("= ");
}

void emit(const TraceLine& line) {
  std::string_view text = line.text();
  if (g_port) {
    (void)virtio_console::write(*g_port,
                                {reinterpret_cast<const std::byte*>(text.data()), text.size()});
  } else {
    print("%.*s", static_cast<int>(text.size()), text.data());
  }
}

// strace's last line, which it prints whatever the filter.
void emit_exited(uint64_t status) {
  TraceLine line;
  line.format("+++ exited with %d +++", static_cast<int>(status & 0xff));
  line.finish();
  emit(line);
}

bool makes_a_thread_or_process(uint64_t n) {
  return n == number::clone || n == number::clone3 || n == number::fork || n == number::vfork;
}

void sink(void* context, const char* text, size_t length) {
  static_cast<TraceLine*>(context)->append({text, length});
}

}  // namespace

void TraceLine::append(std::string_view text) {
  // One byte stays free for the line's end, so a long line is cut but still ends.
  size_t room = m_size + 1 < kCapacity ? kCapacity - 1 - m_size : 0;
  size_t n = text.size() < room ? text.size() : room;
  for (size_t i = 0; i < n; i++) m_text[m_size + i] = text[i];
  m_size += n;
}

void TraceLine::format(const char* format, ...) {
  va_list args;
  va_start(args, format);
  vformat(sink, this, format, args);
  va_end(args);
}

void start_strace(std::string_view filter) {
  while (!filter.empty()) {
    size_t comma = 0;
    while (comma < filter.size() && filter[comma] != ',') comma++;
    std::string_view name(filter.data(), comma);
    filter = comma < filter.size()
                 ? std::string_view(filter.data() + comma + 1, filter.size() - comma - 1)
                 : std::string_view();
    g_filtered = true;
    bool known = false;
    for (size_t n = 0; n < kTableSize; n++) {
      if (kNames[n] != name || name.empty()) continue;
      g_traced[n / 64] |= uint64_t{1} << (n % 64);
      known = true;
    }
    if (!known)
      log("nimbus: strace: no system call is named '%.*s'\n", static_cast<int>(name.size()),
          name.data());
  }
  if (virtio_console::present())
    g_port = virtio_console::open_port(kTracePort, virtio_console::PortUse::output,
                                       clock::monotonic_ns() + kPortWaitNs);
  if (!g_port)
    log("nimbus: strace: no %.*s port; the trace goes to the kernel console\n",
        static_cast<int>(kTracePort.size()), kTracePort.data());
  g_strace_on = true;
}

long traced_call(const TracedCall& call, const uint64_t* frame_arguments) {
  auto run = [&] {
    return call.entry ? call.entry(frame_arguments) : -static_cast<long>(Errno::enosys);
  };
  if (!takes(call.number)) {
    if (call.number == number::exit_group) emit_exited(frame_arguments[kMaxArguments - 1]);
    long result = run();
    if (makes_a_thread_or_process(call.number) && result > 0) g_many_threads = true;
    return result;
  }

  // The frame holds rdi rsi rdx r10 r8 r9 reversed from r9.
  uint64_t arguments[kMaxArguments];
  for (size_t i = 0; i < kMaxArguments; i++) arguments[i] = frame_arguments[kMaxArguments - 1 - i];
  const Signature* signature = call.number < kTableSize && kSignatures[call.number].described
                                   ? &kSignatures[call.number]
                                   : nullptr;
  // Arguments are shown as they were before the call (execve replaces the memory they point
  // into), unless the call fills one in.
  bool shows_output = false;
  if (signature)
    for (int i = 0; i < signature->count; i++)
      shows_output |= trace::is_output(signature->arguments[i]);

  TraceLine line;
  if (g_many_threads) line.format("[pid %5u] ", current_linux_thread().tid);
  line.append(call.name ? std::string_view(call.name) : std::string_view("syscall"));
  line.append('(');
  CallValues values{arguments, 0, false};
  if (!shows_output) append_arguments(line, call, signature, values);

  if (signature && signature->result == ResultKind::rnone) {
    end_call(line);
    trace::append_result(line, ResultKind::rnone, 0);
    line.finish();
    emit(line);
    if (call.number == number::exit_group) emit_exited(arguments[0]);
    return run();
  }

  values.result = run();
  values.returned = true;
  if (shows_output) append_arguments(line, call, signature, values);
  end_call(line);
  trace::append_result(line, signature ? signature->result : ResultKind::rdec, values.result);
  line.finish();
  emit(line);
  if (makes_a_thread_or_process(call.number) && values.result > 0) g_many_threads = true;
  return values.result;
}

}  // namespace nimbus::linux
