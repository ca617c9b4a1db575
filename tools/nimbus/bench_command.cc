// bench_command(): `nimbus bench <name>`, which hands over to the benchmark drivers in bench/.
#include "bench_command.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli_error.h"
#include "host_paths.h"
#include "text.h"

namespace {

// Runs when --runs is not given: boot and abi are cheap per run; net boots four servers in two
// guests per run under TCG, minutes each, and storage runs a few minutes of fio per guest.
int default_runs(std::string_view name) { return name == "net" || name == "storage" ? 3 : 11; }

// The benchmarks whose driver takes --quick (one short smoke pass that leaves the docs alone).
bool takes_quick(std::string_view name) { return name == "net" || name == "storage"; }

struct BenchOptions {
  int runs;
  bool quick = false;  // net and storage: one short smoke pass that leaves docs/benchmarks.md alone
};

CliResult<BenchOptions> parse_options(std::string_view name, std::span<const std::string_view> args) {
  BenchOptions options{default_runs(name)};
  int& runs = options.runs;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::string_view value;
    if (arg == "--quick" && takes_quick(name)) {
      options.quick = true;
      continue;
    }
    if (arg.starts_with("--runs=")) {
      value = arg.substr(7);
    } else if (arg == "--runs" && i + 1 < args.size()) {
      value = args[++i];
    } else if (arg == "--runs") {
      return usage_error("option '--runs' needs a value");
    } else {
      return usage_error(cat("unknown option '", arg, "' (see nimbus --help)"));
    }
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), runs);
    if (ec != std::errc{} || end != value.data() + value.size() || runs < 1)
      return usage_error(cat("--runs must be a whole number of at least 1, not '", value, "'"));
  }
  return options;
}

// Each benchmark is a bash driver, bench/NAME.sh (it also runs the Linux-guest baseline
// scripts); exec keeps the CLI the one entry point without re-implementing them.
CliResult<int> run_bench_script(std::string_view name, std::span<const std::string_view> args) {
  BenchOptions options = TRY_CLI(parse_options(name, args));
  std::string script = cat(NIMBUS_SOURCE_DIR, "/bench/", name, ".sh");
  if (::access(script.c_str(), R_OK) != 0)
    return cli_error(exit_status::kCliFailure, cat(script, ": ", std::strerror(errno)));
  std::string build_dir = executable_dir().string();
  std::string runs_text = std::to_string(options.runs);
  std::string quick_text = "--quick";
  std::vector<char*> argv{const_cast<char*>("bash"), script.data(), build_dir.data(),
                          runs_text.data()};
  if (options.quick) argv.push_back(quick_text.data());
  argv.push_back(nullptr);
  ::execvp("bash", argv.data());
  return cli_error(exit_status::kCliFailure, cat("cannot run bash: ", std::strerror(errno)));
}

}  // namespace

int bench_command(std::span<const std::string_view> args) {
  CliResult<int> status =
      usage_error("bench needs a benchmark name: boot, abi, net, storage or cache (see nimbus --help)");
  bool known = !args.empty() && (args[0] == "boot" || args[0] == "abi" || args[0] == "net" ||
                                 args[0] == "storage" || args[0] == "cache");
  if (known)
    status = run_bench_script(args[0], args.subspan(1));
  else if (!args.empty())
    status = usage_error(cat("unknown benchmark '", args[0], "' (see nimbus --help)"));
  if (status) return *status;
  std::cerr << "nimbus: " << status.error().message << std::endl;
  return status.error().exit_status;
}
