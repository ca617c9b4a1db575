// BuildOptions: what `nimbus build` was asked to do, and the parser for its command line.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cli_error.h"
#include "image_spec.h"
#include "network_options.h"

struct BuildOptions {
  ImageSpec spec;                     // PROGRAM, its arguments and the image options
  std::optional<std::string> output;  // -o IMAGE
  std::optional<std::string> manifest;
  // -p, --net, --ip, --gateway, --mac: kept in the image as launch words (spec.kernel_words).
  NetworkOptions network;
  bool verbose = false;
  bool help = false;  // --help among the options: print the help and do nothing else
};

// Parses the arguments after "build": options, then PROGRAM and its arguments. "-o IMAGE" may
// also be the last two words (`nimbus build PROGRAM ARGS... -o IMAGE`) unless it was given
// before PROGRAM, in which case every word after PROGRAM is the program's.
CliResult<BuildOptions> parse_build_options(std::span<const std::string_view> args);

// A kernel command-line word kept in an image: non-empty, without blanks (words are
// space-separated on the command line).
CliResult<std::string> parse_kernel_word(std::string_view text);
