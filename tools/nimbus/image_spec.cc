// ImageSpec: what an image is to hold, as the user described it on the command line or in a
// manifest (program, argv, environment, working directory, extra files, kernel), and the checks
// on each part.
#include "image_spec.h"

#include <unistd.h>

#include <array>
#include <cstdlib>

#include "text.h"

namespace {

constexpr std::array<std::string_view, 4> kImageOptions = {"--add", "--env", "--workdir",
                                                           "--argv0"};

std::string key_of(std::string_view entry) {
  return std::string(entry.substr(0, entry.find('=')));
}

std::filesystem::path absolute_from(std::string_view path, const std::filesystem::path& base_dir) {
  std::filesystem::path result(path);
  if (result.is_relative()) result = base_dir / result;
  return result.lexically_normal();
}

}  // namespace

std::vector<std::string> guest_environment(const ImageSpec& spec) {
  std::vector<std::string> env{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/"};
  if (const char* term = std::getenv("TERM"); term && *term) env.push_back(cat("TERM=", term));
  // The host's locale, as its TERM: a program says in Nimbus what it says here (messages, sort
  // order, number formats); C.UTF-8 when the host names none. The runtime table packs the locale
  // these name (runtime_files.cc).
  const char* lang = std::getenv("LANG");
  env.push_back(cat("LANG=", lang && *lang ? lang : "C.UTF-8"));
  for (char** entry = environ; *entry; ++entry) {
    std::string_view text(*entry);
    if (text.starts_with("LC_") && text.find('=') != std::string_view::npos &&
        !text.ends_with('='))
      env.emplace_back(text);
  }
  for (const std::string& entry : spec.env) {
    std::string key = key_of(entry);
    bool replaced = false;
    for (std::string& existing : env) {
      if (key_of(existing) != key) continue;
      existing = entry;
      replaced = true;
    }
    if (!replaced) env.push_back(entry);
  }
  return env;
}

CliResult<AddSpec> parse_add(std::string_view text, const std::filesystem::path& base_dir) {
  if (text.empty()) return usage_error("--add needs a path (HOST or HOST:GUEST)");
  std::string_view host = text;
  std::optional<std::string> guest;
  if (auto colon = text.rfind(":/"); colon != std::string_view::npos && colon > 0) {
    guest = TRY_CLI(parse_guest_path(text.substr(colon + 1), "the guest path of --add"));
    host = text.substr(0, colon);
  }
  std::string host_path = absolute_from(host, base_dir).string();
  // "dir/" normalizes to "dir/", and a trailing slash would make it a different path below.
  while (host_path.size() > 1 && host_path.ends_with('/')) host_path.pop_back();
  return AddSpec{host_path, guest};
}

CliResult<std::string> parse_env(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return usage_error(cat("--env wants KEY=VALUE, not '", text, "'"));
  return std::string(text);
}

CliResult<std::string> parse_guest_path(std::string_view text, std::string_view what) {
  if (!text.starts_with('/'))
    return usage_error(cat(what, " must be an absolute path in the guest, not '", text, "'"));
  std::string normal = std::filesystem::path(text).lexically_normal().string();
  while (normal.size() > 1 && normal.ends_with('/')) normal.pop_back();
  return normal;
}

std::string program_reference(std::string_view text, const std::filesystem::path& base_dir) {
  if (text.find('/') == std::string_view::npos) return std::string(text);
  std::filesystem::path path(text);
  return path.is_relative() ? (base_dir / path).string() : path.string();
}

bool is_image_option(std::string_view name) {
  for (std::string_view option : kImageOptions)
    if (name == option) return true;
  return false;
}

CliResult<> apply_image_option(std::string_view name, std::string_view value, ImageSpec& spec) {
  std::error_code ec;
  std::filesystem::path cwd = std::filesystem::current_path(ec);
  if (name == "--add") {
    spec.adds.push_back(TRY_CLI(parse_add(value, cwd)));
  } else if (name == "--env") {
    spec.env.push_back(TRY_CLI(parse_env(value)));
  } else if (name == "--workdir") {
    spec.workdir = TRY_CLI(parse_guest_path(value, "--workdir"));
  } else if (name == "--argv0") {
    spec.argv0 = std::string(value);
  } else {
    return usage_error(cat("unknown option '", name, "' (see nimbus --help)"));
  }
  return {};
}

bool is_image_flag(std::string_view name) {
  return name == "--no-auto";
}

void apply_image_flag(std::string_view name, ImageSpec& spec) {
  if (name == "--no-auto") spec.auto_pack = false;
}

CliResult<ImageSpec> merge_specs(ImageSpec manifest, ImageSpec command_line) {
  if (manifest.program && command_line.program)
    return usage_error(cat("the manifest already names the program (", *manifest.program,
                           "); give PROGRAM either there or on the command line"));
  ImageSpec merged = std::move(manifest);
  if (command_line.program) {
    merged.program = std::move(command_line.program);
    merged.args = std::move(command_line.args);
  }
  if (command_line.argv0) merged.argv0 = std::move(command_line.argv0);
  if (command_line.workdir) merged.workdir = std::move(command_line.workdir);
  merged.auto_pack = merged.auto_pack && command_line.auto_pack;
  if (command_line.kernel_path) merged.kernel_path = std::move(command_line.kernel_path);
  merged.env.insert(merged.env.end(), command_line.env.begin(), command_line.env.end());
  merged.adds.insert(merged.adds.end(), command_line.adds.begin(), command_line.adds.end());
  merged.kernel_words.insert(merged.kernel_words.end(), command_line.kernel_words.begin(),
                             command_line.kernel_words.end());
  return merged;
}
