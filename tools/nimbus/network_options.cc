// NetworkOptions: parsing -p/--net/--ip/--gateway/--mac, the QEMU user-networking and tap
// arguments, and the host checks (tap device present, ports free) made before QEMU starts.
#include "network_options.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include "text.h"

namespace {

constexpr std::array<std::string_view, 6> kNetworkOptions = {"-p", "--publish", "--net", "--ip", "--gateway", "--mac"};

bool is_ipv4(std::string_view text) {
  in_addr address{};
  return inet_pton(AF_INET, std::string(text).c_str(), &address) == 1;
}

// A whole decimal number in [min, max]; nullopt otherwise (signs, blanks, junk included).
std::optional<unsigned> parse_number(std::string_view text, unsigned min, unsigned max) {
  unsigned value = 0;
  if (text.empty() || text.size() > 5) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) return std::nullopt;
  return value;
}

CliResult<void> check_ip_with_prefix(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || !is_ipv4(text.substr(0, slash)) ||
      !parse_number(text.substr(slash + 1), 0, 32) || text.size() - slash - 1 > 2)
    return usage_error(cat("--ip needs ADDRESS/PREFIX with an IPv4 address and a prefix length 0-32 "
                           "(example: 10.0.2.15/24), not '", text, "'"));
  return {};
}

CliResult<void> check_mac(std::string_view text) {
  auto bad = [&text](std::string_view why) {
    return usage_error(cat("--mac needs six hex bytes like 52:54:00:12:34:56 (", why, "), not '", text, "'"));
  };
  if (text.size() != 17) return bad("17 characters");
  for (size_t i = 0; i < text.size(); i++) {
    char c = text[i];
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (i % 3 == 2 ? c != ':' : !hex) return bad("hex digits separated by ':'");
  }
  unsigned first = 0;
  std::from_chars(text.data(), text.data() + 2, first, 16);
  if (first & 1) return bad("a multicast address cannot be a device's");
  return {};
}

CliResult<NetMode> parse_net_mode(std::string_view text, std::string& tap_name) {
  if (text == "none") return NetMode::None;
  if (text == "user") return NetMode::User;
  if (text.starts_with("tap=")) {
    std::string_view name = text.substr(4);
    // Linux interface names: at most 15 bytes (IFNAMSIZ - 1), no '/', blanks or ':'.
    bool valid = !name.empty() && name.size() <= 15 && name != "." && name != ".." &&
                 name.find_first_of("/: \t,") == std::string_view::npos;
    if (!valid) return usage_error(cat("--net tap=IFNAME needs a network interface name, not '", name, "'"));
    tap_name = std::string(name);
    return NetMode::Tap;
  }
  return usage_error(cat("--net must be user, none or tap=IFNAME, not '", text, "'"));
}

// Whether a socket of `protocol` can bind `mapping`'s host address and port now (QEMU's
// listener uses SO_REUSEADDR too, so a port in TIME_WAIT does not count as taken).
int try_bind(const PortMapping& mapping) {
  int fd = ::socket(AF_INET, mapping.protocol == PortProtocol::Tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
  if (fd < 0) return errno;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(mapping.host_port);
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  if (!mapping.host_ip.empty()) inet_pton(AF_INET, mapping.host_ip.c_str(), &address.sin_addr);
  int result = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 ? 0 : errno;
  if (result == 0 && mapping.protocol == PortProtocol::Tcp && ::listen(fd, 1) != 0) result = errno;
  ::close(fd);
  return result;
}

}  // namespace

bool is_network_option(std::string_view name) {
  return std::ranges::find(kNetworkOptions, name) != kNetworkOptions.end();
}

