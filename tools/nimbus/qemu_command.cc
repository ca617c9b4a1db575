// build_qemu_command(): the QEMU command line for a run, and its shell-quoted form for --dry-run.
#include "qemu_command.h"

#include <string_view>

#include "text.h"

namespace {

constexpr const char* kQbootRom = "/usr/share/qemu/qboot.rom";

bool needs_quoting(std::string_view word) {
  if (word.empty()) return true;
  for (char c : word) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                std::string_view("-_./=,:+@%").find(c) != std::string_view::npos;
    if (!safe) return true;
  }
  return false;
}

}  // namespace

std::string kernel_command_line(const RunOptions& options, const QemuSetup& setup) {
  std::vector<std::string> words;
  if (options.verbose) words.emplace_back("verbose");
  if (options.bootchart) words.emplace_back("bootchart");
  if (options.boot_only) words.emplace_back("boot-only");
  if (setup.tsc_khz) words.push_back(cat("tsc_khz=", *setup.tsc_khz));
  words.insert(words.end(), setup.image_kernel_words.begin(), setup.image_kernel_words.end());
  words.insert(words.end(), options.kernel_args.begin(), options.kernel_args.end());

  std::string line;
  for (const std::string& word : words) line += (line.empty() ? "" : " ") + word;
  return line;
}

std::vector<std::string> build_qemu_command(const RunOptions& options, const QemuSetup& setup) {
  std::vector<std::string> argv{setup.qemu};
  auto add = [&argv](std::initializer_list<std::string> words) {
    argv.insert(argv.end(), words.begin(), words.end());
  };

  if (options.machine == Machine::Q35) {
    // qboot instead of the default SeaBIOS saves about a second of firmware time.
    add({"-M", "q35", "-bios", kQbootRom});
  } else {
    add({"-M", "microvm,x-option-roms=off"});
  }
  if (setup.accel == Accel::Kvm) {
    add({"-accel", "kvm", "-cpu", "host"});
  } else {
    add({"-accel", "tcg", "-cpu", "max"});
  }
  // shift=0: one instruction per virtual ns, so guest TSC deltas are exact instruction counts.
  if (options.icount) add({"-icount", "shift=0,sleep=off"});
  add({"-m", cat(options.memory_mib, "M"), "-smp", cat(options.cpus)});
  add({"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"});
  add({"-kernel", setup.kernel, "-append", kernel_command_line(options, setup)});
  // QEMU hands the initrd to a PVH kernel as the first module in hvm_start_info.
  if (setup.initrd) add({"-initrd", *setup.initrd});
  add({"-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"});
  // QEMU option values escape a comma by doubling it.
  std::string status_path;
  for (char c : setup.status_file) status_path += c == ',' ? std::string(",,") : std::string(1, c);
  add({"-chardev", cat("file,id=nimbus-status,path=", status_path), "-device",
       "isa-debugcon,iobase=0x402,chardev=nimbus-status"});
  return argv;
}

std::string shell_quoted(const std::vector<std::string>& words) {
  std::string line;
  for (const std::string& word : words) {
    if (!line.empty()) line += ' ';
    if (!needs_quoting(word)) {
      line += word;
      continue;
    }
    line += '\'';
    for (char c : word) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}
