// Tests of parse_script_header(): the "#!" line split exactly as Linux's binfmt_script splits it.
#include "script_header.h"

#include <gtest/gtest.h>

namespace {

ScriptHeader parse_ok(std::string_view text) {
  auto header = parse_script_header(text);
  EXPECT_TRUE(header.has_value()) << text << ": " << header.error();
  EXPECT_TRUE(header->has_value()) << text;
  return header->value_or(ScriptHeader{});
}

TEST(ScriptHeader, NotAScript) {
  for (std::string_view text : {"", "#", "# !/bin/sh\n",
                                "\x7f"
                                "ELF",
                                " #!/bin/sh\n"}) {
    auto header = parse_script_header(text);
    ASSERT_TRUE(header.has_value()) << text;
    EXPECT_FALSE(header->has_value()) << text;
  }
}

TEST(ScriptHeader, InterpreterAlone) {
  ScriptHeader header = parse_ok("#!/bin/sh\necho hi\n");
  EXPECT_EQ(header.interpreter, "/bin/sh");
  EXPECT_FALSE(header.argument.has_value());
  EXPECT_EQ(parse_ok("#!  \t/bin/sh  \t\n").interpreter, "/bin/sh");
  EXPECT_FALSE(parse_ok("#!/bin/sh \t \n").argument.has_value());
}

TEST(ScriptHeader, TheRestOfTheLineIsOneArgument) {
  ScriptHeader header = parse_ok("#!/usr/bin/env bash\nset -e\n");
  EXPECT_EQ(header.interpreter, "/usr/bin/env");
  EXPECT_EQ(header.argument, "bash");
  // Linux does not split further: "-S a b" reaches env as one argument.
  header = parse_ok("#! /usr/bin/env   -S python3 -u  \n");
  EXPECT_EQ(header.argument, "-S python3 -u");
}

TEST(ScriptHeader, FileWithoutNewline) {
  ScriptHeader header = parse_ok("#!/bin/sh -e");
  EXPECT_EQ(header.interpreter, "/bin/sh");
  EXPECT_EQ(header.argument, "-e");
}

TEST(ScriptHeader, CarriageReturnIsPartOfTheName) {
  // A script saved with CRLF endings names "/bin/sh\r", which does not exist: Linux says ENOENT.
  EXPECT_EQ(parse_ok("#!/bin/sh\r\n").interpreter, "/bin/sh\r");
}

TEST(ScriptHeader, NulEndsTheLine) {
  ScriptHeader header = parse_ok(std::string_view("#!/bin/sh\0 -x\n", 14));
  EXPECT_EQ(header.interpreter, "/bin/sh");
  EXPECT_FALSE(header.argument.has_value());
}

TEST(ScriptHeader, NoInterpreterIsRefused) {
  for (std::string_view text : {"#!", "#!\n", "#!   \n", "#! \t"}) {
    auto header = parse_script_header(text);
    ASSERT_FALSE(header.has_value()) << text;
    EXPECT_NE(header.error().find("names no interpreter"), std::string::npos);
  }
}

TEST(ScriptHeader, TheLineLimitIs256Bytes) {
  // An interpreter path running past the 256 bytes Linux reads is refused...
  std::string long_path = "#!/" + std::string(300, 'x');
  auto header = parse_script_header(long_path);
  ASSERT_FALSE(header.has_value());
  EXPECT_NE(header.error().find("256"), std::string::npos);
  // ...while an argument cut at the limit is only shortened.
  std::string long_argument = "#!/bin/sh " + std::string(300, 'a') + "\n";
  ScriptHeader cut = parse_ok(long_argument);
  EXPECT_EQ(cut.interpreter, "/bin/sh");
  EXPECT_EQ(cut.argument->size(), kScriptHeaderLimit - 10);
}

}  // namespace
