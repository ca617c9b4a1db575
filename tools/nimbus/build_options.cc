// BuildOptions: what `nimbus build` was asked to do, and the parser for its command line.
#include "build_options.h"

#include "arg_cursor.h"
#include "text.h"

CliResult<std::string> parse_kernel_word(std::string_view text) {
  if (text.empty() || text.find_first_of(" \t\n\r") != std::string_view::npos)
    return usage_error(cat("--kernel-arg takes one word without blanks, not '", text, "'"));
  return std::string(text);
}

CliResult<BuildOptions> parse_build_options(std::span<const std::string_view> args) {
  BuildOptions options;
  ArgCursor cursor(args);
  while (!cursor.done()) {
    std::string_view word = cursor.peek();
    if (!word.starts_with('-') || word == "-") break;
    std::string_view name = cursor.next();
    if (name == "--") break;  // PROGRAM follows, even if it starts with '-'
    if (name == "--help" || name == "-h") {
      options.help = true;
      return options;
    }
    if (name == "--verbose") {
      if (cursor.has_inline_value()) return usage_error("option '--verbose' takes no value");
      options.verbose = true;
      continue;
    }
    if (is_image_flag(name)) {
      if (cursor.has_inline_value()) return usage_error(cat("option '", name, "' takes no value"));
      apply_image_flag(name, options.spec);
      continue;
    }
    if (name == "-o" || name == "--output") {
      options.output = std::string(TRY_CLI(cursor.value()));
    } else if (name == "--manifest") {
      options.manifest = std::string(TRY_CLI(cursor.value()));
    } else if (name == "--kernel") {
      options.spec.kernel_path = std::string(TRY_CLI(cursor.value()));
    } else if (name == "--kernel-arg") {
      options.spec.kernel_words.push_back(TRY_CLI(parse_kernel_word(TRY_CLI(cursor.value()))));
    } else if (is_image_option(name)) {
      TRY_CLI(apply_image_option(name, TRY_CLI(cursor.value()), options.spec));
    } else if (is_network_option(name)) {
      TRY_CLI(apply_network_option(name, TRY_CLI(cursor.value()), options.network));
    } else {
      return usage_error(cat("unknown option '", name, "' (see nimbus --help)"));
    }
  }

  // The image's network defaults (`nimbus run IMAGE` reads them back; its options override).
  // Whether they can work is checked as `nimbus run` would, with a program to boot.
  TRY_CLI(check_network_options(options.network, effective_net_mode(options.network, true)));
  for (std::string& word : network_launch_words(options.network)) options.spec.kernel_words.push_back(std::move(word));

  std::span<const std::string_view> rest = cursor.rest();
  if (rest.empty()) return options;
  if (!options.output && rest.size() >= 3 &&
      (rest[rest.size() - 2] == "-o" || rest[rest.size() - 2] == "--output")) {
    options.output = std::string(rest.back());
    rest = rest.first(rest.size() - 2);
  }
  options.spec.program = std::string(rest[0]);
  for (std::string_view arg : rest.subspan(1)) options.spec.args.emplace_back(arg);
  return options;
}
