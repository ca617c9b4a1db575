// Tests for the kernel words that describe the program's standard streams and --strace:
// nimbus.streams=, nimbus.winsize=, strace and strace=LIST.
#include <gtest/gtest.h>

#include "kernel/boot/boot_options.h"

namespace nimbus {
namespace {

TEST(BootStreamOptions, WithoutWordsEveryStreamIsTheTerminal) {
  BootOptions options;
  ASSERT_EQ(parse_boot_options("verbose", options), nullptr);
  EXPECT_EQ(options.streams.terminal, (std::array<bool, 3>{true, true, true}));
  EXPECT_EQ(options.streams.rows, 0);
  EXPECT_EQ(options.streams.columns, 0);
}

TEST(BootStreamOptions, EachStreamIsATerminalOrAPipe) {
  BootOptions options;
  ASSERT_EQ(parse_boot_options("nimbus.streams=tty,pipe,pipe nimbus.winsize=50x132", options),
            nullptr);
  EXPECT_EQ(options.streams.terminal, (std::array<bool, 3>{true, false, false}));
  EXPECT_EQ(options.streams.rows, 50);
  EXPECT_EQ(options.streams.columns, 132);

  BootOptions piped;
  ASSERT_EQ(parse_boot_options("nimbus.streams=pipe,pipe,tty", piped), nullptr);
  EXPECT_EQ(piped.streams.terminal, (std::array<bool, 3>{false, false, true}));
}

TEST(BootStreamOptions, MalformedStreamWordsAreRefused) {
  for (const char* line :
       {"nimbus.streams=tty,pipe", "nimbus.streams=tty,pipe,pipe,tty",
        "nimbus.streams=tty,file,pipe", "nimbus.streams=", "nimbus.streams=tty,,pipe",
        "nimbus.winsize=50", "nimbus.winsize=0x80", "nimbus.winsize=50x", "nimbus.winsize=x80",
        "nimbus.winsize=65536x80", "nimbus.winsize=5a0x80"}) {
    BootOptions options;
    EXPECT_NE(parse_boot_options(line, options), nullptr) << line;
  }
}

TEST(BootStreamOptions, StraceAloneOrWithNames) {
  BootOptions all;
  ASSERT_EQ(parse_boot_options("strace", all), nullptr);
  EXPECT_TRUE(all.strace);
  EXPECT_TRUE(all.strace_filter.empty());

  BootOptions some;
  ASSERT_EQ(parse_boot_options("strace=open,read", some), nullptr);
  EXPECT_TRUE(some.strace);
  EXPECT_EQ(some.strace_filter, "open,read");

  BootOptions empty;
  EXPECT_NE(parse_boot_options("strace=", empty), nullptr);
}

}  // namespace
}  // namespace nimbus
