// RunOptions: what `nimbus run` was asked to do, and the parser for its command line.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli_error.h"
#include "image_spec.h"
#include "network_options.h"
#include "share_options.h"
#include "volume_options.h"

enum class AccelChoice { Auto, Kvm, Tcg };
enum class Machine { Microvm, Q35 };
enum class DiskBus { Virtio, Nvme };

// Smallest guest the kernel can boot in; below it the CLI refuses rather than letting the guest
// die.
inline constexpr std::uint64_t kMinMemoryMib = 4;
inline constexpr unsigned kMaxCpus = 255;  // xAPIC IDs 0..254; 255 is the broadcast ID

struct RunOptions {
  AccelChoice accel = AccelChoice::Auto;
  std::uint64_t memory_mib = 128;  // with a program or image, fitted to it (memory_fit.h)
  bool memory_given = false;       // --memory was on the command line
  unsigned cpus = 1;
  Machine machine = Machine::Microvm;
  bool machine_given = false;  // --machine was on the command line
  // --disk-bus virtio|nvme: how volumes and the root disk are attached (nvme implies q35).
  DiskBus disk_bus = DiskBus::Virtio;
  double timeout_seconds = 0;  // 0 = no limit
  std::string timeout_text;    // as typed, for the timeout message
  bool verbose = false;
  bool bootchart = false;
  bool boot_only = false;
  bool icount = false;
  bool no_aslr = false;  // kernel word norandmaps (also implied by icount, for repeatable counts)
  bool dry_run = false;
  // --strace (empty: every call) or --strace=open,read: the program's system calls on stderr.
  std::optional<std::string> strace;
  bool help = false;  // --help among the options: print the help and do nothing else
  std::optional<std::string> kernel_path;
  // --initrd: a root archive made by hand, booted as is (kernel development, loader tests).
  std::optional<std::string> initrd_path;
  std::optional<std::string> qemu_path;
  // --kernel-log FILE: the kernel's own log, all of it (as with --verbose), into FILE instead of
  // stderr, so the program's stderr is its own (the differential tests compare it with the host's).
  std::optional<std::string> kernel_log;
  // --kernel-arg words, then everything after "--": passed to the guest kernel verbatim.
  std::vector<std::string> kernel_args;

  // -p, --net, --ip, --gateway, --mac.
  NetworkOptions network;
  bool network_options_given = false;

  // --volume FILE:GUESTDIR:ro, in order (vda, vdb, ...).
  std::vector<VolumeOption> volumes;
  // --share HOSTDIR:GUESTDIR:ro, in order (virtio-9p tags nimbus-share0, 1, ...).
  std::vector<ShareOption> shares;
  // --volume-size: the size of the volumes nimbus makes (those whose FILE is missing).
  std::uint64_t volume_size_mib = kDefaultVolumeMib;

  // What to boot: an image file, or a program to pack (with its arguments); none: the kernel's
  // own job (the self-test).
  std::optional<std::string> target;
  std::vector<std::string> target_args;
  // How to pack a program: --add, --env, --workdir, --argv0, --manifest.
  ImageSpec image;
  std::optional<std::string> manifest;
  bool image_options_given = false;
};

// What the disks are on this machine (virtio-blk on its transport, or NVMe).
DiskDevice disk_device(const RunOptions& options);

// Parses the arguments that follow "run": options, then PROGRAM or IMAGE and the program's
// arguments ("--" before it instead starts the kernel's words). Usage errors carry exit status 2.
CliResult<RunOptions> parse_run_options(std::span<const std::string_view> args);
