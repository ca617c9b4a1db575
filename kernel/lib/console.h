// Kernel console output: print() always, log() only with the `verbose` boot flag.
#pragma once

#include <cstdarg>

namespace nimbus {

void print(const char* format, ...) __attribute__((format(printf, 1, 2)));
void vprint(const char* format, va_list args);
// Boot and diagnostic messages: silent unless the kernel was booted with `verbose`,
// so an application's output is exactly its output.
void log(const char* format, ...) __attribute__((format(printf, 1, 2)));

void set_console_verbose(bool verbose);
bool console_verbose();
// The panic path prints even if another CPU died holding the console lock.
void console_break_lock();

}  // namespace nimbus
