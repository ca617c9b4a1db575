// Tests of `nimbus run`'s network options: -p parsing, --net/--ip/--gateway/--mac checks, the
// QEMU arguments and kernel words they become, and the host checks (tap device, ports in use).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "build_options.h"
#include "network_options.h"
#include "qemu_command.h"
#include "run_options.h"
#include "scratch_dir.h"

namespace {

CliResult<RunOptions> parse_run(const std::vector<std::string>& words) {
  std::vector<std::string_view> views(words.begin(), words.end());
  return parse_run_options(views);
}

bool mentions(const CliError& error, std::string_view text) { return error.message.find(text) != std::string::npos; }

TEST(PortMapping, ParsesDockerSyntax) {
  auto plain = parse_port_mapping("8080:80");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(*plain, (PortMapping{"", 8080, 80, PortProtocol::Tcp}));
  auto full = parse_port_mapping("127.0.0.1:5353:53/udp");
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(*full, (PortMapping{"127.0.0.1", 5353, 53, PortProtocol::Udp}));
  auto edges = parse_port_mapping("1:65535/tcp");
  ASSERT_TRUE(edges);
  EXPECT_EQ(edges->host_port, 1);
  EXPECT_EQ(edges->guest_port, 65535);
  EXPECT_EQ(format_port_mapping(*full), "127.0.0.1:5353:53/udp");
  EXPECT_EQ(format_port_mapping(*plain), "8080:80/tcp");
}

TEST(PortMapping, RefusesMalformedMappingsWithTheReason) {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (Case c : {Case{"0:80", "1 to 65535"}, Case{"8080:0", "1 to 65535"}, Case{"65536:80", "1 to 65535"},
                 Case{"8080:99999", "1 to 65535"}, Case{"8080", "both ports"}, Case{"8080:80/sctp", "tcp or udp"},
                 Case{"8080:80/", "tcp or udp"}, Case{"300.1.1.1:8080:80", "IPv4"}, Case{"localhost:8080:80", "IPv4"},
                 Case{":8080:80", "IPv4"}, Case{"a:80", "1 to 65535"}, Case{"8080:-1", "1 to 65535"},
                 Case{":80", "1 to 65535"}, Case{"8080:", "1 to 65535"}, Case{"+80:80", "1 to 65535"},
                 Case{" 80:80", "1 to 65535"}, Case{"", "both ports"}}) {
    auto mapping = parse_port_mapping(c.text);
    ASSERT_FALSE(mapping) << c.text;
    EXPECT_EQ(mapping.error().exit_status, exit_status::kUsage);
    EXPECT_TRUE(mentions(mapping.error(), c.reason)) << c.text << ": " << mapping.error().message;
    EXPECT_TRUE(mentions(mapping.error(), std::string("'") + c.text + "'")) << mapping.error().message;
  }
}

TEST(NetworkOptions, RunParsesEveryNetworkOption) {
  auto options = parse_run({"-p", "8080:80", "--publish=5353:53/udp", "--net", "user", "--ip", "10.0.2.15/24",
                            "--gateway", "10.0.2.2", "--mac", "52:54:00:AB:cd:01", "/bin/true", "-p", "1:1"});
  ASSERT_TRUE(options) << options.error().message;
  const NetworkOptions& network = options->network;
  ASSERT_EQ(network.ports.size(), 2u);
  EXPECT_EQ(network.ports[1], (PortMapping{"", 5353, 53, PortProtocol::Udp}));
  EXPECT_EQ(network.mode, NetMode::User);
  EXPECT_EQ(network.ip, "10.0.2.15/24");
  EXPECT_EQ(network.gateway, "10.0.2.2");
  EXPECT_EQ(network.mac, "52:54:00:AB:cd:01");
  // After PROGRAM, -p is the program's.
  EXPECT_EQ(options->target_args, (std::vector<std::string>{"-p", "1:1"}));
}

TEST(NetworkOptions, RefusesBadValues) {
  struct Case {
    std::vector<std::string> words;
    const char* says;
  };
  for (const Case& c : {Case{{"--net", "wifi"}, "user, none or tap=IFNAME"}, Case{{"--net", "tap="}, "interface name"},
                        Case{{"--net", "tap=a/b"}, "interface name"},
                        Case{{"--net", "tap=sixteen-chars-xx"}, "interface name"},
                        Case{{"--ip", "10.0.2.15"}, "ADDRESS/PREFIX"}, Case{{"--ip", "10.0.2.15/33"}, "ADDRESS/PREFIX"},
                        Case{{"--ip", "10.0.2/24"}, "ADDRESS/PREFIX"}, Case{{"--gateway", "10.0.2"}, "IPv4"},
                        Case{{"--mac", "52:54:00:12:34"}, "six hex bytes"},
                        Case{{"--mac", "52-54-00-12-34-56"}, "six hex bytes"},
                        Case{{"--mac", "53:54:00:12:34:56"}, "multicast"}, Case{{"-p"}, "needs a value"},
                        Case{{"-p", "80:80", "-p", "80:81"}, "already published"}}) {
    auto options = parse_run(c.words);
    ASSERT_FALSE(options) << c.words[0];
    EXPECT_EQ(options.error().exit_status, exit_status::kUsage);
    EXPECT_TRUE(mentions(options.error(), c.says)) << options.error().message;
  }
  // The same host port for TCP and for UDP is two different sockets.
  EXPECT_TRUE(parse_run({"-p", "80:80", "-p", "80:80/udp"}));
}

TEST(NetworkOptions, RefusesCombinationsThatCannotWork) {
  auto none = parse_run({"--net", "none", "-p", "8080:80", "/bin/true"});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().exit_status, exit_status::kUsage);
  EXPECT_TRUE(mentions(none.error(), "--net none")) << none.error().message;
  auto tap = parse_run({"--net", "tap=tap0", "-p", "8080:80", "/bin/true"});
  ASSERT_FALSE(tap);
  EXPECT_TRUE(mentions(tap.error(), "--net tap")) << tap.error().message;
  // q35 has virtio-pci: networking works there as on microvm.
  EXPECT_TRUE(parse_run({"--machine", "q35", "--net", "user", "-p", "8080:80", "/bin/true"}));
}

