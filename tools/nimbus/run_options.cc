// RunOptions: what `nimbus run` was asked to do, and the parser for its command line.
#include "run_options.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "arg_cursor.h"
#include "build_options.h"
#include "memory_size.h"
#include "strace_option.h"
#include "text.h"

namespace {

struct Flag {
  std::string_view name;
  bool RunOptions::*member;
};
constexpr std::array<Flag, 6> kFlags = {{{"--verbose", &RunOptions::verbose},
                                         {"--bootchart", &RunOptions::bootchart},
                                         {"--boot-only", &RunOptions::boot_only},
                                         {"--icount", &RunOptions::icount},
                                         {"--no-aslr", &RunOptions::no_aslr},
                                         {"--dry-run", &RunOptions::dry_run}}};

constexpr std::array<std::string_view, 11> kValueOptions = {
    "--accel", "--memory",     "--cpus",   "--machine",   "--timeout",
    "--kernel", "--qemu", "--kernel-arg", "--initrd", "--kernel-log", "--disk-bus"};

std::unexpected<CliError> unknown_option(std::string_view arg) {
  return usage_error(cat("unknown option '", arg, "' (see nimbus --help)"));
}

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

CliResult<DiskBus> parse_disk_bus(std::string_view text) {
  if (text == "virtio") return DiskBus::Virtio;
  if (text == "nvme") return DiskBus::Nvme;
  return usage_error(cat("--disk-bus must be virtio or nvme, not '", text, "'"));
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

DiskDevice disk_device(const RunOptions& options) {
  if (options.disk_bus == DiskBus::Nvme) return DiskDevice::Nvme;
  return options.machine == Machine::Q35 ? DiskDevice::VirtioPci : DiskDevice::VirtioMmio;
}

CliResult<RunOptions> parse_run_options(std::span<const std::string_view> args) {
  RunOptions options;
  ArgCursor cursor(args);
  while (!cursor.done()) {
    if (std::string_view word = cursor.peek(); !word.starts_with('-') || word == "-") {
      options.target = std::string(word);
      for (std::string_view arg : cursor.rest().subspan(1)) options.target_args.emplace_back(arg);
      break;
    }
    std::string_view name = cursor.next();
    if (name == "--help" || name == "-h") {
      options.help = true;
      return options;
    }
    if (name == "--") {
      for (std::string_view arg : cursor.rest()) options.kernel_args.emplace_back(arg);
      break;
    }

    if (name == "--strace") {
      options.strace = cursor.has_inline_value() ? TRY_CLI(parse_strace_filter(TRY_CLI(cursor.value()))) : "";
      continue;
    }

    auto flag = std::ranges::find(kFlags, name, &Flag::name);
    if (flag != kFlags.end()) {
      if (cursor.has_inline_value()) return usage_error(cat("option '", name, "' takes no value"));
      options.*(flag->member) = true;
      continue;
    }

    if (is_image_flag(name)) {
      if (cursor.has_inline_value()) return usage_error(cat("option '", name, "' takes no value"));
      apply_image_flag(name, options.image);
      options.image_options_given = true;
      continue;
    }

    if (is_network_option(name)) {
      std::string_view text = TRY_CLI(cursor.value());
      TRY_CLI(apply_network_option(name, text, options.network));
      options.network_options_given = true;
      continue;
    }

    if (name == "--volume") {
      options.volumes.push_back(TRY_CLI(parse_volume_option(TRY_CLI(cursor.value()))));
      continue;
    }
    if (name == "--share") {
      options.shares.push_back(TRY_CLI(parse_share_option(TRY_CLI(cursor.value()))));
      continue;
    }
    if (name == "--volume-size") {
      std::string_view text = TRY_CLI(cursor.value());
      auto mib = parse_memory_mib(text);
      // mke2fs needs some room for its metadata and journal.
      if (!mib || *mib < 8)
        return usage_error(cat("--volume-size '", text, "' is not a size of at least 8 MiB (examples: 64M, 1G)"));
      options.volume_size_mib = *mib;
      continue;
    }

    if (is_image_option(name) || name == "--manifest") {
      std::string_view text = TRY_CLI(cursor.value());
      if (name == "--manifest")
        options.manifest = std::string(text);
      else
        TRY_CLI(apply_image_option(name, text, options.image));
      options.image_options_given = true;
      continue;
    }

    if (std::ranges::find(kValueOptions, name) == kValueOptions.end()) return unknown_option(name);
    std::string_view text = TRY_CLI(cursor.value());
    if (name == "--accel") {
      options.accel = TRY_CLI(parse_accel(text));
    } else if (name == "--memory") {
      options.memory_mib = TRY_CLI(parse_memory(text));
      options.memory_given = true;
    } else if (name == "--cpus") {
      options.cpus = TRY_CLI(parse_cpus(text));
    } else if (name == "--machine") {
      options.machine = TRY_CLI(parse_machine(text));
      options.machine_given = true;
    } else if (name == "--disk-bus") {
      options.disk_bus = TRY_CLI(parse_disk_bus(text));
    } else if (name == "--timeout") {
      options.timeout_seconds = TRY_CLI(parse_timeout(text));
      options.timeout_text = text;
    } else if (name == "--kernel") {
      options.kernel_path = std::string(text);
    } else if (name == "--initrd") {
      options.initrd_path = std::string(text);
    } else if (name == "--kernel-arg") {
      options.kernel_args.push_back(TRY_CLI(parse_kernel_word(text)));
    } else if (name == "--kernel-log") {
      if (text.empty()) return usage_error("--kernel-log needs a file name");
      options.kernel_log = std::string(text);
    } else {
      options.qemu_path = std::string(text);
    }
  }

  if (options.icount && options.accel == AccelChoice::Kvm)
    return usage_error(
        "--icount counts instructions under TCG and cannot be used with --accel kvm");
  if (options.initrd_path && (options.target || options.manifest || options.image_options_given))
    return usage_error("--initrd boots an archive as it is; it cannot be combined with a PROGRAM, "
                       "an IMAGE or packing options");
  bool boots_program = options.target || options.manifest || options.initrd_path;
  if (!options.volumes.empty() && !boots_program)
    return usage_error("--volume needs a PROGRAM or IMAGE to run (the kernel's own job mounts nothing)");
  if (!options.shares.empty() && !boots_program)
    return usage_error("--share needs a PROGRAM or IMAGE to run (the kernel's own job mounts nothing)");
  if (options.disk_bus == DiskBus::Nvme) {
    // NVMe controllers are PCI functions: microvm has no PCI bus.
    if (options.machine_given && options.machine != Machine::Q35)
      return usage_error("--disk-bus nvme needs --machine q35 (microvm has no PCI bus for NVMe controllers)");
    options.machine = Machine::Q35;
  }
  TRY_CLI(check_network_options(options.network, effective_net_mode(options.network, boots_program)));
  return options;
}
