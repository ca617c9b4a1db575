// --strace: every system call of the program as strace prints it, decoded from the syscall
// table (syscall_trace_list.h says what each argument is) and written on a channel of its own
// (the virtio-console port nimbus.trace), so it never mixes into the program's stderr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nimbus::linux {

// One trace line being made; what does not fit is dropped (the line still ends).
class TraceLine {
 public:
  static constexpr size_t kCapacity = 2048;
  void append(std::string_view text);
  void append(char c) { append(std::string_view(&c, 1)); }
  void format(const char* format, ...) __attribute__((format(printf, 2, 3)));
  // Ends the line with '\n' (append always leaves room for it).
  void finish() { m_text[m_size++] = '\n'; }
  size_t size() const { return m_size; }
  std::string_view text() const { return {m_text, m_size}; }

 private:
  char m_text[kCapacity];
  size_t m_size = 0;
};

// A handler as the dispatcher calls it: the saved frame's argument registers (syscall_entry's
// order, reversed from r9), and the result as Linux returns it (-errno on failure).
using SyscallEntry = long (*)(const uint64_t* frame_arguments);
// Prints the arguments of a call that syscall_trace_list.h does not describe, from its
// handler's C++ types (`arguments` in call order).
using GenericArgumentPrinter = void (*)(const uint64_t* arguments, TraceLine& line);

struct TracedCall {
  uint64_t number;
  const char* name;
  SyscallEntry entry;                      // nullptr: not implemented (ENOSYS)
  GenericArgumentPrinter print_arguments;  // nullptr: not implemented
};

// Set once at boot; read on every system call, so tracing costs one branch when off.
extern bool g_strace_on;

// Starts tracing: `filter` is empty (every call) or strace's -e trace= list of plain names
// ("open,read"). Opens the trace port; without one the serial console carries the lines.
// Unknown names are reported on the kernel log and ignored.
void start_strace(std::string_view filter);

// Runs `call` (or returns -ENOSYS when it has no entry) and writes its line when the filter
// takes it.
long traced_call(const TracedCall& call, const uint64_t* frame_arguments);

// The bytes as strace quotes them: "a\tb\0\n\"", with C escapes, octal for other bytes, and
// `...` after the closing quote when `more` (the data went on beyond what is shown).
void append_quoted(TraceLine& line, const char* bytes, size_t length, bool more);

}  // namespace nimbus::linux
