// The kernel command line, decoded: what `nimbus run` and the user asked for.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "kernel/net/ip_address.h"
#include "kernel/platform/kvm/virtio_mmio_devices.h"

namespace nimbus {

// `volume=DEVICE:DIRECTORY:ro` (or `:rw`): mount the ext4 file system on block device DEVICE
// ("vda" or "/dev/vda") at DIRECTORY (absolute; made if missing) before the program starts.
struct VolumeOption {
  std::string_view device;  // without "/dev/"
  std::string_view directory;
  bool read_only = true;
};

// What `nimbus run` says the host's stdin, stdout and stderr are: the words
// nimbus.streams=tty,pipe,pipe and nimbus.winsize=ROWSxCOLUMNS. Without them (a kernel booted
// by hand on the serial console) all three are the terminal.
struct HostStreamKinds {
  std::array<bool, 3> terminal{true, true, true};
  uint16_t rows = 0;  // 0: not told (the terminal keeps its 80x24)
  uint16_t columns = 0;
};

constexpr uint64_t kDefaultIdlePollUs = 50;

struct BootOptions {
  bool verbose = false;      // boot messages on the console
  bool bootchart = false;    // per-stage boot timing
  bool boot_only = false;    // power off with status 0 once booted
  bool randomize_layout = true;  // ASLR for programs; `norandmaps` (Linux's word) turns it off
  bool pcids = true;  // tag TLB entries by address space where the CPU can; `nopcid` (Linux's word) says no
  bool strace = false;       // log every system call of the program (`strace` or `strace=LIST`)
  std::string_view strace_filter;  // strace=LIST: only these calls (empty: all)
  uint64_t tsc_khz = 0;      // TSC rate from the host (0: find it ourselves)
  uint64_t max_cpus = 0;     // use at most this many CPUs (0: all)
  // How long an idle CPU polls a busy network device before halting (0: never poll).
  uint64_t idle_poll_us = kDefaultIdlePollUs;
  std::string_view test;     // self-test to run (empty: the default self-test)
  // virtio_mmio.device= words (microvm has no bus to scan), in command-line order.
  static constexpr size_t kMaxVirtioMmioDevices = 8;
  std::array<VirtioMmioDevice, kMaxVirtioMmioDevices> virtio_mmio_slots{};
  size_t virtio_mmio_count = 0;
  std::span<const VirtioMmioDevice> virtio_mmio() const { return {virtio_mmio_slots.data(), virtio_mmio_count}; }
  // Network configuration of the first Ethernet interface: `ip=ADDR/PREFIX` (none, or
  // `ip=dhcp`: DHCP), `gateway=ADDR`, `dns=ADDR`, `hostname=NAME`.
  bool static_ip = false;
  net::Ipv4Address ip_address;
  uint8_t ip_prefix_length = 0;
  net::Ipv4Address gateway;   // 0.0.0.0: none given
  net::Ipv4Address dns;       // 0.0.0.0: none given
  std::string_view hostname;  // empty: none given
  // root=DEVICE: the ext4 file system on DEVICE is mounted read-only as "/", the initrd's
  // /etc over its /etc (empty: the initrd is the whole root file system).
  std::string_view root_device;
  // share=TAG:/DIRECTORY:ro or :rw words: the virtio-9p device with mount tag TAG mounted at
  // DIRECTORY (the device field holds the tag).
  static constexpr size_t kMaxShares = 8;
  std::array<VolumeOption, kMaxShares> share_slots{};
  size_t share_count = 0;
  std::span<const VolumeOption> shares() const { return {share_slots.data(), share_count}; }
  // volume= words, in command-line order.
  static constexpr size_t kMaxVolumes = 8;
  std::array<VolumeOption, kMaxVolumes> volume_slots{};
  size_t volume_count = 0;
  std::span<const VolumeOption> volumes() const { return {volume_slots.data(), volume_count}; }
  HostStreamKinds streams;
};

// A dotted-quad IPv4 address (four decimal numbers 0-255, no leading junk); false if not one.
bool parse_ipv4_address(std::string_view text, net::Ipv4Address& address);

// "tty,pipe,pipe": three words, each tty or pipe. False when malformed.
bool parse_stream_kinds(std::string_view text, HostStreamKinds& kinds);
// "50x132": rows, then columns, each 1 to 65535. False when malformed.
bool parse_window_size(std::string_view text, HostStreamKinds& kinds);

// Returns nullptr on success, or what is wrong.
const char* parse_boot_options(const char* text, BootOptions& options);

}  // namespace nimbus
