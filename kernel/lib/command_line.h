// CommandLine: the kernel command line split into `key=value` words and bare flags.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "kernel/lib/result.h"

namespace nimbus {

// Words are separated by blanks (space, tab, newline...). Double quotes group blanks into a
// word and are dropped wherever they appear, so `init="/bin/sh -c"` has the value
// `/bin/sh -c` and `""` alone is no word at all. A word splits at its first '=' into key
// and value; a word without '=' is a flag. The parsed words are copied into the object,
// which owns no pointers, so it can be copied and the source text may go away.
class CommandLine {
 public:
  // Bytes including the terminating NUL, as Linux's COMMAND_LINE_SIZE on x86.
  static constexpr size_t kCapacity = 2048;

  struct Word {
    std::string_view text;  // The whole word without its quotes.
    std::string_view key;
    std::optional<std::string_view> value;  // Empty for `key=`, nullopt for a flag.
  };

  class Iterator {
   public:
    using value_type = Word;
    using difference_type = std::ptrdiff_t;

    Iterator() = default;
    Word operator*() const;
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const Iterator&) const = default;

   private:
    friend class CommandLine;
    explicit Iterator(const char* position) : m_position(position) {}
    const char* m_position = nullptr;
  };

  // An empty command line.
  CommandLine() = default;

  // Errno::erange when `text` is longer than kCapacity - 1 bytes, Errno::einval when a quote
  // is left open. nullptr is an empty command line.
  static Result<CommandLine> try_parse(const char* text);

  // Whether `name` appears as a bare word (`name=...` is not a flag).
  bool has_flag(std::string_view name) const;
  // The value of the last `key=value` word for `key`, as when Linux applies them in order.
  std::optional<std::string_view> value(std::string_view key) const;
  // value(key) as a decimal number; nullopt when missing, empty, not all digits or above
  // UINT64_MAX.
  std::optional<uint64_t> value_u64(std::string_view key) const;
  // The key (or flag name) of the first word whose key is not in `known`.
  std::optional<std::string_view> first_unknown(std::span<const std::string_view> known) const;

  // All words in order.
  Iterator begin() const { return Iterator(m_words.data()); }
  Iterator end() const { return Iterator(m_words.data() + m_length); }
  size_t word_count() const { return m_word_count; }
  bool empty() const { return m_word_count == 0; }

 private:
  // Each word followed by a NUL.
  std::array<char, kCapacity> m_words{};
  size_t m_length = 0;
  size_t m_word_count = 0;
};

}  // namespace nimbus