TEST(NetworkOptions, DefaultModeIsUserNetworkingForProgramsOnly) {
  NetworkOptions options;
  EXPECT_EQ(effective_net_mode(options, true), NetMode::User);
  EXPECT_EQ(effective_net_mode(options, false), NetMode::None);
  options.ports.push_back(PortMapping{"", 8080, 80, PortProtocol::Tcp});
  EXPECT_EQ(effective_net_mode(options, false), NetMode::User);
  options.ports.clear();
  options.mode = NetMode::None;
  EXPECT_EQ(effective_net_mode(options, true), NetMode::None);
  options.mode = NetMode::User;
  EXPECT_EQ(effective_net_mode(options, false), NetMode::User);
}

TEST(NetworkOptions, UserNetworkingForwardsEachPublishedPort) {
  NetworkOptions options;
  options.ports = {PortMapping{"", 8080, 8000, PortProtocol::Tcp}, PortMapping{"127.0.0.1", 5353, 53, PortProtocol::Udp}};
  options.mac = "52:54:00:00:00:07";
  EXPECT_EQ(qemu_network_args(options, NetMode::User),
            (std::vector<std::string>{"-netdev",
                                      "user,id=net0,hostfwd=tcp::8080-:8000,hostfwd=udp:127.0.0.1:5353-:53",
                                      "-device", "virtio-net-device,netdev=net0,mac=52:54:00:00:00:07"}));
  EXPECT_TRUE(qemu_network_args(options, NetMode::None).empty());
  NetworkOptions tap;
  tap.mode = NetMode::Tap;
  tap.tap_name = "tap7";
  EXPECT_EQ(qemu_network_args(tap, NetMode::Tap),
            (std::vector<std::string>{"-netdev", "tap,id=net0,ifname=tap7,script=no,downscript=no", "-device",
                                      "virtio-net-device,netdev=net0"}));
}

TEST(NetworkOptions, MultiQueueTapOpensAQueuePerCpu) {
  NetworkOptions tap;
  tap.mode = NetMode::Tap;
  tap.tap_name = "tap7";
  EXPECT_EQ(qemu_network_args(tap, NetMode::Tap, 4),
            (std::vector<std::string>{"-netdev", "tap,id=net0,ifname=tap7,script=no,downscript=no,queues=4", "-device",
                                      "virtio-net-device,netdev=net0,mq=on"}));
}

