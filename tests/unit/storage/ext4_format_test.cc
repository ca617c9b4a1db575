// The checksums and hashes ext4 depends on, against published values and e2fsprogs' own
// (debugfs dx_hash printed the expected hashes).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "kernel/fs/ext4/dx_hash.h"
#include "kernel/lib/crc32c.h"

namespace nimbus::fs::ext4 {
namespace {

TEST(Crc32c, MatchesTheStandardCheckValue) {
  const char* message = "123456789";
  EXPECT_EQ(~crc32c(~0u, message, 9), 0xe3069283u);  // RFC 3720's CRC-32C check value
  // Continuing a CRC over a split message gives the same register.
  EXPECT_EQ(crc32c(crc32c(~0u, message, 4), message + 4, 5), crc32c(~0u, message, 9));
}

struct HashCase {
  HashVersion version;
  const char* name;
  uint32_t major;
  uint32_t minor;
};

TEST(DxHash, MatchesE2fsprogsWithTheDefaultSeed) {
  const std::string long_name = "a_much_longer_file_name_exceeding_thirty_two_bytes.txt";
  const HashCase cases[] = {
      {HashVersion::legacy, "hello", 0x32252546, 0},
      {HashVersion::legacy, long_name.c_str(), 0x9beed270, 0},
      {HashVersion::legacy, "\xc3\xa9", 0x11083c86, 0},
      {HashVersion::half_md4, "hello", 0x1746da32, 0x420013b5},
      {HashVersion::half_md4, long_name.c_str(), 0x140f45bc, 0x9dea224c},
      {HashVersion::half_md4, "\xc3\xa9", 0x89d4704e, 0x75d52d82},
      {HashVersion::tea, "hello", 0x6f5bb1a8, 0x231917c2},
      {HashVersion::tea, long_name.c_str(), 0x974cdc30, 0xdce6deb1},
      {HashVersion::tea, "\xc3\xa9", 0x591e9bd6, 0xf780721f},
  };
  for (const HashCase& c : cases) {
    DxHash hash;
    ASSERT_TRUE(dx_hash(c.name, c.version, nullptr, &hash));
    EXPECT_EQ(hash.major, c.major) << c.name << " version " << int(c.version);
    EXPECT_EQ(hash.minor, c.minor) << c.name << " version " << int(c.version);
  }
}

TEST(DxHash, UsesTheFileSystemSeed) {
  // debugfs dx_hash -h half_md4 -s a77b28c6-c4c2-4bd1-8f4a-9134b98cc481 hello
  const uint8_t uuid[16] = {0xa7, 0x7b, 0x28, 0xc6, 0xc4, 0xc2, 0x4b, 0xd1,
                            0x8f, 0x4a, 0x91, 0x34, 0xb9, 0x8c, 0xc4, 0x81};
  uint32_t seed[4];
  memcpy(seed, uuid, sizeof(seed));
  DxHash hash;
  ASSERT_TRUE(dx_hash("hello", HashVersion::half_md4, seed, &hash));
  EXPECT_EQ(hash.major, 0x4cba695au);
  EXPECT_EQ(hash.minor, 0xd133ecefu);
}

TEST(DxHash, SignedAndUnsignedDifferOnlyAboveAscii) {
  uint32_t zero[4] = {};
  DxHash a, b;
  ASSERT_TRUE(dx_hash("plain", HashVersion::half_md4, zero, &a));
  ASSERT_TRUE(dx_hash("plain", HashVersion::half_md4_unsigned, zero, &b));
  EXPECT_EQ(a.major, b.major);
  ASSERT_TRUE(dx_hash("\xc3\xa9", HashVersion::tea, zero, &a));
  ASSERT_TRUE(dx_hash("\xc3\xa9", HashVersion::tea_unsigned, zero, &b));
  EXPECT_NE(a.major, b.major);
  EXPECT_FALSE(dx_hash("x", static_cast<HashVersion>(6), zero, &a));  // siphash: casefold only
}

}  // namespace
}  // namespace nimbus::fs::ext4
