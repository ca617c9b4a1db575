// Kernel console output over the serial port, one lock so lines from CPUs don't interleave.
#include "kernel/lib/console.h"

#include "kernel/drivers/serial.h"
#include "kernel/lib/format.h"
#include "kernel/sync/spinlock.h"

namespace nimbus {
namespace {
Spinlock g_console_lock;
bool g_verbose = false;
bool g_lock_broken = false;

void serial_sink(void*, const char* text, size_t length) { serial::write(text, length); }
}  // namespace

void vprint(const char* format, va_list args) {
  if (g_lock_broken) {
    vformat(serial_sink, nullptr, format, args);
    return;
  }
  SpinlockGuard guard(g_console_lock);
  vformat(serial_sink, nullptr, format, args);
}

void print(const char* format, ...) {
  va_list args;
  va_start(args, format);
  vprint(format, args);
  va_end(args);
}

void log(const char* format, ...) {
  if (!g_verbose) return;
  va_list args;
  va_start(args, format);
  vprint(format, args);
  va_end(args);
}

void set_console_verbose(bool verbose) { g_verbose = verbose; }
bool console_verbose() { return g_verbose; }
void console_break_lock() { g_lock_broken = true; }

}  // namespace nimbus
