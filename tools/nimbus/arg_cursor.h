// ArgCursor: walks a subcommand's arguments, splitting "--name=value" so both spellings of an
// option take the same path.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "cli_error.h"
#include "text.h"

class ArgCursor {
 public:
  explicit ArgCursor(std::span<const std::string_view> args) : m_args(args) {}

  bool done() const { return m_index >= m_args.size(); }
  std::string_view peek() const { return m_args[m_index]; }

  // Advances to the next argument; returns its option name (the part before any '=').
  std::string_view next() {
    std::string_view arg = m_args[m_index++];
    m_inline_value.reset();
    if (arg.starts_with("--")) {
      if (auto eq = arg.find('='); eq != std::string_view::npos) {
        m_inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    m_current = arg;
    return arg;
  }

  bool has_inline_value() const { return m_inline_value.has_value(); }

  CliResult<std::string_view> value() {
    if (m_inline_value) return *m_inline_value;
    if (done()) return usage_error(cat("option '", m_current, "' needs a value"));
    return m_args[m_index++];
  }

  // The arguments not consumed yet.
  std::span<const std::string_view> rest() const { return m_args.subspan(m_index); }
  void skip_rest() { m_index = m_args.size(); }

 private:
  std::span<const std::string_view> m_args;
  std::size_t m_index = 0;
  std::string_view m_current;
  std::optional<std::string_view> m_inline_value;
};
