// NetworkOptions: `nimbus run`'s network options (-p/--publish, --net, --ip, --gateway, --mac),
// their parsers, the QEMU arguments and kernel words they become, and the host checks made
// before QEMU starts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli_error.h"

enum class NetMode { Default, None, User, Tap };
enum class PortProtocol { Tcp, Udp };

// One -p [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp], as `docker run -p` reads it.
struct PortMapping {
  std::string host_ip;  // empty: every host address
  std::uint16_t host_port = 0;
  std::uint16_t guest_port = 0;
  PortProtocol protocol = PortProtocol::Tcp;
  bool operator==(const PortMapping&) const = default;
};

struct NetworkOptions {
  NetMode mode = NetMode::Default;  // --net; Default: see effective_net_mode()
  std::string tap_name;             // --net tap=IFNAME
  std::vector<PortMapping> ports;   // -p, in order
  std::optional<std::string> ip;       // --ip ADDR/PREFIX (the kernel's ip= word)
  std::optional<std::string> gateway;  // --gateway ADDR
  std::optional<std::string> mac;      // --mac 52:54:00:12:34:56
  bool operator==(const NetworkOptions&) const = default;
};

// -p, --publish, --net, --ip, --gateway, --mac.
bool is_network_option(std::string_view name);
// Applies one of them with its value (usage errors name the option and what is wrong).
CliResult<void> apply_network_option(std::string_view name, std::string_view value, NetworkOptions& options);
CliResult<PortMapping> parse_port_mapping(std::string_view text);
// The text of a mapping as -p takes it (for messages and the image's launch description).
std::string format_port_mapping(const PortMapping& mapping);

// The mode in effect: --net as given; otherwise user networking for a program (so outgoing
// connections work with no flags) or when ports are published, and none for the kernel's own
// job.
NetMode effective_net_mode(const NetworkOptions& options, bool boots_program);
// Combinations that cannot work: -p with --net none or tap (host forwarding is QEMU user
// networking's), and any network on q35 (the kernel drives virtio-mmio only).
CliResult<void> check_network_options(const NetworkOptions& options, NetMode mode);

// -netdev and -device arguments (none for NetMode::None). With `queues` above 1 (a multi_queue
// tap) the tap opens that many queues and the device offers multiqueue (mq=on).
std::vector<std::string> qemu_network_args(const NetworkOptions& options, NetMode mode, unsigned queues = 1);
// How many queues --net tap=IFNAME opens: one per vCPU, 2 to 8, when the tap was made with
// multi_queue (IFF_MULTI_QUEUE in /sys/class/net/IFNAME/tun_flags; such a tap must be opened
// as one, so even one vCPU gets 2 and uses one); 1 otherwise (and for other modes).
unsigned tap_queue_count(const NetworkOptions& options, NetMode mode, unsigned cpus,
                         const std::string& sys_class_net = "/sys/class/net");
// The kernel words: ip= and gateway= when given (without ip= the kernel asks DHCP).
std::vector<std::string> network_kernel_words(const NetworkOptions& options, NetMode mode);

// An image keeps the network options given to `nimbus build` as `nimbus.`-prefixed words in
// its command-line section (nimbus.net=user, nimbus.publish=8080:80/tcp, nimbus.ip=...,
// nimbus.gateway=..., nimbus.mac=...; docs/image-format.md). The CLI takes them out before
// the kernel sees the line.
std::vector<std::string> network_launch_words(const NetworkOptions& options);
// Separates an image's words: launch words go into `defaults` (checked as the options
// they stand for), the rest is returned for the kernel.
CliResult<std::vector<std::string>> take_launch_words(const std::vector<std::string>& words, NetworkOptions& defaults);
// What `nimbus run IMAGE` uses: each option given on the command line replaces the image's
// (all of its -p mappings together).
NetworkOptions merge_network_options(const NetworkOptions& image_defaults, const NetworkOptions& command_line);

// On the host, before QEMU starts: the tap device exists (/sys/class/net/IFNAME), and each
// published port can be bound (TCP or UDP as asked). `sys_class_net` is for tests.
CliResult<void> check_host_network(const NetworkOptions& options, NetMode mode,
                                   const std::string& sys_class_net = "/sys/class/net");
