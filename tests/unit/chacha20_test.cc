// Tests for ChaCha20 (RFC 8439's block test vector) and the fast-key-erasure generator.
#include "kernel/fs/chacha20.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <set>
#include <string>

namespace nimbus::fs {
namespace {

std::string hex(const uint8_t* bytes, size_t length) {
  std::string text;
  char digits[3];
  for (size_t i = 0; i < length; i++) {
    snprintf(digits, sizeof(digits), "%02x", bytes[i]);
    text += digits;
  }
  return text;
}

TEST(ChaCha20, MatchesTheRfc8439BlockVector) {
  // RFC 8439 section 2.3.2: key 00 01 .. 1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00,
  // block counter 1.
  uint32_t key[8];
  for (int i = 0; i < 8; i++) {
    key[i] = (4 * i) | (4 * i + 1) << 8 | (4 * i + 2) << 16 | static_cast<uint32_t>(4 * i + 3) << 24;
  }
  const uint32_t nonce[3] = {0x09000000, 0x4a000000, 0x00000000};
  uint8_t block[64];
  chacha20_block(key, 1, nonce, block);
  EXPECT_EQ(hex(block, 64),
            "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
            "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");
}

TEST(ChaCha20Generator, SameSeedSameBytesDifferentSeedDifferentBytes) {
  std::array<std::byte, 32> seed{};
  seed[0] = std::byte{1};
  ChaCha20Generator a(seed), b(seed);
  std::array<std::byte, 100> x, y;
  a.generate(x);
  b.generate(y);
  EXPECT_EQ(x, y);
  seed[0] = std::byte{2};
  ChaCha20Generator c(seed);
  c.generate(y);
  EXPECT_NE(x, y);
}

TEST(ChaCha20Generator, NeverRepeatsAndReseedingChangesTheStream) {
  ChaCha20Generator generator;
  std::set<std::array<std::byte, 16>> seen;
  for (int i = 0; i < 1000; i++) {
    std::array<std::byte, 16> out;
    generator.generate(out);
    EXPECT_TRUE(seen.insert(out).second);
  }
  ChaCha20Generator twin;
  std::array<std::byte, 16> plain, mixed;
  const std::byte entropy[3] = {std::byte{7}, std::byte{8}, std::byte{9}};
  twin.reseed(entropy);
  ChaCha20Generator fresh;
  fresh.generate(plain);
  twin.generate(mixed);
  EXPECT_NE(plain, mixed);
}

TEST(ChaCha20Generator, OutputLooksUniform) {
  ChaCha20Generator generator;
  std::array<std::byte, 1 << 16> out;
  generator.generate(out);
  size_t ones = 0;
  for (std::byte b : out) ones += __builtin_popcount(static_cast<unsigned>(b));
  double fraction = static_cast<double>(ones) / (out.size() * 8);
  EXPECT_NEAR(fraction, 0.5, 0.01);
}

}  // namespace
}  // namespace nimbus::fs