TEST(HostNetwork, TapQueuesFollowTheCpusOnlyOnAMultiQueueTap) {
  ScratchDir sys;
  NetworkOptions options;
  options.mode = NetMode::Tap;
  options.tap_name = "tap-nimbus";
  EXPECT_EQ(tap_queue_count(options, NetMode::Tap, 4, sys.path().string()), 1u);  // no such tap
  std::filesystem::create_directory(sys.path() / "tap-nimbus");
  auto write_flags = [&sys](const char* text) {
    std::ofstream(sys.path() / "tap-nimbus" / "tun_flags") << text;
  };
  write_flags("0x1002\n");  // IFF_TAP | IFF_NO_PI
  EXPECT_EQ(tap_queue_count(options, NetMode::Tap, 4, sys.path().string()), 1u);
  write_flags("0x1102\n");  // and IFF_MULTI_QUEUE
  EXPECT_EQ(tap_queue_count(options, NetMode::Tap, 4, sys.path().string()), 4u);
  EXPECT_EQ(tap_queue_count(options, NetMode::Tap, 1, sys.path().string()), 2u);   // opened as multi_queue
  EXPECT_EQ(tap_queue_count(options, NetMode::Tap, 32, sys.path().string()), 8u);  // the kernel's cap
  EXPECT_EQ(tap_queue_count(options, NetMode::User, 4, sys.path().string()), 1u);
}

TEST(NetworkOptions, StaticAddressesBecomeKernelWords) {
  NetworkOptions options;
  // No words: the kernel asks DHCP (slirp's server leases 10.0.2.15/24).
  EXPECT_TRUE(network_kernel_words(options, NetMode::User).empty());
  EXPECT_TRUE(network_kernel_words(options, NetMode::Tap).empty());
  options.ip = "192.168.7.2/24";
  options.gateway = "192.168.7.1";
  EXPECT_EQ(network_kernel_words(options, NetMode::Tap),
            (std::vector<std::string>{"ip=192.168.7.2/24", "gateway=192.168.7.1"}));
  EXPECT_TRUE(network_kernel_words(options, NetMode::None).empty());
}

TEST(NetworkOptions, QemuCommandHasTheNetdevAndModernVirtioMmioOnce) {
  auto options = parse_run({"-p", "8080:8000", "--ip", "10.0.2.15/24", "/bin/true"});
  ASSERT_TRUE(options) << options.error().message;
  QemuSetup setup;
  setup.qemu = "qemu";
  setup.kernel = "k.elf";
  setup.status_file = "status";
  setup.console_fds = true;
  setup.net_mode = NetMode::User;
  std::vector<std::string> argv = build_qemu_command(*options, setup);
  auto count = [&argv](const std::string& word) { return std::ranges::count(argv, word); };
  EXPECT_EQ(count("virtio-mmio.force-legacy=false"), 1);
  EXPECT_EQ(count("user,id=net0,hostfwd=tcp::8080-:8000"), 1);
  EXPECT_EQ(count("virtio-net-device,netdev=net0"), 1);
  EXPECT_NE(kernel_command_line(*options, setup).find("ip=10.0.2.15/24"), std::string::npos);
  // Without a console the network still needs virtio 1.x.
  setup.console_fds = false;
  argv = build_qemu_command(*options, setup);
  EXPECT_EQ(count("virtio-mmio.force-legacy=false"), 1);
  setup.net_mode = NetMode::None;
  argv = build_qemu_command(*options, setup);
  EXPECT_EQ(count("virtio-mmio.force-legacy=false"), 0);
  EXPECT_EQ(count("-netdev"), 0);
  EXPECT_EQ(kernel_command_line(*options, setup).find("ip="), std::string::npos);
}

TEST(LaunchWords, BuildKeepsTheNetworkOptionsAsImageWords) {
  std::vector<std::string> words{"-p", "8080:8000", "--net", "user", "--mac", "52:54:00:00:00:09", "--ip",
                                 "10.0.2.20/24", "--gateway", "10.0.2.2", "--kernel-arg", "strace",
                                 "/usr/bin/python3", "-m", "http.server"};
  std::vector<std::string_view> views(words.begin(), words.end());
  auto options = parse_build_options(views);
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_EQ(options->spec.kernel_words,
            (std::vector<std::string>{"strace", "nimbus.net=user", "nimbus.publish=8080:8000/tcp",
                                      "nimbus.ip=10.0.2.20/24", "nimbus.gateway=10.0.2.2",
                                      "nimbus.mac=52:54:00:00:00:09"}));
  EXPECT_EQ(options->spec.args, (std::vector<std::string>{"-m", "http.server"}));

  // Read back by `nimbus run IMAGE`: the same options, and the kernel's own words.
  NetworkOptions defaults;
  auto kernel_words = take_launch_words(options->spec.kernel_words, defaults);
  ASSERT_TRUE(kernel_words) << kernel_words.error().message;
  EXPECT_EQ(*kernel_words, (std::vector<std::string>{"strace"}));
  EXPECT_EQ(defaults, options->network);

  std::vector<std::string> refused{"--net", "none", "-p", "80:80", "/bin/true"};
  std::vector<std::string_view> refused_views(refused.begin(), refused.end());
  EXPECT_FALSE(parse_build_options(refused_views));
}

