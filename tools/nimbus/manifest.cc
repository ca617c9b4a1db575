// parse_manifest(): the manifest file, a declarative ImageSpec (see docs/image-format.md).
//
// One directive per line: a keyword, blanks, then the value up to the end of the line (trailing
// blanks dropped), or a double-quoted value with C escapes when it needs leading or trailing
// blanks, an empty string or a control character. Blank lines and lines starting with '#' are
// ignored; '#' later in a line is part of the value.
#include "manifest.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "text.h"

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A quoted value: "..." with \\ \" \n \t \r and \xHH (not \x00: argv strings end at a NUL).
std::expected<std::string, std::string> unquote(std::string_view text) {
  std::string out;
  std::size_t i = 1;
  for (; i < text.size() && text[i] != '"'; ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i >= text.size()) break;
    switch (text[i]) {
      case '\\':
      case '"':
        out += text[i];
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'x': {
        int high = i + 1 < text.size() ? hex_digit(text[i + 1]) : -1;
        int low = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
        if (high < 0 || low < 0) return std::unexpected("\\x needs two hex digits");
        if (high == 0 && low == 0) return std::unexpected("a value cannot hold a NUL byte");
        out += static_cast<char>(high * 16 + low);
        i += 2;
        break;
      }
      default:
        return std::unexpected(cat("unknown escape '\\", text[i], "' (use \\\\ for a backslash)"));
    }
  }
  if (i >= text.size()) return std::unexpected("the quoted value has no closing '\"'");
  if (i + 1 != text.size()) return std::unexpected("text after the closing '\"'");
  return out;
}

class ManifestParser {
 public:
  ManifestParser(const std::filesystem::path& path)
      : m_path(path), m_base_dir(std::filesystem::absolute(path).parent_path()) {}

  CliResult<ImageSpec> parse(std::string_view text) {
    if (text.find('\0') != std::string_view::npos)
      return usage_error(cat(m_path.string(), ": holds a NUL byte; a manifest is a text file"));
    std::size_t line_start = 0;
    while (line_start < text.size()) {
      std::size_t line_end = text.find('\n', line_start);
      if (line_end == std::string_view::npos) line_end = text.size();
      std::string_view line = text.substr(line_start, line_end - line_start);
      line_start = line_end + 1;
      ++m_line;
      if (line.ends_with('\r')) line.remove_suffix(1);
      TRY_CLI(parse_line(line));
    }
    return std::move(m_spec);
  }

 private:
  std::unexpected<CliError> error(std::string message) const {
    return usage_error(cat(m_path.string(), ":", m_line, ": ", message));
  }

  CliResult<> parse_line(std::string_view line) {
    while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') return {};
    std::size_t keyword_end = 0;
    while (keyword_end < line.size() && !is_blank(line[keyword_end])) ++keyword_end;
    std::string_view keyword = line.substr(0, keyword_end);
    std::string_view raw = line.substr(keyword_end);
    while (!raw.empty() && is_blank(raw.front())) raw.remove_prefix(1);
    while (!raw.empty() && is_blank(raw.back())) raw.remove_suffix(1);

    std::string value;
    if (raw.starts_with('"')) {
      auto unquoted = unquote(raw);
      if (!unquoted) return error(unquoted.error());
      value = std::move(*unquoted);
    } else if (raw.empty()) {
      return error(cat("'", keyword, "' needs a value (write \"\" for an empty one)"));
    } else {
      value = raw;
    }
    return apply(keyword, value);
  }

  // Single-valued keywords may appear once; the line of the first is kept for the message.
  CliResult<> once(std::string_view keyword, std::optional<int>& seen_on) {
    if (seen_on) return error(cat("'", keyword, "' given twice (first on line ", *seen_on, ")"));
    seen_on = m_line;
    return {};
  }

  CliResult<> apply(std::string_view keyword, const std::string& value) {
    if (keyword == "program") {
      TRY_CLI(once(keyword, m_program_line));
      m_spec.program = program_reference(value, m_base_dir);
    } else if (keyword == "arg") {
      m_spec.args.push_back(value);
    } else if (keyword == "argv0") {
      TRY_CLI(once(keyword, m_argv0_line));
      m_spec.argv0 = value;
    } else if (keyword == "env") {
      auto entry = parse_env(value);
      if (!entry) return error(cat("env wants KEY=VALUE, not '", value, "'"));
      m_spec.env.push_back(std::move(*entry));
    } else if (keyword == "workdir") {
      TRY_CLI(once(keyword, m_workdir_line));
      auto workdir = parse_guest_path(value, "workdir");
      if (!workdir) return error(workdir.error().message);
      m_spec.workdir = std::move(*workdir);
    } else if (keyword == "add") {
      auto add = parse_add(value, m_base_dir);
      if (!add) return error(add.error().message);
      m_spec.adds.push_back(std::move(*add));
    } else {
      return error(cat("unknown keyword '", keyword,
                       "' (expected program, arg, argv0, env, workdir or add)"));
    }
    return {};
  }

  std::filesystem::path m_path;
  std::filesystem::path m_base_dir;
  int m_line = 0;
  ImageSpec m_spec;
  std::optional<int> m_program_line, m_argv0_line, m_workdir_line;
};

}  // namespace

CliResult<ImageSpec> parse_manifest(std::string_view text, const std::filesystem::path& path) {
  return ManifestParser(path).parse(text);
}

CliResult<ImageSpec> load_manifest(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return cli_error(exit_status::kBadInput, cat("manifest ", path, ": is a directory"));
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return cli_error(exit_status::kBadInput, cat("manifest ", path, ": ", std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return cli_error(exit_status::kBadInput, cat("manifest ", path, ": read error"));
  return parse_manifest(text.str(), path);
}

CliResult<ImageSpec> with_manifest(ImageSpec command_line,
                                   const std::optional<std::string>& manifest_path) {
  if (!manifest_path) return command_line;
  ImageSpec manifest = TRY_CLI(load_manifest(*manifest_path));
  return merge_specs(std::move(manifest), std::move(command_line));
}