CliResult<PortMapping> parse_port_mapping(std::string_view text) {
  auto bad = [&text](std::string_view why) {
    return usage_error(cat("-p needs [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp] (", why, "), not '", text, "'"));
  };
  PortMapping mapping;
  std::string_view rest = text;
  if (auto slash = rest.rfind('/'); slash != std::string_view::npos) {
    std::string_view protocol = rest.substr(slash + 1);
    if (protocol == "tcp")
      mapping.protocol = PortProtocol::Tcp;
    else if (protocol == "udp")
      mapping.protocol = PortProtocol::Udp;
    else
      return bad("the protocol is tcp or udp");
    rest = rest.substr(0, slash);
  }
  auto last = rest.rfind(':');
  if (last == std::string_view::npos) return bad("both ports are needed");
  std::string_view guest = rest.substr(last + 1);
  rest = rest.substr(0, last);
  std::string_view host = rest;
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(colon + 1);
    std::string_view ip = rest.substr(0, colon);
    if (!is_ipv4(ip)) return bad("the host address is an IPv4 address");
    mapping.host_ip = std::string(ip);
  }
  auto host_port = parse_number(host, 1, 65535);
  auto guest_port = parse_number(guest, 1, 65535);
  if (!host_port || !guest_port) return bad("ports are numbers from 1 to 65535");
  mapping.host_port = static_cast<std::uint16_t>(*host_port);
  mapping.guest_port = static_cast<std::uint16_t>(*guest_port);
  return mapping;
}

std::string format_port_mapping(const PortMapping& mapping) {
  return cat(mapping.host_ip.empty() ? "" : mapping.host_ip + ":", mapping.host_port, ":", mapping.guest_port,
             mapping.protocol == PortProtocol::Tcp ? "/tcp" : "/udp");
}

CliResult<void> apply_network_option(std::string_view name, std::string_view value, NetworkOptions& options) {
  if (name == "-p" || name == "--publish") {
    PortMapping mapping = TRY_CLI(parse_port_mapping(value));
    for (const PortMapping& other : options.ports)
      if (other.host_port == mapping.host_port && other.protocol == mapping.protocol)
        return usage_error(cat("-p ", value, ": host port ", mapping.host_port, " is already published"));
    options.ports.push_back(mapping);
  } else if (name == "--net") {
    options.mode = TRY_CLI(parse_net_mode(value, options.tap_name));
  } else if (name == "--ip") {
    TRY_CLI(check_ip_with_prefix(value));
    options.ip = std::string(value);
  } else if (name == "--gateway") {
    if (!is_ipv4(value)) return usage_error(cat("--gateway needs an IPv4 address, not '", value, "'"));
    options.gateway = std::string(value);
  } else if (name == "--mac") {
    TRY_CLI(check_mac(value));
    options.mac = std::string(value);
  }
  return {};
}

NetMode effective_net_mode(const NetworkOptions& options, bool boots_program) {
  if (options.mode != NetMode::Default) return options.mode;
  return boots_program || !options.ports.empty() ? NetMode::User : NetMode::None;
}

CliResult<void> check_network_options(const NetworkOptions& options, NetMode mode) {
  if (!options.ports.empty() && mode == NetMode::None)
    return usage_error(cat("-p ", format_port_mapping(options.ports.front()),
                           " publishes a port, but --net none gives the guest no network"));
  if (!options.ports.empty() && mode == NetMode::Tap)
    return usage_error("-p forwards ports through QEMU user networking; with --net tap the guest is "
                       "reached at its own address");
  return {};
}

unsigned tap_queue_count(const NetworkOptions& options, NetMode mode, unsigned cpus, const std::string& sys_class_net) {
  constexpr unsigned long kMultiQueue = 0x100;  // IFF_MULTI_QUEUE
  constexpr unsigned kMaxQueues = 8;             // the kernel uses at most 8 pairs
  if (mode != NetMode::Tap) return 1;
  std::ifstream file(cat(sys_class_net, "/", options.tap_name, "/tun_flags"));
  unsigned long flags = 0;
  if (!(file >> std::hex >> flags) || !(flags & kMultiQueue)) return 1;
  return std::clamp(cpus, 2u, kMaxQueues);
}

std::vector<std::string> qemu_network_args(const NetworkOptions& options, NetMode mode, unsigned queues) {
  if (mode == NetMode::None || mode == NetMode::Default) return {};
  std::string netdev;
  if (mode == NetMode::User) {
    // QEMU's slirp: the guest is 10.0.2.15, DHCP and the gateway 10.0.2.2, DNS 10.0.2.3.
    netdev = "user,id=net0";
    for (const PortMapping& mapping : options.ports)
      netdev += cat(",hostfwd=", mapping.protocol == PortProtocol::Tcp ? "tcp" : "udp", ":", mapping.host_ip, ":",
                    mapping.host_port, "-:", mapping.guest_port);
  } else {
    // An existing tap device; QEMU runs no scripts to configure it.
    netdev = cat("tap,id=net0,ifname=", options.tap_name, ",script=no,downscript=no");
    if (queues > 1) netdev += cat(",queues=", queues);
  }
  std::string device = "virtio-net-device,netdev=net0";
  if (mode == NetMode::Tap && queues > 1) device += ",mq=on";
  if (options.mac) device += cat(",mac=", *options.mac);
  return {"-netdev", netdev, "-device", device};
}