TEST(LaunchWords, TapAndNoneRoundTrip) {
  for (NetMode mode : {NetMode::None, NetMode::Tap}) {
    NetworkOptions options;
    options.mode = mode;
    if (mode == NetMode::Tap) options.tap_name = "tap3";
    NetworkOptions back;
    ASSERT_TRUE(take_launch_words(network_launch_words(options), back));
    EXPECT_EQ(back, options);
  }
}

TEST(LaunchWords, BadOrUnknownImageWordsAreABadImage) {
  NetworkOptions defaults;
  for (std::string word : {"nimbus.publish=0:80", "nimbus.net=wifi", "nimbus.colour=blue"}) {
    auto taken = take_launch_words({word}, defaults);
    ASSERT_FALSE(taken) << word;
    EXPECT_EQ(taken.error().exit_status, exit_status::kBadImage);
    EXPECT_TRUE(mentions(taken.error(), word)) << taken.error().message;
  }
}

TEST(LaunchWords, TheCommandLineOverridesTheImage) {
  NetworkOptions image;
  image.mode = NetMode::User;
  image.ports = {PortMapping{"", 8080, 8000, PortProtocol::Tcp}, PortMapping{"", 9090, 9000, PortProtocol::Tcp}};
  image.mac = "52:54:00:00:00:01";
  NetworkOptions command_line;
  EXPECT_EQ(merge_network_options(image, command_line), image);
  command_line.ports = {PortMapping{"", 18080, 8000, PortProtocol::Tcp}};
  command_line.ip = "10.0.2.30/24";
  NetworkOptions merged = merge_network_options(image, command_line);
  EXPECT_EQ(merged.ports, command_line.ports);  // all of the image's mappings replaced
  EXPECT_EQ(merged.ip, "10.0.2.30/24");
  EXPECT_EQ(merged.mac, image.mac);
  EXPECT_EQ(merged.mode, NetMode::User);
  command_line.mode = NetMode::None;
  command_line.ports.clear();
  merged = merge_network_options(image, command_line);
  EXPECT_EQ(merged.mode, NetMode::None);
  // The image's -p with --net none on the command line cannot work: said so.
  EXPECT_FALSE(check_network_options(merged, effective_net_mode(merged, true)));
}

TEST(HostNetwork, MissingTapDeviceIsNamed) {
  ScratchDir sys;
  NetworkOptions options;
  options.mode = NetMode::Tap;
  options.tap_name = "tap-nimbus";
  auto missing = check_host_network(options, NetMode::Tap, sys.path().string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().exit_status, exit_status::kCliFailure);
  EXPECT_TRUE(mentions(missing.error(), "no network interface 'tap-nimbus'")) << missing.error().message;
  std::filesystem::create_directory(sys.path() / "tap-nimbus");
  EXPECT_TRUE(check_host_network(options, NetMode::Tap, sys.path().string()));
}

// A socket bound to 127.0.0.1 on a port the kernel picks; closed at the end of the test.
struct BoundSocket {
  explicit BoundSocket(int type) : fd(::socket(AF_INET, type, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        (type == SOCK_STREAM && ::listen(fd, 1) != 0) ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      port = 0;
    else
      port = ntohs(address.sin_port);
  }
  ~BoundSocket() {
    if (fd >= 0) ::close(fd);
  }
  int fd;
  std::uint16_t port = 0;
};

TEST(HostNetwork, PortInUseIsRefusedForItsProtocol) {
  for (auto [type, protocol] : {std::pair{SOCK_STREAM, PortProtocol::Tcp}, std::pair{SOCK_DGRAM, PortProtocol::Udp}}) {
    std::uint16_t port;
    {
      BoundSocket taken(type);
      ASSERT_NE(taken.port, 0);
      port = taken.port;
      NetworkOptions options;
      options.ports = {PortMapping{"127.0.0.1", port, 80, protocol}};
      auto refused = check_host_network(options, NetMode::User);
      ASSERT_FALSE(refused) << port;
      EXPECT_EQ(refused.error().exit_status, exit_status::kCliFailure);
      EXPECT_TRUE(mentions(refused.error(), "is already in use")) << refused.error().message;
      EXPECT_TRUE(mentions(refused.error(), std::to_string(port))) << refused.error().message;
    }
    // Released: free again (another process could take it in between, but not in a unit test).
    NetworkOptions options;
    options.ports = {PortMapping{"127.0.0.1", port, 80, protocol}};
    EXPECT_TRUE(check_host_network(options, NetMode::User)) << port;
  }
}

}  // namespace
