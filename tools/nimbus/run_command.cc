// run_command(): `nimbus run`, which boots the kernel (with a program or an image) under QEMU and
// exits with the guest's status.
#include "run_command.h"

#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>

#include "accel.h"
#include "child_process.h"
#include "help.h"
#include "host_cache.h"
#include "host_paths.h"
#include "host_streams.h"
#include "host_tsc.h"
#include "image_cache.h"
#include "image_file.h"
#include "kvm_device.h"
#include "manifest.h"
#include "memory_fit.h"
#include "qemu_command.h"
#include "reporter.h"
#include "run_options.h"
#include "text.h"

namespace {

// With -icount shift=0 the guest TSC advances once per instruction at a nominal 1 GHz.
constexpr std::uint64_t kIcountTscKhz = 1'000'000;

void say(const std::string& message) {
  std::cerr << "nimbus: " << message << std::endl;
}

// QEMU reports its own failures (bad option, unreadable kernel) with exit status 1, which is also
// what a guest status of 0 looks like; its error lines on stderr tell the two apart.
std::optional<std::string> qemu_error_line(const std::vector<std::string>& lines) {
  for (const std::string& line : lines) {
    if (!line.starts_with("qemu-system") && !line.starts_with("qemu:")) continue;
    if (line.find(": warning:") != std::string::npos) continue;
    std::string_view text = line;
    if (auto colon = text.find(": "); colon != std::string_view::npos)
      text.remove_prefix(colon + 2);
    return std::string(text);
  }
  return std::nullopt;
}

// QEMU exits with status 0 after "terminating on signal N" (a Ctrl-C, or a signal we forwarded).
std::optional<int> terminating_signal(const std::vector<std::string>& lines) {
  constexpr std::string_view kMarker = "terminating on signal ";
  for (const std::string& line : lines) {
    auto at = line.find(kMarker);
    if (at == std::string::npos) continue;
    const char* first = line.data() + at + kMarker.size();
    int signal_number = 0;
    auto [end, ec] = std::from_chars(first, line.data() + line.size(), signal_number);
    if (ec == std::errc{} && signal_number > 0) return signal_number;
  }
  return std::nullopt;
}

// isa-debug-exit makes QEMU exit with (status << 1) | 1, and the OS keeps only the low 8 bits of
// that, so the top bit of the status is lost (250 arrives as 122). The kernel therefore first
// writes the whole status as text to QEMU's debugcon, which QEMU puts in a file; the exit code
// is the fallback when that file says nothing.
int guest_status_from_exit(int rc, const std::string& status_file) {
  std::ifstream file(status_file);
  int status = -1;
  if (file >> status && status >= 0 && status <= 255 && (status & 0x7f) == (rc >> 1)) return status;
  return rc >> 1;
}

// A private temporary file for the status channel, removed when the run ends.
std::string status_file_pattern() {
  const char* dir = std::getenv("TMPDIR");
  return cat(dir && *dir ? dir : "/tmp", "/nimbus-status-XXXXXX");
}

class StatusFile {
 public:
  StatusFile() {
    std::string pattern = status_file_pattern();
    int fd = mkstemp(pattern.data());
    if (fd >= 0) {
      close(fd);
      m_path = pattern;
    }
  }
  ~StatusFile() {
    if (!m_path.empty()) unlink(m_path.c_str());
  }
  StatusFile(const StatusFile&) = delete;
  StatusFile& operator=(const StatusFile&) = delete;
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

const char* describe_guest_status(int status) {
  switch (status) {
    case 1:
      return "self-test failure";
    case 250:
      return "kernel panic";
    case 251:
      return "out of memory";
    case 252:
      return "bad kernel command line";
    default:
      return nullptr;
  }
}

int exit_status_for(const ChildOutcome& outcome, const RunOptions& options,
                    const std::string& status_file) {
  using Ending = ChildOutcome::Ending;
  switch (outcome.ending) {
    case Ending::TimedOut:
      say(cat("timeout after ", options.timeout_text, " s"));
      return exit_status::kTimeout;
    case Ending::Signaled:
      return 128 + outcome.code;
    case Ending::OutputClosed:
      // QEMU would retry the write forever; on Linux the program would die of SIGPIPE.
      if (options.verbose) say("the program's output was closed; stopped it as SIGPIPE would");
      return 128 + SIGPIPE;
    case Ending::StoppedOnLine:
    case Ending::Exited:
      break;
  }

  int rc = outcome.code;
  if (rc == 0) {
    if (auto signal_number = terminating_signal(outcome.stderr_lines)) return 128 + *signal_number;
    say("guest stopped without an exit status (reset or triple fault)");
    return exit_status::kCliFailure;
  }
  if (rc == 1) {
    if (auto error = qemu_error_line(outcome.stderr_lines)) {
      say(cat("qemu failed: ", *error));
      return exit_status::kCliFailure;
    }
  }
  if (rc % 2 == 0) {
    say(cat("qemu failed: exit status ", rc));
    return exit_status::kCliFailure;
  }

  int status = guest_status_from_exit(rc, status_file);
  const char* meaning = describe_guest_status(status);
  // The common failures get a one-line name; the guest has already printed the details.
  if (meaning && (status != 1 || options.verbose))
    say(cat("guest exited with status ", status, " (", meaning, ")"));
  else if (status != 0 && options.verbose)
    say(cat("guest exited with status ", status));
  return status;
}

// Packs the program (through the build cache) or unpacks the image, ready for -kernel/-initrd.
CliResult<BootFiles> prepare_guest(const RunOptions& options, const Reporter& reporter) {
  ImageCache cache = TRY_CLI(ImageCache::open());
  // An IMAGE is recognised by its magic (a bare name then means a file in this directory);
  // anything else is a program to pack.
  if (options.target && !options.manifest && looks_like_image(*options.target)) {
    const std::string& image = *options.target;
    if (!options.target_args.empty())
      return usage_error(cat(image,
                             " is an image and keeps its program's arguments; build it "
                             "again to change them"));
    if (options.image_options_given)
      return usage_error(
          cat("--add, --env, --workdir, --argv0 and --manifest describe a program "
              "to pack, but ",
              image, " is an image that is already built"));
    BootFiles files = TRY_CLI(cache.install(image, reporter));
    // --kernel boots a kernel other than the one in the image (a kernel under development).
    if (options.kernel_path) files.kernel = *options.kernel_path;
    return files;
  }
  ImageSpec command_line = options.image;
  if (options.target) {
    command_line.program = options.target;
    command_line.args = options.target_args;
  }
  command_line.kernel_path = options.kernel_path;
  ImageSpec spec = TRY_CLI(with_manifest(std::move(command_line), options.manifest));
  ImagePlan plan = TRY_CLI(plan_image(spec, reporter));
  // The root disk is read-only: the guest cannot make a volume's directory, so the image has it.
  for (const VolumeOption& volume : options.volumes)
    if (!plan.tree.contains(volume.guest_dir)) TRY_CLI(plan.tree.add_directory(volume.guest_dir, 0755));
  for (const ShareOption& share : options.shares)
    if (!plan.tree.contains(share.guest_dir)) TRY_CLI(plan.tree.add_directory(share.guest_dir, 0755));
  return cache.build(plan, reporter);
}

CliResult<int> run(std::span<const std::string_view> args) {
  RunOptions options = TRY_CLI(parse_run_options(args));
  if (options.help) {
    print_help(std::cout);
    return 0;
  }
  std::string qemu = TRY_CLI(resolve_qemu(options.qemu_path));
  Reporter reporter(options.verbose);
  std::optional<BootFiles> guest;
  if (options.initrd_path)
    guest = BootFiles{kernel_path(options.kernel_path), *options.initrd_path, {}, {}};
  else if (options.target || options.manifest)
    guest = TRY_CLI(prepare_guest(options, reporter));
  else if (options.image_options_given)
    return usage_error("--add, --env, --workdir and --argv0 need a PROGRAM to pack");
  std::string kernel = guest ? guest->kernel : kernel_path(options.kernel_path);
  // Refused here rather than by QEMU (whose message does not say what to change) or by the
  // kernel running out of memory while it unpacks the archive.
  if (guest) {
    auto initrd = measure_initrd(guest->initrd);
    if (!initrd && !options.initrd_path) return std::unexpected(initrd.error());
    if (initrd) {
      initrd->root_on_disk = !guest->disk.empty();
      std::optional<std::uint64_t> requested;
      if (options.memory_given) requested = options.memory_mib;
      options.memory_mib = TRY_CLI(fit_memory(*initrd, requested));
      reporter.note(cat("memory: ", options.memory_mib, " MiB (the image needs at least ",
                        minimum_memory_mib(*initrd), " MiB)"));
    }
  }

  KvmDevice kvm = inspect_kvm_device();
  HostCache cache = HostCache::load(kvm);
  StatusFile status_file;
  if (status_file.path().empty() && !options.dry_run)
    return cli_error(exit_status::kCliFailure, "cannot create a temporary file (check TMPDIR)");
  QemuSetup setup;
  setup.qemu = qemu;
  setup.kernel = kernel;
  setup.accel = resolve_accel(options, qemu, kvm, cache);
  setup.status_file = options.dry_run ? status_file_pattern() : status_file.path();
  if (setup.accel == Accel::Tcg)
    setup.tsc_khz = options.icount ? kIcountTscKhz : host_tsc_khz(cache);
  if (guest) {
    setup.initrd = guest->initrd;
    if (!guest->disk.empty()) setup.root_disk = guest->disk;
    // The image's network defaults (nimbus.* words) yield to the command line's options.
    NetworkOptions image_network;
    setup.image_kernel_words = TRY_CLI(take_launch_words(guest->kernel_words, image_network));
    options.network = merge_network_options(image_network, options.network);
    TRY_CLI(check_network_options(options.network, effective_net_mode(options.network, true)));
  }
  // A program gets user networking unless told otherwise (virtio-mmio on microvm, virtio-pci
  // on q35).
  setup.net_mode = effective_net_mode(options.network, guest.has_value());
  setup.net_queues = tap_queue_count(options.network, setup.net_mode, options.cpus);
  // A dry run shows the redirections that give QEMU the streams; a real run hands them over
  // unless one cannot be (then the serial console carries everything, as on q35).
  std::optional<HostStreams> streams;
  if (!options.dry_run) streams.emplace(uses_virtio_console(options));
  setup.console_fds = uses_virtio_console(options) && (options.dry_run || streams->console_ready());
  if (uses_virtio_console(options) && !setup.console_fds && options.verbose)
    say("stdout or stderr cannot be handed to QEMU; the program's output goes over the serial port");
  if (guest) setup.stream_words = stream_kernel_words(STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO);
  std::vector<std::string> argv = build_qemu_command(options, setup);

  if (options.dry_run) {
    std::string redirections = console_redirections(setup);
    std::cout << shell_quoted(argv) << (redirections.empty() ? "" : " ") << redirections << std::endl;
    return 0;
  }
  TRY_CLI(check_kernel_readable(kernel, options.kernel_path.has_value()));
  TRY_CLI(check_host_network(options.network, setup.net_mode));
  for (const VolumeOption& volume : options.volumes)
    TRY_CLI(prepare_volume_file(volume, options.volume_size_mib, options.verbose));
  for (const ShareOption& share : options.shares) TRY_CLI(check_share_directory(share));
  if (options.initrd_path && ::access(options.initrd_path->c_str(), R_OK) != 0)
    return cli_error(exit_status::kCliFailure, cat("initrd ", *options.initrd_path, ": ", std::strerror(errno)));
  if (options.verbose) say(cat("running ", shell_quoted(argv)));

  ChildSpec spec;
  spec.argv = std::move(argv);
  if (options.timeout_seconds > 0)
    spec.time_limit = std::chrono::ceil<std::chrono::milliseconds>(
        std::chrono::duration<double>(options.timeout_seconds));
  // QEMU reads our stdin itself and writes the program's output to our stdout and stderr.
  spec.inherited_fds = streams->inherited_fds();
  for (auto [ours, theirs] : spec.inherited_fds) spec.output_fds.push_back(ours);
  std::cout.flush();
  ChildOutcome outcome = TRY_CLI(run_child(spec));
  return exit_status_for(outcome, options, status_file.path());
}

}  // namespace

int run_command(std::span<const std::string_view> args) {
  auto status = run(args);
  if (status) return *status;
  say(status.error().message);
  return status.error().exit_status;
}
