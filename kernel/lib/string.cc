// The C memory and string primitives the compiler may call; string instructions only
// (the kernel never touches vector registers).
//
// The copying instructions of memcpy, memmove and memset are in the exception table
// (kernel/arch/x86_64/exception_table.h, kind note_and_skip): files, pipes and sockets copy
// into and out of program buffers with them, and a buffer that another thread unmaps
// meanwhile must end that system call with EFAULT, not the VM. A fault on a kernel address
// is still a panic.
#include <cstddef>
#include <cstdint>

// An exception-table entry that resumes at label 2 (after the instruction at label 1).
#define NOTE_AND_SKIP_FROM_1_TO_2 \
  ".pushsection .ex_table, \"a\"\n.balign 8\n.quad 1b, 2b, 1\n.popsection\n"

extern "C" {

void* memset(void* dest, int value, size_t count) {
  void* d = dest;
  if (count % 8 == 0 && reinterpret_cast<uintptr_t>(dest) % 8 == 0) {
    // Whole words: an eighth of the iterations (each one counts under -icount).
    uint64_t pattern = 0x0101010101010101ull * static_cast<uint8_t>(value);
    size_t words = count / 8;
    asm volatile("1: rep stosq\n2:\n" NOTE_AND_SKIP_FROM_1_TO_2 : "+D"(d), "+c"(words) : "a"(pattern) : "memory");
    return dest;
  }
  asm volatile("1: rep stosb\n2:\n" NOTE_AND_SKIP_FROM_1_TO_2 : "+D"(d), "+c"(count) : "a"(value) : "memory");
  return dest;
}

void* memcpy(void* __restrict dest, const void* __restrict src, size_t count) {
  void* d = dest;
  if (count >= 64) {
    // Whole words first, then the bytes left: an eighth of the iterations, as memset does (under
    // TCG each iteration of a rep string instruction costs the same whatever its width, so a
    // page cache or direct I/O copy of 1 MiB takes several times less).
    size_t words = count / 8;
    count %= 8;
    asm volatile("1: rep movsq\n2:\n" NOTE_AND_SKIP_FROM_1_TO_2 : "+D"(d), "+S"(src), "+c"(words) : : "memory");
  }
  asm volatile("1: rep movsb\n2:\n" NOTE_AND_SKIP_FROM_1_TO_2 : "+D"(d), "+S"(src), "+c"(count) : : "memory");
  return dest;
}

void* memmove(void* dest, const void* src, size_t count) {
  auto* d = static_cast<unsigned char*>(dest);
  auto* s = static_cast<const unsigned char*>(src);
  if (d <= s || d >= s + count) return memcpy(dest, src, count);
  // Overlapping with dest above src: copy backwards.
  d += count - 1;
  s += count - 1;
  // The fix-up resumes at the cld, so a fault never leaves the direction flag set.
  asm volatile("std\n1: rep movsb\n2: cld\n" NOTE_AND_SKIP_FROM_1_TO_2 : "+D"(d), "+S"(s), "+c"(count) : : "memory");
  return dest;
}

int memcmp(const void* a, const void* b, size_t count) {
  auto* x = static_cast<const unsigned char*>(a);
  auto* y = static_cast<const unsigned char*>(b);
  for (size_t i = 0; i < count; i++) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

size_t strnlen(const char* s, size_t max) {
  size_t n = 0;
  while (n < max && s[n]) n++;
  return n;
}

char* strcpy(char* __restrict dest, const char* __restrict src) {
  char* d = dest;
  while ((*d++ = *src++)) {
  }
  return dest;
}

char* strrchr(const char* s, int c) {
  const char* last = nullptr;
  do {
    if (*s == static_cast<char>(c)) last = s;
  } while (*s++);
  return const_cast<char*>(last);
}

char* strchr(const char* s, int c) {
  for (;; s++) {
    if (*s == static_cast<char>(c)) return const_cast<char*>(s);
    if (!*s) return nullptr;
  }
}

int strcmp(const char* a, const char* b) {
  while (*a && *a == *b) {
    a++;
    b++;
  }
  return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

int strncmp(const char* a, const char* b, size_t n) {
  for (; n; n--, a++, b++) {
    if (*a != *b || !*a) return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
  }
  return 0;
}

}  // extern "C"
