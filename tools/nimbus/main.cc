// The nimbus command line: dispatches to the run and bench subcommands, prints help and version.
#include <iostream>
#include <string_view>
#include <vector>

#include "bench_command.h"
#include "cli_error.h"
#include "run_command.h"

namespace {

constexpr std::string_view kHelp = R"(usage: nimbus <command> [options]

Commands:
  run [options] [-- kernel args]   boot the Nimbus kernel under QEMU; the guest console is
                                   this terminal, and nimbus exits with the guest's status
  bench boot [--runs N]            measure boot time against the floor and a Linux guest
                                   (default 11 runs) and update docs/benchmarks.md
  --help                           show this help
  --version                        show the version

Options for run:
  --accel auto|kvm|tcg   accelerator (default auto: KVM only if a probe guest shows it runs
                         ring-0 SSE code at native speed, else TCG; the verdict is cached in
                         ${XDG_CACHE_HOME:-$HOME/.cache}/nimbus/host.conf)
  --memory SIZE          guest memory: 128M, 1G, 16G, or a plain number of MiB (default 128M,
                         at least 4M)
  --cpus N               virtual CPUs, 1 to 255 (default 1)
  --machine microvm|q35  microvm (default, virtio-mmio, no firmware) or q35 (PCI, qboot)
  --timeout SECONDS      kill the guest after this long and exit 124 (default 0 = never)
  --verbose              kernel prints its boot log; nimbus explains its choices
  --bootchart            kernel prints a boot-time breakdown ("bootchart:" lines)
  --boot-only            kernel exits with status 0 as soon as it has booted
  --icount               count instructions (-icount shift=0): the guest TSC ticks once per
                         instruction; implies TCG
  --kernel PATH          kernel image (default: nimbus-kernel.elf beside this executable)
  --qemu PATH            QEMU binary (default: qemu-system-x86_64 on PATH)
  --dry-run              print the QEMU command line instead of running it
  -- ARGS...             passed verbatim on the kernel command line (e.g. -- test=threads)

Exit status of run:
  the guest's status (0 ok, 1 self-test failure, 250 kernel panic, 251 out of memory,
  252 bad kernel command line), 2 bad usage, 124 timeout, 125 QEMU failed or the guest
  stopped without a status, 127 QEMU not found, 128+N killed by signal N
)";

void print_help(std::ostream& out) {
  out << kHelp;
}

}  // namespace

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
  for (std::string_view arg : rest) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "-h") {
      print_help(std::cout);
      return 0;
    }
  }
  if (command == "run") return run_command(rest);
  if (command == "bench") return bench_command(rest);
  if (command.starts_with("-"))
    std::cerr << "nimbus: unknown option '" << command << "' (see nimbus --help)" << std::endl;
  else
    std::cerr << "nimbus: unknown command '" << command << "' (see nimbus --help)" << std::endl;
  return exit_status::kUsage;
}
