// Tests for the network words of the kernel command line: ip=, gateway=, dns=, hostname=.
#include <gtest/gtest.h>

#include "kernel/boot/boot_options.h"

namespace nimbus {
namespace {

using net::Ipv4Address;

TEST(BootNetworkOptions, StaticAddressGatewayDnsAndHostname) {
  BootOptions options;
  ASSERT_EQ(parse_boot_options("ip=10.0.2.15/24 gateway=10.0.2.2 dns=10.0.2.3 hostname=web-1.example", options),
            nullptr);
  EXPECT_TRUE(options.static_ip);
  EXPECT_EQ(options.ip_address, Ipv4Address::from_octets(10, 0, 2, 15));
  EXPECT_EQ(options.ip_prefix_length, 24);
  EXPECT_EQ(options.gateway, Ipv4Address::from_octets(10, 0, 2, 2));
  EXPECT_EQ(options.dns, Ipv4Address::from_octets(10, 0, 2, 3));
  EXPECT_EQ(options.hostname, "web-1.example");
}

TEST(BootNetworkOptions, NoIpOrIpDhcpMeansDhcp) {
  BootOptions none;
  ASSERT_EQ(parse_boot_options("verbose", none), nullptr);
  EXPECT_FALSE(none.static_ip);
  EXPECT_TRUE(none.gateway.is_any());
  EXPECT_TRUE(none.hostname.empty());
  BootOptions dhcp;
  ASSERT_EQ(parse_boot_options("ip=dhcp", dhcp), nullptr);
  EXPECT_FALSE(dhcp.static_ip);
}

TEST(BootNetworkOptions, PrefixLengthsAtTheEdges) {
  BootOptions zero, host;
  ASSERT_EQ(parse_boot_options("ip=0.0.0.0/0", zero), nullptr);
  EXPECT_EQ(zero.ip_prefix_length, 0);
  ASSERT_EQ(parse_boot_options("ip=255.255.255.255/32", host), nullptr);
  EXPECT_EQ(host.ip_address.value, 0xffffffffu);
  EXPECT_EQ(host.ip_prefix_length, 32);
}

TEST(BootNetworkOptions, RejectsMalformedWords) {
  for (const char* line : {"ip=10.0.2.15", "ip=10.0.2.15/33", "ip=10.0.2.15/", "ip=10.0.2/24", "ip=10.0.2.256/24",
                           "ip=10.0.2.15.1/24", "ip=1000.0.2.15/24", "ip=10.0.2.15/2x", "ip=a.b.c.d/8",
                           "ip=10.0.2.15/024", "gateway=10.0.2", "gateway=", "dns=10.0.0.1x", "hostname=-web",
                           "hostname=web-", "hostname=a..b", "hostname=under_score", "hostname="}) {
    BootOptions options;
    EXPECT_NE(parse_boot_options(line, options), nullptr) << line;
  }
}

TEST(BootNetworkOptions, Ipv4Parser) {
  Ipv4Address address;
  EXPECT_TRUE(parse_ipv4_address("192.168.1.254", address));
  EXPECT_EQ(address, Ipv4Address::from_octets(192, 168, 1, 254));
  EXPECT_FALSE(parse_ipv4_address("", address));
  EXPECT_FALSE(parse_ipv4_address("1.2.3.", address));
  EXPECT_FALSE(parse_ipv4_address(".1.2.3", address));
  EXPECT_FALSE(parse_ipv4_address("1.2.3.4 ", address));
  EXPECT_FALSE(parse_ipv4_address("-1.2.3.4", address));
}

}  // namespace
}  // namespace nimbus
