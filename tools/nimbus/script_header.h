// parse_script_header(): the "#!" line of a script, split as Linux's binfmt_script splits it.
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

struct ScriptHeader {
  std::string interpreter;
  std::optional<std::string> argument;  // everything after the interpreter, as one argument
};

// How much of a file Linux reads to find the "#!" line (BINPRM_BUF_SIZE).
inline constexpr std::size_t kScriptHeaderLimit = 256;

// `start` is the beginning of the file (at most kScriptHeaderLimit bytes are looked at). Returns
// nothing when the file does not start with "#!", and an error message when the line is one Linux
// would refuse (no interpreter, or an interpreter path cut off by the 256-byte limit).
std::expected<std::optional<ScriptHeader>, std::string> parse_script_header(std::string_view start);
