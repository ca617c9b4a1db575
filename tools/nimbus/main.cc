// The nimbus command line: dispatches to the run, build, bench and cache subcommands, prints
// help and version.
#include <iostream>
#include <span>
#include <string_view>
#include <vector>

#include "bench_command.h"
#include "build_command.h"
#include "cache_command.h"
#include "cli_error.h"
#include "help.h"
#include "run_command.h"

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_help(std::cerr);
    return exit_status::kUsage;
  }
  std::string_view command = args[0];
  std::span<const std::string_view> rest = std::span(args).subspan(1);

  if (command == "--help" || command == "-h" || command == "help") {
    print_help(std::cout);
    return 0;
  }
  if (command == "--version") {
    std::cout << "nimbus " << NIMBUS_VERSION << std::endl;
    return 0;
  }
  // run and build take --help only where an option may stand: after PROGRAM it is the
  // program's.
  if (command == "run") return run_command(rest);
  if (command == "build") return build_command(rest);
  for (std::string_view arg : rest) {
    if (arg == "--help" || arg == "-h") {
      print_help(std::cout);
      return 0;
    }
  }
  if (command == "bench") return bench_command(rest);
  if (command == "cache") return cache_command(rest);
  if (command.starts_with("-"))
    std::cerr << "nimbus: unknown option '" << command << "' (see nimbus --help)" << std::endl;
  else
    std::cerr << "nimbus: unknown command '" << command << "' (see nimbus --help)" << std::endl;
  return exit_status::kUsage;
}