std::vector<std::string> network_kernel_words(const NetworkOptions& options, NetMode mode) {
  std::vector<std::string> words;
  if (mode == NetMode::None || mode == NetMode::Default) return words;
  if (options.ip) words.push_back(cat("ip=", *options.ip));
  if (options.gateway) words.push_back(cat("gateway=", *options.gateway));
  return words;
}

std::vector<std::string> network_launch_words(const NetworkOptions& options) {
  std::vector<std::string> words;
  switch (options.mode) {
    case NetMode::Default: break;
    case NetMode::None: words.emplace_back("nimbus.net=none"); break;
    case NetMode::User: words.emplace_back("nimbus.net=user"); break;
    case NetMode::Tap: words.push_back(cat("nimbus.net=tap=", options.tap_name)); break;
  }
  for (const PortMapping& mapping : options.ports) words.push_back(cat("nimbus.publish=", format_port_mapping(mapping)));
  if (options.ip) words.push_back(cat("nimbus.ip=", *options.ip));
  if (options.gateway) words.push_back(cat("nimbus.gateway=", *options.gateway));
  if (options.mac) words.push_back(cat("nimbus.mac=", *options.mac));
  return words;
}

CliResult<std::vector<std::string>> take_launch_words(const std::vector<std::string>& words, NetworkOptions& defaults) {
  struct Key {
    std::string_view word;
    std::string_view option;
  };
  constexpr std::array<Key, 5> kKeys = {{{"nimbus.net=", "--net"},
                                         {"nimbus.publish=", "-p"},
                                         {"nimbus.ip=", "--ip"},
                                         {"nimbus.gateway=", "--gateway"},
                                         {"nimbus.mac=", "--mac"}}};
  std::vector<std::string> kernel_words;
  for (const std::string& word : words) {
    auto key = std::ranges::find_if(kKeys, [&word](const Key& k) { return word.starts_with(k.word); });
    if (key == kKeys.end()) {
      if (word.starts_with("nimbus."))
        return cli_error(exit_status::kBadImage, cat("the image's launch word '", word, "' is unknown to this nimbus"));
      kernel_words.push_back(word);
      continue;
    }
    if (auto applied = apply_network_option(key->option, std::string_view(word).substr(key->word.size()), defaults);
        !applied)
      return cli_error(exit_status::kBadImage, cat("the image's launch word '", word, "': ", applied.error().message));
  }
  return kernel_words;
}

NetworkOptions merge_network_options(const NetworkOptions& image_defaults, const NetworkOptions& command_line) {
  NetworkOptions merged = image_defaults;
  if (command_line.mode != NetMode::Default) {
    merged.mode = command_line.mode;
    merged.tap_name = command_line.tap_name;
  }
  if (!command_line.ports.empty()) merged.ports = command_line.ports;
  if (command_line.ip) merged.ip = command_line.ip;
  if (command_line.gateway) merged.gateway = command_line.gateway;
  if (command_line.mac) merged.mac = command_line.mac;
  return merged;
}

CliResult<void> check_host_network(const NetworkOptions& options, NetMode mode, const std::string& sys_class_net) {
  if (mode == NetMode::Tap) {
    struct stat status{};
    std::string path = cat(sys_class_net, "/", options.tap_name);
    if (::stat(path.c_str(), &status) != 0)
      return cli_error(exit_status::kCliFailure, cat("--net tap=", options.tap_name, ": there is no network interface '", options.tap_name,
                             "' on this host (create it first: ip tuntap add dev ", options.tap_name,
                             " mode tap user $USER, with multi_queue for a queue pair per vCPU)"));
  }
  if (mode != NetMode::User) return {};
  for (const PortMapping& mapping : options.ports) {
    if (int error = try_bind(mapping))
      return cli_error(exit_status::kCliFailure, cat("-p ", format_port_mapping(mapping), ": host port ", mapping.host_port, " ",
                             error == EADDRINUSE ? std::string("is already in use")
                                                 : cat("cannot be bound (", std::strerror(error), ")")));
  }
  return {};
}
