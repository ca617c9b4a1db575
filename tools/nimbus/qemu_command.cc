// build_qemu_command(): the QEMU command line for a run, and its shell-quoted form for --dry-run.
#include "qemu_command.h"

#include <string_view>

#include "strace_option.h"
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

// QEMU option values escape a comma by doubling it.
std::string escape_commas(const std::string& text) {
  std::string escaped;
  for (char c : text) escaped += c == ',' ? std::string(",,") : std::string(1, c);
  return escaped;
}

// The program's stdin, stdout and stderr as three named virtio-console ports (the kernel looks
// them up by name), each wired straight to one of QEMU's descriptors, so no byte is copied
// through nimbus and every property of the host's streams survives:
// - stdout and stderr: `-add-fd` puts our descriptors (passed as 3 and 4) into fd sets that
//   `-chardev file` opens as /dev/fdset/N, which QEMU dup()s instead of opening a path.
//   append=on, because without it QEMU truncates what it "opens" (ftruncate fails on a pipe).
//   A virtserialport (unlike virtconsole) stops taking the guest's buffers while the host
//   descriptor is full, so a slow reader holds the program back and nothing is dropped.
// - stdin: `-chardev stdio` reads QEMU's own stdin. QEMU 7.2's `-chardev file` has no
//   input-path option, and stdio is the only chardev reading an inherited descriptor; at the
//   end of input it closes the port, which the guest sees as PORT_OPEN 0: end of file. On a
//   terminal it switches to raw mode as -serial stdio does (Ctrl-C still stops QEMU).
// - the kernel's own log (serial port) reads no input. With a program it goes to stderr, never
//   into the program's stdout (it says little unless --verbose: its notices are log() lines);
//   for the kernel's own job (the self-tests) it is the job's output, on stdout.
//   --kernel-log FILE sends it to FILE instead.
// - with --strace, a fourth port, nimbus.trace, carries the trace lines to stderr too: a port
//   of its own, so each line reaches stderr whole, between the program's own writes.
// The same ports sit on a virtio-mmio device on microvm and on a PCI function on q35.
void add_virtio_console(std::vector<std::string>& argv, Machine machine, bool trace, bool runs_program,
                        const std::optional<std::string>& kernel_log) {
  auto add = [&argv](std::initializer_list<std::string> words) { argv.insert(argv.end(), words.begin(), words.end()); };
  add({"-add-fd", cat("fd=", kConsoleStdoutFd, ",set=1"), "-add-fd", cat("fd=", kConsoleStderrFd, ",set=2")});
  add({"-chardev", "stdio,id=nimbus-stdin", "-chardev", "file,id=nimbus-stdout,path=/dev/fdset/1,append=on",
       "-chardev", "file,id=nimbus-stderr,path=/dev/fdset/2,append=on", "-chardev",
       kernel_log ? cat("file,id=nimbus-kernel,path=", escape_commas(*kernel_log))
                  : cat("file,id=nimbus-kernel,path=/dev/fdset/", runs_program ? 2 : 1, ",append=on")});
  add({"-serial", "chardev:nimbus-kernel"});
  int ports = trace ? 5 : 4;
  if (machine == Machine::Q35) {
    // Modern only (the kernel drives virtio 1.x), no option ROM to load, and one MSI-X vector
    // for configuration plus one per queue: 2 control queues and 2 for each port.
    add({"-device", cat("virtio-serial-pci-non-transitional,max_ports=", ports, ",vectors=", 3 + 2 * ports, ",romfile=")});
  } else {
    add({"-device", cat("virtio-serial-device,max_ports=", ports)});
  }
  add({"-device", "virtserialport,nr=1,name=nimbus.stdin,chardev=nimbus-stdin"});
  add({"-device", "virtserialport,nr=2,name=nimbus.stdout,chardev=nimbus-stdout"});
  add({"-device", "virtserialport,nr=3,name=nimbus.stderr,chardev=nimbus-stderr"});
  if (trace) {
    add({"-chardev", "file,id=nimbus-trace,path=/dev/fdset/2,append=on"});
    add({"-device", "virtserialport,nr=4,name=nimbus.trace,chardev=nimbus-trace"});
  }
}

}  // namespace

bool uses_virtio_console(const RunOptions&) { return true; }

std::string console_redirections(const QemuSetup& setup) {
  if (!setup.console_fds) return "";
  return cat(kConsoleStdoutFd, ">&1 ", kConsoleStderrFd, ">&2");
}

std::string kernel_command_line(const RunOptions& options, const QemuSetup& setup) {
  std::vector<std::string> words;
  if (options.verbose || options.kernel_log) words.emplace_back("verbose");
  if (options.bootchart) words.emplace_back("bootchart");
  if (options.boot_only) words.emplace_back("boot-only");
  if (options.strace) words.push_back(strace_kernel_word(*options.strace));
  // Counted instructions must not depend on where the layout happened to fall.
  if (options.no_aslr || options.icount) words.emplace_back("norandmaps");
  if (setup.tsc_khz) words.push_back(cat("tsc_khz=", *setup.tsc_khz));
  words.insert(words.end(), setup.stream_words.begin(), setup.stream_words.end());
  for (std::string& word : network_kernel_words(options.network, setup.net_mode)) words.push_back(std::move(word));
  for (std::string& word : volume_kernel_words(options.volumes, disk_device(options))) words.push_back(std::move(word));
  for (std::string& word : share_kernel_words(options.shares)) words.push_back(std::move(word));
  if (setup.root_disk) words.push_back(root_disk_kernel_word(disk_device(options), options.volumes.size()));
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
  std::vector<std::string> network = qemu_network_args(options.network, setup.net_mode, setup.net_queues);
  // q35 has no virtio-mmio: the same device as a modern PCI function, without an option ROM,
  // with an MSI-X vector per queue and one for the configuration.
  for (std::string& word : network)
    if (options.machine == Machine::Q35 && word.starts_with("virtio-net-device,")) {
      word = "virtio-net-pci-non-transitional,romfile=," + word.substr(std::string_view("virtio-net-device,").size());
      if (setup.net_queues > 1) word += cat(",vectors=", 2 * setup.net_queues + 2);
    }
  // QEMU 7.2's virtio-mmio is legacy (version 1) unless told otherwise; the kernel drives 1.x only.
  if (setup.console_fds || !network.empty() || !options.volumes.empty() || setup.root_disk || !options.shares.empty())
    add({"-global", "virtio-mmio.force-legacy=false"});
  if (setup.console_fds)
    add_virtio_console(argv, options.machine, options.strace.has_value(), setup.initrd.has_value(),
                       options.kernel_log);
  else
    add({"-serial", "stdio"});
  argv.insert(argv.end(), network.begin(), network.end());
  std::vector<std::string> volumes = qemu_volume_args(options.volumes, disk_device(options));
  argv.insert(argv.end(), volumes.begin(), volumes.end());
  if (setup.root_disk) {
    std::vector<std::string> disk = qemu_root_disk_args(*setup.root_disk, disk_device(options), options.volumes.size());
    argv.insert(argv.end(), disk.begin(), disk.end());
  }
  std::vector<std::string> shares = qemu_share_args(options.shares, options.machine == Machine::Q35);
  argv.insert(argv.end(), shares.begin(), shares.end());
  add({"-device", "isa-debug-exit,iobase=0xf4,iosize=4"});
  add({"-chardev", cat("file,id=nimbus-status,path=", escape_commas(setup.status_file)), "-device",
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
