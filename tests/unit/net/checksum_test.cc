// Checksum edge cases: odd lengths, carries, 0 vs 0xffff, pseudo-headers, RFC 1624 updates.
#include "kernel/net/checksum.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace nimbus::net {
namespace {

std::vector<std::byte> bytes_of(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(std::byte(v));
  return out;
}

// The RFC 1071 reference: 16-bit words, carries folded at the end, odd byte padded.
uint16_t reference_checksum(const std::vector<std::byte>& data) {
  uint64_t sum = 0;
  for (size_t i = 0; i + 1 < data.size(); i += 2) sum += (uint32_t(data[i]) << 8) | uint32_t(data[i + 1]);
  if (data.size() % 2) sum += uint32_t(data.back()) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 section 3's example bytes: the sum is 0xddf2.
  auto data = bytes_of({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7});
  EXPECT_EQ(checksum_add(0, data), 0xddf2u);
  EXPECT_EQ(internet_checksum(data), 0x220d);
}

TEST(Checksum, EmptyIsAllOnes) { EXPECT_EQ(internet_checksum({}), 0xffff); }

TEST(Checksum, OddLengthPadsTheLastByteLow) {
  auto data = bytes_of({0x12, 0x34, 0x56});
  // 0x1234 + 0x5600 = 0x6834
  EXPECT_EQ(checksum_add(0, data), 0x6834u);
  EXPECT_EQ(internet_checksum(data), reference_checksum(data));
  auto one = bytes_of({0xab});
  EXPECT_EQ(checksum_add(0, one), 0xab00u);
}

TEST(Checksum, CarriesWrapAround) {
  // 0xffff + 0x0001 = 0x10000 -> 0x0001 (end-around carry).
  auto data = bytes_of({0xff, 0xff, 0x00, 0x01});
  EXPECT_EQ(checksum_add(0, data), 0x0001u);
  // Many 0xffff words never overflow the accumulator and stay 0xffff (negative zero).
  std::vector<std::byte> ones(100000, std::byte{0xff});
  EXPECT_EQ(checksum_add(0, ones), 0xffffu);
  EXPECT_EQ(internet_checksum(ones), 0x0000);
}

TEST(Checksum, ZeroDataSumsToZeroAndChecksumsToFfff) {
  std::vector<std::byte> zeros(20, std::byte{0});
  EXPECT_EQ(checksum_add(0, zeros), 0u);
  EXPECT_EQ(internet_checksum(zeros), 0xffff);
}

TEST(Checksum, ChainedEvenPiecesEqualTheWhole) {
  std::mt19937 random(42);
  for (int round = 0; round < 200; round++) {
    std::vector<std::byte> data(random() % 300);
    for (auto& b : data) b = std::byte(random());
    size_t split = (random() % (data.size() + 1)) & ~size_t{1};
    uint32_t sum = checksum_add(0, std::span(data).first(split));
    sum = checksum_add(sum, std::span(data).subspan(split));
    EXPECT_EQ(checksum_finish(sum), reference_checksum(data)) << "size " << data.size();
  }
}

TEST(Checksum, DataWithItsChecksumVerifies) {
  // An IPv4 header (from RFC 1071-style worked examples): filling in the checksum makes
  // the whole sum 0xffff, so internet_checksum over it is 0.
  auto header = bytes_of({0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00,
                          0x01, 0xc0, 0xa8, 0x00, 0xc7});
  uint16_t checksum = internet_checksum(header);
  EXPECT_EQ(checksum, 0xb861);
  store_be16(header.data() + 10, checksum);
  EXPECT_EQ(internet_checksum(header), 0);
}

TEST(Checksum, PseudoHeaderIpv4) {
  Ipv4Address source = Ipv4Address::from_octets(10, 0, 2, 15);
  Ipv4Address destination = Ipv4Address::from_octets(10, 0, 2, 2);
  // By hand: 0x0a00 + 0x020f + 0x0a00 + 0x0202 + 17 + 8
  uint32_t expected = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + 17 + 8;
  EXPECT_EQ(pseudo_header_sum_ipv4(source, destination, 17, 8), expected);
  EXPECT_EQ(pseudo_header_sum(IpAddress::from_ipv4(source), IpAddress::from_ipv4(destination), 17, 8), expected);
  // Carries: all-ones addresses.
  Ipv4Address ones{0xffffffff};
  uint32_t sum = pseudo_header_sum_ipv4(ones, ones, 255, 0xffff);
  EXPECT_LE(sum, 0xffffu);
  uint64_t wide = 4 * 0xffffull + 255 + 0xffff;
  while (wide >> 16) wide = (wide & 0xffff) + (wide >> 16);
  EXPECT_EQ(sum, wide);
}

TEST(Checksum, PseudoHeaderIpv6) {
  IpAddress source{}, destination{};
  source.bytes[0] = 0xfe;
  source.bytes[1] = 0x80;
  source.bytes[15] = 1;
  destination.bytes[0] = 0xfe;
  destination.bytes[1] = 0x80;
  destination.bytes[15] = 2;
  uint32_t expected = 0xfe80 + 1 + 0xfe80 + 2 + 0 + 0x0001 /* length 0x10000 high */ + 0x0000 + 58;
  while (expected >> 16) expected = (expected & 0xffff) + (expected >> 16);
  EXPECT_EQ(pseudo_header_sum_ipv6(source, destination, 58, 0x10000), expected);
}

TEST(Checksum, IncrementalUpdateMatchesRecomputation) {
  std::mt19937 random(7);
  for (int round = 0; round < 1000; round++) {
    std::vector<std::byte> data(20);
    for (auto& b : data) b = std::byte(random());
    // Force the interesting cases in: words that are 0x0000 and 0xffff.
    if (round % 3 == 0) store_be16(data.data() + 4, 0x0000);
    if (round % 5 == 0) store_be16(data.data() + 4, 0xffff);
    uint16_t checksum = internet_checksum(data);
    uint16_t old_value = load_be16(data.data() + 4);
    uint16_t new_value = round % 7 == 0 ? 0xffff : static_cast<uint16_t>(random());
    store_be16(data.data() + 4, new_value);
    uint16_t updated = checksum_update16(checksum, old_value, new_value);
    uint16_t recomputed = internet_checksum(data);
    // RFC 1624: eqn. 3 never yields -0 (0xffff... as the sum) where recomputation gives +0
    // except when every word is zero; both represent the same sum in one's complement.
    if (updated != recomputed) {
      EXPECT_TRUE((updated == 0 && recomputed == 0xffff) || (updated == 0xffff && recomputed == 0))
          << updated << " vs " << recomputed;
    }
  }
}

TEST(Checksum, IncrementalUpdateOfAddress) {
  auto header = bytes_of({0x45, 0x00, 0x00, 0x54, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01, 0x00, 0x00, 10, 0, 2, 15, 8, 8,
                          8, 8});
  store_be16(header.data() + 10, internet_checksum(header));
  uint32_t old_address = load_be32(header.data() + 12);
  uint32_t new_address = 0xc0a80164;
  uint16_t updated = checksum_update32(load_be16(header.data() + 10), old_address, new_address);
  store_be32(header.data() + 12, new_address);
  store_be16(header.data() + 10, 0);
  EXPECT_EQ(updated, internet_checksum(header));
}

TEST(Checksum, ByteOrder) {
  std::byte buffer[4];
  store_be32(buffer, 0x01020304);
  EXPECT_EQ(buffer[0], std::byte{1});
  EXPECT_EQ(buffer[3], std::byte{4});
  EXPECT_EQ(load_be32(buffer), 0x01020304u);
  store_be16(buffer, 0xabcd);
  EXPECT_EQ(load_be16(buffer), 0xabcd);
}

}  // namespace
}  // namespace nimbus::net
