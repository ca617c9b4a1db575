// parse_script_header(): the "#!" line of a script, split as Linux's binfmt_script splits it.
//
// Linux (fs/binfmt_script.c) looks at the first 256 bytes: after "#!" and any spaces or tabs
// comes the interpreter path, ended by a space, tab, newline or NUL; the rest of the line, with
// surrounding spaces and tabs removed, is passed as a single argument (never split further). The
// interpreter then runs as: interpreter [argument] script-path original-arguments... A carriage
// return is not special (a CRLF script names "/bin/sh\r", which does not exist), as on Linux.
#include "script_header.h"

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool ends_word(char c) {
  return is_blank(c) || c == '\n' || c == '\0';
}

}  // namespace

std::expected<std::optional<ScriptHeader>, std::string> parse_script_header(
    std::string_view start) {
  if (!start.starts_with("#!")) return std::nullopt;
  std::string_view buffer = start.substr(0, kScriptHeaderLimit);
  // A shorter file ends in zeros, as the kernel's zero-filled buffer does.
  bool cut_short = start.size() >= kScriptHeaderLimit &&
                   buffer.find_first_of(std::string_view("\n\0", 2)) == std::string_view::npos;
  // The first line, without a line end: also cut at a NUL, which ends strings for the kernel.
  std::string_view line =
      buffer.substr(2, buffer.find_first_of(std::string_view("\n\0", 2), 2) - 2);

  std::size_t i = 0;
  while (i < line.size() && is_blank(line[i])) ++i;
  std::size_t interpreter_start = i;
  while (i < line.size() && !ends_word(line[i])) ++i;
  if (i == interpreter_start) return std::unexpected("the #! line names no interpreter");
  // Without a line end inside the buffer, an interpreter running to its end may be cut short.
  if (cut_short && i == line.size())
    return std::unexpected("the #! line is longer than Linux reads (256 bytes)");

  ScriptHeader header;
  header.interpreter = std::string(line.substr(interpreter_start, i - interpreter_start));
  std::string_view rest = line.substr(i);
  while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && is_blank(rest.back())) rest.remove_suffix(1);
  if (!rest.empty()) header.argument = std::string(rest);
  return header;
}
