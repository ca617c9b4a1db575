// ImageSpec: what an image is to hold, as the user described it on the command line or in a
// manifest (program, argv, environment, working directory, extra files, kernel), and the checks
// on each part.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli_error.h"

struct AddSpec {
  std::string host;                  // absolute host path, as given (symlinks not resolved)
  std::optional<std::string> guest;  // absolute guest path; none: the same path as on the host
};

struct ImageSpec {
  std::optional<std::string> program;  // an absolute path, or a name to look up on PATH
  std::vector<std::string> args;       // the program's arguments after argv[0]
  std::optional<std::string> argv0;
  std::vector<std::string> env;  // KEY=VALUE entries over the defaults, in order
  std::optional<std::string> workdir;
  std::vector<AddSpec> adds;
  std::optional<std::string> kernel_path;
  std::vector<std::string> kernel_words;  // default kernel command-line words kept in the image
  // Pack what a known runtime loads, the host files the arguments name, and start in the
  // current directory when it was packed (false with --no-auto).
  bool auto_pack = true;
};

// The guest environment: PATH, HOME, TERM (when the host has one) and LANG, then `spec.env`
// replacing or adding entries.
std::vector<std::string> guest_environment(const ImageSpec& spec);

// "HOST" or "HOST:GUEST"; a relative HOST is taken from `base_dir`. The split is at the last
// ':' that is followed by '/', so host paths holding a colon still work.
CliResult<AddSpec> parse_add(std::string_view text, const std::filesystem::path& base_dir);
// "KEY=VALUE" with a non-empty KEY.
CliResult<std::string> parse_env(std::string_view text);
// An absolute guest path, normalized ("/srv/./app/" -> "/srv/app"); `what` names it in errors.
CliResult<std::string> parse_guest_path(std::string_view text, std::string_view what);
// A program as given: a name without '/' stays a PATH name, a path is made absolute.
std::string program_reference(std::string_view text, const std::filesystem::path& base_dir);

// Options shared by `nimbus build` and `nimbus run PROGRAM` that describe the image.
bool is_image_option(std::string_view name);
CliResult<> apply_image_option(std::string_view name, std::string_view value, ImageSpec& spec);
// The image options that take no value (--no-auto).
bool is_image_flag(std::string_view name);
void apply_image_flag(std::string_view name, ImageSpec& spec);

// Puts the command line's choices over a manifest's: adds and environment entries are appended,
// single values replace the manifest's, and PROGRAM may come from one of the two only.
CliResult<ImageSpec> merge_specs(ImageSpec manifest, ImageSpec command_line);
