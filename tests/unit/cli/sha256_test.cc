// Tests of Sha256 against the FIPS 180-4 example vectors, fed in one piece and in odd chunks.
#include "sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace {

std::string sha256_hex(std::string_view text) {
  Sha256 hash;
  hash.update(text);
  return Sha256::hex(hash.finish());
}

TEST(Sha256, EmptyMessage) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, Abc) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, TwoBlockMessage) {
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, PaddingAtTheBlockBoundaries) {
  // 55 bytes fit the length in the same block; 56 bytes need a second one.
  EXPECT_EQ(sha256_hex(std::string(55, 'a')),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(sha256_hex(std::string(56, 'a')),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(sha256_hex(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Sha256, MillionAsInUnevenChunks) {
  std::string million(1'000'000, 'a');
  Sha256 hash;
  std::size_t at = 0;
  for (std::size_t chunk = 1; at < million.size(); chunk = chunk * 3 % 1000 + 1) {
    std::size_t take = std::min(chunk, million.size() - at);
    hash.update(std::string_view(million).substr(at, take));
    at += take;
  }
  EXPECT_EQ(Sha256::hex(hash.finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
