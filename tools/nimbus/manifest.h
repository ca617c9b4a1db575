// parse_manifest(): the manifest file, a declarative ImageSpec (see docs/image-format.md).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "cli_error.h"
#include "image_spec.h"

// `text` is the manifest's contents and `path` its file (for messages; relative host paths are
// taken from its directory). Mistakes are usage errors (status 2) naming the file and line.
CliResult<ImageSpec> parse_manifest(std::string_view text, const std::filesystem::path& path);

// Reads and parses a manifest file; a missing or unreadable file fails with kBadInput.
CliResult<ImageSpec> load_manifest(const std::string& path);

// The command line's spec over the manifest's (see merge_specs), or unchanged without a manifest.
CliResult<ImageSpec> with_manifest(ImageSpec command_line,
                                   const std::optional<std::string>& manifest_path);
