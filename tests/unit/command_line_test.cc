// Tests for CommandLine: splitting, quoting, lookups, numbers, limits and unknown keys.
#include "kernel/lib/command_line.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace nimbus {
namespace {

using namespace std::string_view_literals;

CommandLine parse(const char* text) {
  auto line = CommandLine::try_parse(text);
  EXPECT_TRUE(line) << text;
  return line ? *line : CommandLine();
}

std::vector<std::string> texts(const CommandLine& line) {
  std::vector<std::string> words;
  for (const CommandLine::Word& word : line) words.emplace_back(word.text);
  return words;
}

TEST(CommandLine, EmptyInputsHaveNoWords) {
  for (const char* text : {static_cast<const char*>(nullptr), "", "   ", " \t\n\r ", "\"\""}) {
    CommandLine line = parse(text);
    EXPECT_TRUE(line.empty());
    EXPECT_EQ(line.word_count(), 0u);
    EXPECT_EQ(line.begin(), line.end());
  }
  EXPECT_TRUE(CommandLine().empty());
}

TEST(CommandLine, SplitsWordsIntoKeysValuesAndFlags) {
  CommandLine line = parse("  console=ttyS0 quiet\tmem=512\n debug= a=b=c =orphan ");
  EXPECT_EQ(texts(line), (std::vector<std::string>{"console=ttyS0", "quiet", "mem=512",
                                                   "debug=", "a=b=c", "=orphan"}));
  EXPECT_EQ(line.word_count(), 6u);

  std::vector<CommandLine::Word> words(line.begin(), line.end());
  ASSERT_EQ(words.size(), 6u);
  EXPECT_EQ(words[0].key, "console");
  EXPECT_EQ(words[0].value, "ttyS0"sv);
  EXPECT_EQ(words[1].key, "quiet");
  EXPECT_EQ(words[1].value, std::nullopt);
  EXPECT_EQ(words[3].key, "debug");
  EXPECT_EQ(words[3].value, ""sv);
  EXPECT_EQ(words[4].key, "a");
  EXPECT_EQ(words[4].value, "b=c"sv);
  EXPECT_EQ(words[5].key, "");
  EXPECT_EQ(words[5].value, "orphan"sv);

  EXPECT_TRUE(line.has_flag("quiet"));
  EXPECT_FALSE(line.has_flag("console"));  // Has a value: not a flag.
  EXPECT_FALSE(line.has_flag("quie"));
  EXPECT_FALSE(line.has_flag("quiet2"));
  EXPECT_EQ(line.value("console"), "ttyS0"sv);
  EXPECT_EQ(line.value("debug"), ""sv);
  EXPECT_EQ(line.value("quiet"), std::nullopt);  // A flag has no value.
  EXPECT_EQ(line.value("missing"), std::nullopt);
  EXPECT_EQ(line.value("cons"), std::nullopt);
}

TEST(CommandLine, QuotesGroupBlanksAndDisappear) {
  CommandLine line = parse(R"(init="/bin/sh -c 'echo hi'" a"b c"d empty="" "x=1 2" tail)");
  EXPECT_EQ(texts(line), (std::vector<std::string>{"init=/bin/sh -c 'echo hi'", "ab cd",
                                                   "empty=", "x=1 2", "tail"}));
  EXPECT_EQ(line.value("init"), "/bin/sh -c 'echo hi'"sv);
  EXPECT_EQ(line.value("empty"), ""sv);
  EXPECT_EQ(line.value("x"), "1 2"sv);
  EXPECT_TRUE(line.has_flag("ab cd"));
}

TEST(CommandLine, UnterminatedQuoteIsEinval) {
  EXPECT_EQ(CommandLine::try_parse("init=\"/bin/sh").error(), Errno::einval);
  EXPECT_EQ(CommandLine::try_parse("a \"").error(), Errno::einval);
}

TEST(CommandLine, TheLastValueWins) {
  CommandLine line = parse("loglevel=3 loglevel loglevel=7 other=1");
  EXPECT_EQ(line.value("loglevel"), "7"sv);
  EXPECT_TRUE(line.has_flag("loglevel"));
}

TEST(CommandLine, ValueU64AcceptsOnlyPlainDecimal) {
  CommandLine line = parse(
      "zero=0 big=18446744073709551615 over=18446744073709551616 huge=99999999999999999999 "
      "lead=007 hex=0x10 neg=-1 plus=+1 suffix=12k empty= space=\"1 2\" flag");
  EXPECT_EQ(line.value_u64("zero"), 0u);
  EXPECT_EQ(line.value_u64("big"), UINT64_MAX);
  EXPECT_EQ(line.value_u64("lead"), 7u);
  for (std::string_view key : {"over"sv, "huge"sv, "hex"sv, "neg"sv, "plus"sv, "suffix"sv,
                               "empty"sv, "space"sv, "flag"sv, "missing"sv}) {
    EXPECT_EQ(line.value_u64(key), std::nullopt) << key;
  }
}

TEST(CommandLine, LengthLimitIsErange) {
  std::string longest(CommandLine::kCapacity - 1, 'x');
  longest[10] = ' ';
  auto line = CommandLine::try_parse(longest.c_str());
  ASSERT_TRUE(line);
  EXPECT_EQ(line->word_count(), 2u);
  EXPECT_EQ(texts(*line)[1], longest.substr(11));

  std::string too_long(CommandLine::kCapacity, 'x');
  EXPECT_EQ(CommandLine::try_parse(too_long.c_str()).error(), Errno::erange);
  std::string blanks(CommandLine::kCapacity + 100, ' ');
  EXPECT_EQ(CommandLine::try_parse(blanks.c_str()).error(), Errno::erange);
}

TEST(CommandLine, FirstUnknownReportsTheFirstUnlistedKey) {
  CommandLine line = parse("console=ttyS0 quiet strace mem=1 bogus=2 typo");
  constexpr std::array known_all = {"console"sv, "quiet"sv, "strace"sv,
                                    "mem"sv,     "bogus"sv, "typo"sv};
  EXPECT_EQ(line.first_unknown(known_all), std::nullopt);
  constexpr std::array known = {"console"sv, "quiet"sv, "strace"sv, "mem"sv};
  EXPECT_EQ(line.first_unknown(known), "bogus"sv);
  EXPECT_EQ(line.first_unknown({}), "console"sv);
  EXPECT_EQ(parse("").first_unknown({}), std::nullopt);
}

TEST(CommandLine, OwnsItsWordsSoTheSourceAndOriginalMayGo) {
  auto text = std::make_unique<std::string>("root=/dev/vda flag");
  auto original = std::make_unique<CommandLine>(parse(text->c_str()));
  text.reset();
  CommandLine copy = *original;
  original.reset();
  EXPECT_EQ(copy.value("root"), "/dev/vda"sv);
  EXPECT_TRUE(copy.has_flag("flag"));
  EXPECT_EQ(texts(copy), (std::vector<std::string>{"root=/dev/vda", "flag"}));
}

}  // namespace
}  // namespace nimbus
