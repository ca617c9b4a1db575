// Unit tests for the kernel's printf-style formatter.
#include "kernel/lib/format.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <string>

namespace nimbus {
namespace {

std::string fmt(const char* format, auto... args) {
  char buffer[256];
  format_to(buffer, sizeof(buffer), format, args...);
  return buffer;
}

TEST(Format, IntegersInEveryBaseAndWidth) {
  EXPECT_EQ(fmt("%d", -42), "-42");
  EXPECT_EQ(fmt("%d", INT_MIN), "-2147483648");
  EXPECT_EQ(fmt("%u", 4000000000u), "4000000000");
  EXPECT_EQ(fmt("%ld", LONG_MIN), "-9223372036854775808");
  EXPECT_EQ(fmt("%lu", ULONG_MAX), "18446744073709551615");
  EXPECT_EQ(fmt("%x", 0xbeefu), "beef");
  EXPECT_EQ(fmt("%X", 0xbeefu), "BEEF");
  EXPECT_EQ(fmt("%016lx", 0x1234ul), "0000000000001234");
  EXPECT_EQ(fmt("%5d|%-5d|", 42, 42), "   42|42   |");
  EXPECT_EQ(fmt("%zu", size_t{7}), "7");
}

TEST(Format, StringsCharactersPointersAndPercent) {
  EXPECT_EQ(fmt("%s and %s", "a", "bc"), "a and bc");
  const char* volatile missing = nullptr;  // volatile: keep the compiler's format check quiet
  EXPECT_EQ(fmt("%s", missing), "(null)");
  EXPECT_EQ(fmt("[%-4s][%4s]", "ab", "ab"), "[ab  ][  ab]");
  EXPECT_EQ(fmt("%c%c", 'o', 'k'), "ok");
  EXPECT_EQ(fmt("%p", reinterpret_cast<void*>(0xabc)), "0x0000000000000abc");
  EXPECT_EQ(fmt("100%%"), "100%");
}

TEST(Format, StringPrecisionLimitsTheCharactersRead) {
  const char text[] = {'a', 'b', 'c'};  // not terminated: precision must stop the read
  EXPECT_EQ(fmt("%.*s|", 2, text), "ab|");
  EXPECT_EQ(fmt("%.3s", "abcdef"), "abc");
  EXPECT_EQ(fmt("%.10s", "ab"), "ab");
}

TEST(Format, TruncatesToTheBufferAndTerminates) {
  char buffer[6];
  size_t used = format_to(buffer, sizeof(buffer), "%s", "hello world");
  EXPECT_EQ(used, 5u);
  EXPECT_STREQ(buffer, "hello");
}

}  // namespace
}  // namespace nimbus
