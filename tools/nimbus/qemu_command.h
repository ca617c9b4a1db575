// build_qemu_command(): the QEMU command line for a run, and its shell-quoted form for --dry-run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "accel.h"
#include "run_options.h"

struct QemuSetup {
  std::string qemu;
  std::string kernel;
  Accel accel = Accel::Tcg;
  // The guest TSC rate the kernel is told (tsc_khz=); none under KVM, where kvmclock says it.
  std::optional<std::uint64_t> tsc_khz;
  // Where QEMU's debugcon writes the guest's full exit status (see run_command.cc).
  std::string status_file;
  // The root file system archive of an image (-initrd), and the kernel words the image keeps.
  std::optional<std::string> initrd;
  // The image's root file system as an ext4 disk (version 2 images): attached read-only after
  // the volumes, and mounted as / by the kernel (root=vdX).
  std::optional<std::string> root_disk;
  std::vector<std::string> image_kernel_words;
  // The program's stdout and stderr as QEMU's descriptors (kConsoleStdoutFd/kConsoleStderrFd,
  // copies of ours): they become virtio-console ports. Absent: everything on -serial stdio.
  bool console_fds = false;
  // What the program's standard streams are (stream_kernel_words): nimbus.streams=...
  std::vector<std::string> stream_words;
  // The network in effect (effective_net_mode: --net, the image's default, or the default).
  NetMode net_mode = NetMode::None;
  // The tap's queues (tap_queue_count): above 1, one virtio-net queue pair each.
  unsigned net_queues = 1;
};

// Where run_command places its stdout and stderr in QEMU for the virtio-console ports.
inline constexpr int kConsoleStdoutFd = 3;
inline constexpr int kConsoleStderrFd = 4;

// Whether the program's streams travel over virtio-console: on microvm over virtio-mmio, on q35
// over virtio-pci.
bool uses_virtio_console(const RunOptions& options);

// The words passed to the guest with -append: CLI flags first, then the image's words, then the
// user's --kernel-arg and "--" words (later words can override earlier ones).
std::string kernel_command_line(const RunOptions& options, const QemuSetup& setup);

std::vector<std::string> build_qemu_command(const RunOptions& options, const QemuSetup& setup);

// The shell redirections that give QEMU the descriptors the command names (for --dry-run).
std::string console_redirections(const QemuSetup& setup);

// Quotes each word only when the shell would need it, so the line can be pasted back.
std::string shell_quoted(const std::vector<std::string>& words);
