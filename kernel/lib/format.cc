// printf-style formatting into a caller's sink.
#include "kernel/lib/format.h"

#include <cstdint>

namespace nimbus {
namespace {

struct Spec {
  bool left = false;
  bool zero = false;
  int width = 0;
  int precision = -1;  // for %s: the most characters to print
  int length = 0;  // 0 = int, 1 = long, 2 = long long, 3 = size_t
};

size_t emit_padded(FormatSink sink, void* context, const char* text, size_t length,
                   const Spec& spec) {
  size_t pad = spec.width > static_cast<int>(length) ? spec.width - length : 0;
  char fill = spec.zero && !spec.left ? '0' : ' ';
  if (!spec.left)
    for (size_t i = 0; i < pad; i++) sink(context, &fill, 1);
  sink(context, text, length);
  if (spec.left)
    for (size_t i = 0; i < pad; i++) sink(context, " ", 1);
  return length + pad;
}

size_t emit_number(FormatSink sink, void* context, uint64_t value, bool negative, unsigned base,
                   bool upper, const Spec& spec) {
  char digits[24];
  int n = 0;
  const char* alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do {
    digits[n++] = alphabet[value % base];
    value /= base;
  } while (value);
  char text[25];
  int length = 0;
  if (negative) text[length++] = '-';
  while (n) text[length++] = digits[--n];
  return emit_padded(sink, context, text, length, spec);
}

}  // namespace

size_t vformat(FormatSink sink, void* context, const char* format, va_list args) {
  size_t produced = 0;
  for (const char* p = format; *p; p++) {
    if (*p != '%') {
      const char* run = p;
      while (p[1] && p[1] != '%') p++;
      sink(context, run, p - run + 1);
      produced += p - run + 1;
      continue;
    }
    Spec spec;
    p++;
    for (;; p++) {
      if (*p == '-') spec.left = true;
      else if (*p == '0') spec.zero = true;
      else break;
    }
    while (*p >= '0' && *p <= '9') spec.width = spec.width * 10 + (*p++ - '0');
    if (*p == '.') {
      p++;
      spec.precision = 0;
      if (*p == '*') {
        spec.precision = va_arg(args, int);
        p++;
      }
      while (*p >= '0' && *p <= '9') spec.precision = spec.precision * 10 + (*p++ - '0');
    }
    while (*p == 'l') { spec.length++; p++; }
    if (*p == 'z') { spec.length = 3; p++; }
    auto unsigned_arg = [&]() -> uint64_t {
      if (spec.length == 0) return va_arg(args, unsigned);
      return va_arg(args, unsigned long);
    };
    switch (*p) {
      case 'd':
      case 'i': {
        int64_t v = spec.length == 0 ? va_arg(args, int) : va_arg(args, long);
        uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
        produced += emit_number(sink, context, magnitude, v < 0, 10, false, spec);
        break;
      }
      case 'u': produced += emit_number(sink, context, unsigned_arg(), false, 10, false, spec); break;
      case 'x': produced += emit_number(sink, context, unsigned_arg(), false, 16, false, spec); break;
      case 'X': produced += emit_number(sink, context, unsigned_arg(), false, 16, true, spec); break;
      case 'p': {
        spec.zero = true;
        spec.width = 16;
        sink(context, "0x", 2);
        produced += 2 + emit_number(sink, context, reinterpret_cast<uintptr_t>(va_arg(args, void*)),
                                    false, 16, false, spec);
        break;
      }
      case 's': {
        const char* s = va_arg(args, const char*);
        if (!s) s = "(null)";
        size_t length = 0;
        while ((spec.precision < 0 || length < static_cast<size_t>(spec.precision)) && s[length]) length++;
        produced += emit_padded(sink, context, s, length, spec);
        break;
      }
      case 'c': {
        char c = static_cast<char>(va_arg(args, int));
        produced += emit_padded(sink, context, &c, 1, spec);
        break;
      }
      case '%': sink(context, "%", 1); produced++; break;
      case '\0': return produced;
      default: sink(context, p - 1, 2); produced += 2; break;
    }
  }
  return produced;
}

namespace {
struct BufferSink {
  char* buffer;
  size_t size;
  size_t used;
};
void buffer_sink(void* context, const char* text, size_t length) {
  auto* b = static_cast<BufferSink*>(context);
  for (size_t i = 0; i < length && b->used + 1 < b->size; i++) b->buffer[b->used++] = text[i];
}
}  // namespace

size_t format_to(char* buffer, size_t size, const char* format, ...) {
  BufferSink sink{buffer, size, 0};
  va_list args;
  va_start(args, format);
  vformat(buffer_sink, &sink, format, args);
  va_end(args);
  if (size) buffer[sink.used] = '\0';
  return sink.used;
}

}  // namespace nimbus
