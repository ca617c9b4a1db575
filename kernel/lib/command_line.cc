// CommandLine: splitting the text into words once, then looking keys up by scanning them.
#include "kernel/lib/command_line.h"

#include <algorithm>

namespace nimbus {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

}  // namespace

// Plain loops rather than strlen/find/substr: no libc calls, no out_of_range paths.
CommandLine::Word CommandLine::Iterator::operator*() const {
  size_t length = 0;
  size_t equals = 0;
  bool has_equals = false;
  for (; m_position[length] != '\0'; length++) {
    if (m_position[length] == '=' && !has_equals) {
      equals = length;
      has_equals = true;
    }
  }
  std::string_view text(m_position, length);
  if (!has_equals) return Word{text, text, std::nullopt};
  return Word{text, std::string_view(m_position, equals),
              std::string_view(m_position + equals + 1, length - equals - 1)};
}

CommandLine::Iterator& CommandLine::Iterator::operator++() {
  while (*m_position != '\0') m_position++;
  m_position++;
  return *this;
}

Result<CommandLine> CommandLine::try_parse(const char* text) {
  CommandLine line;
  if (text == nullptr) return line;
  // Measured first: the words (at most the text and one NUL) then always fit.
  for (size_t length = 0; text[length] != '\0'; length++) {
    if (length + 1 >= kCapacity) return error(Errno::erange);
  }
  size_t out = 0;
  const char* in = text;
  while (true) {
    while (is_blank(*in)) in++;
    if (*in == '\0') break;
    size_t word_begin = out;
    bool quoted = false;
    for (; *in != '\0' && (quoted || !is_blank(*in)); in++) {
      if (*in == '"') {
        quoted = !quoted;
      } else {
        line.m_words[out++] = *in;
      }
    }
    if (quoted) return error(Errno::einval);
    if (out == word_begin) continue;
    line.m_words[out++] = '\0';
    line.m_word_count++;
  }
  line.m_length = out;
  return line;
}

bool CommandLine::has_flag(std::string_view name) const {
  return std::any_of(begin(), end(),
                     [&](const Word& word) { return !word.value.has_value() && word.key == name; });
}

std::optional<std::string_view> CommandLine::value(std::string_view key) const {
  std::optional<std::string_view> found;
  for (const Word& word : *this) {
    if (word.value.has_value() && word.key == key) found = word.value;
  }
  return found;
}

std::optional<uint64_t> CommandLine::value_u64(std::string_view key) const {
  std::optional<std::string_view> text = value(key);
  if (!text.has_value() || text->empty()) return std::nullopt;
  uint64_t number = 0;
  for (char c : *text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (number > (UINT64_MAX - digit) / 10) return std::nullopt;
    number = number * 10 + digit;
  }
  return number;
}

std::optional<std::string_view> CommandLine::first_unknown(
    std::span<const std::string_view> known) const {
  for (const Word& word : *this) {
    if (std::find(known.begin(), known.end(), word.key) == known.end()) return word.key;
  }
  return std::nullopt;
}

}  // namespace nimbus
