// printf-style formatting into a caller's sink, without heap or floating point.
#pragma once

#include <cstdarg>
#include <cstddef>

namespace nimbus {

using FormatSink = void (*)(void* context, const char* text, size_t length);

// Supports %d %i %u %x %X %p %s %c %% with optional '-', '0', width, precision for %s
// (".N" or ".*"), and the l/ll/z length modifiers. Returns the number of characters produced.
size_t vformat(FormatSink sink, void* context, const char* format, va_list args);

// Formats into a fixed buffer, always NUL-terminated, truncating if needed.
size_t format_to(char* buffer, size_t size, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace nimbus
