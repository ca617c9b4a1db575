// RunOptions: what `nimbus run` was asked to do, and the parser for its command line.
#include "run_options.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "memory_size.h"
#include "text.h"

namespace {

struct Flag {
  std::string_view name;
  bool RunOptions::*member;
};
constexpr std::array<Flag, 5> kFlags = {{{"--verbose", &RunOptions::verbose},
                                         {"--bootchart", &RunOptions::bootchart},
                                         {"--boot-only", &RunOptions::boot_only},
                                         {"--icount", &RunOptions::icount},
                                         {"--dry-run", &RunOptions::dry_run}}};

constexpr std::array<std::string_view, 7> kValueOptions = {
    "--accel", "--memory", "--cpus", "--machine", "--timeout", "--kernel", "--qemu"};

std::unexpected<CliError> unknown_option(std::string_view arg) {
  return usage_error(cat("unknown option '", arg, "' (see nimbus --help)"));
}

// Walks the arguments, splitting "--name=value" so both spellings take the same path.
class ArgCursor {
 public:
  explicit ArgCursor(std::span<const std::string_view> args) : m_args(args) {}

  bool done() const { return m_index >= m_args.size(); }

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

  std::span<const std::string_view> rest() const { return m_args.subspan(m_index); }

 private:
  std::span<const std::string_view> m_args;
  std::size_t m_index = 0;
  std::string_view m_current;
  std::optional<std::string_view> m_inline_value;
};

CliResult<AccelChoice> parse_accel(std::string_view text) {
  if (text == "auto") return AccelChoice::Auto;
  if (text == "kvm") return AccelChoice::Kvm;
  if (text == "tcg") return AccelChoice::Tcg;
  return usage_error(cat("--accel must be auto, kvm or tcg, not '", text, "'"));
}

CliResult<Machine> parse_machine(std::string_view text) {
  if (text == "microvm") return Machine::Microvm;
  if (text == "q35") return Machine::Q35;
  return usage_error(cat("--machine must be microvm or q35, not '", text, "'"));
}

CliResult<std::uint64_t> parse_memory(std::string_view text) {
  auto mib = parse_memory_mib(text);
  if (!mib)
    return usage_error(
        cat("--memory '", text, "' is not a size in whole MiB (examples: 128M, 1G, 512 = MiB)"));
  if (*mib < kMinMemoryMib)
    return usage_error(cat("--memory ", text, " is too small (the kernel needs at least ",
                           kMinMemoryMib, " MiB)"));
  return *mib;
}

CliResult<unsigned> parse_cpus(std::string_view text) {
  unsigned cpus = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), cpus);
  if (ec != std::errc{} || end != text.data() + text.size() || cpus < 1 || cpus > kMaxCpus)
    return usage_error(cat("--cpus must be a whole number from 1 to ", kMaxCpus,
                           " (the xAPIC limit), not '", text, "'"));
  return cpus;
}

CliResult<double> parse_timeout(std::string_view text) {
  double seconds = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(seconds) ||
      seconds < 0)
    return usage_error(
        cat("--timeout must be a number of seconds (0 = no limit), not '", text, "'"));
  return seconds;
}

}  // namespace

CliResult<RunOptions> parse_run_options(std::span<const std::string_view> args) {
  RunOptions options;
  ArgCursor cursor(args);
  while (!cursor.done()) {
    std::string_view name = cursor.next();
    if (name == "--") {
      for (std::string_view arg : cursor.rest()) options.kernel_args.emplace_back(arg);
      break;
    }

    auto flag = std::ranges::find(kFlags, name, &Flag::name);
    if (flag != kFlags.end()) {
      if (cursor.has_inline_value()) return usage_error(cat("option '", name, "' takes no value"));
      options.*(flag->member) = true;
      continue;
    }

    if (std::ranges::find(kValueOptions, name) == kValueOptions.end()) return unknown_option(name);
    std::string_view text = TRY_CLI(cursor.value());
    if (name == "--accel") {
      options.accel = TRY_CLI(parse_accel(text));
    } else if (name == "--memory") {
      options.memory_mib = TRY_CLI(parse_memory(text));
    } else if (name == "--cpus") {
      options.cpus = TRY_CLI(parse_cpus(text));
    } else if (name == "--machine") {
      options.machine = TRY_CLI(parse_machine(text));
    } else if (name == "--timeout") {
      options.timeout_seconds = TRY_CLI(parse_timeout(text));
      options.timeout_text = text;
    } else if (name == "--kernel") {
      options.kernel_path = std::string(text);
    } else {
      options.qemu_path = std::string(text);
    }
  }

  if (options.icount && options.accel == AccelChoice::Kvm)
    return usage_error(
        "--icount counts instructions under TCG and cannot be used with --accel kvm");
  return options;
}
