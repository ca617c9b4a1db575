// ext4's directory hashes, as Linux's fs/ext4/hash.c defines them (the on-disk index
// depends on every detail, including the sign of char).
#include "kernel/fs/ext4/dx_hash.h"

#include <bit>

namespace nimbus::fs::ext4 {
namespace {

constexpr uint32_t kTeaDelta = 0x9e3779b9;

void tea_transform(uint32_t buf[4], const uint32_t in[4]) {
  uint32_t sum = 0, b0 = buf[0], b1 = buf[1];
  uint32_t a = in[0], b = in[1], c = in[2], d = in[3];
  for (int n = 0; n < 16; n++) {
    sum += kTeaDelta;
    b0 += ((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >> 5) + b);
    b1 += ((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >> 5) + d);
  }
  buf[0] += b0;
  buf[1] += b1;
}

// MD4's three rounds, cut to eight steps each.
uint32_t md4_f(uint32_t x, uint32_t y, uint32_t z) { return z ^ (x & (y ^ z)); }
uint32_t md4_g(uint32_t x, uint32_t y, uint32_t z) { return (x & y) + ((x ^ y) & z); }
uint32_t md4_h(uint32_t x, uint32_t y, uint32_t z) { return x ^ y ^ z; }

void half_md4_transform(uint32_t buf[4], const uint32_t in[8]) {
  constexpr uint32_t k2 = 013240474631u, k3 = 015666365641u;
  uint32_t a = buf[0], b = buf[1], c = buf[2], d = buf[3];
  auto round = [](auto f, uint32_t& w, uint32_t x, uint32_t y, uint32_t z, uint32_t k, int s) {
    w = std::rotl(w + f(x, y, z) + k, s);
  };
  round(md4_f, a, b, c, d, in[0], 3);
  round(md4_f, d, a, b, c, in[1], 7);
  round(md4_f, c, d, a, b, in[2], 11);
  round(md4_f, b, c, d, a, in[3], 19);
  round(md4_f, a, b, c, d, in[4], 3);
  round(md4_f, d, a, b, c, in[5], 7);
  round(md4_f, c, d, a, b, in[6], 11);
  round(md4_f, b, c, d, a, in[7], 19);

  round(md4_g, a, b, c, d, in[1] + k2, 3);
  round(md4_g, d, a, b, c, in[3] + k2, 5);
  round(md4_g, c, d, a, b, in[5] + k2, 9);
  round(md4_g, b, c, d, a, in[7] + k2, 13);
  round(md4_g, a, b, c, d, in[0] + k2, 3);
  round(md4_g, d, a, b, c, in[2] + k2, 5);
  round(md4_g, c, d, a, b, in[4] + k2, 9);
  round(md4_g, b, c, d, a, in[6] + k2, 13);

  round(md4_h, a, b, c, d, in[3] + k3, 3);
  round(md4_h, d, a, b, c, in[7] + k3, 9);
  round(md4_h, c, d, a, b, in[2] + k3, 11);
  round(md4_h, b, c, d, a, in[6] + k3, 15);
  round(md4_h, a, b, c, d, in[1] + k3, 3);
  round(md4_h, d, a, b, c, in[5] + k3, 9);
  round(md4_h, c, d, a, b, in[0] + k3, 11);
  round(md4_h, b, c, d, a, in[4] + k3, 15);

  buf[0] += a;
  buf[1] += b;
  buf[2] += c;
  buf[3] += d;
}

// The legacy hash (dx_hack_hash).
uint32_t legacy_hash(std::string_view name, bool is_unsigned) {
  uint32_t hash0 = 0x12a3fe2d, hash1 = 0x37abe8f9;
  for (char ch : name) {
    int c = is_unsigned ? static_cast<int>(static_cast<unsigned char>(ch)) : static_cast<int>(static_cast<signed char>(ch));
    uint32_t hash = hash1 + (hash0 ^ static_cast<uint32_t>(c * 7152373));
    if (hash & 0x80000000u) hash -= 0x7fffffff;
    hash1 = hash0;
    hash0 = hash;
  }
  return hash0 << 1;
}

// Packs up to num * 4 bytes of the name into words, padded with the length (str2hashbuf).
void name_to_words(const char* message, size_t length, uint32_t* buf, int num, bool is_unsigned) {
  uint32_t pad = static_cast<uint32_t>(length) | (static_cast<uint32_t>(length) << 8);
  pad |= pad << 16;
  uint32_t value = pad;
  size_t take = length > static_cast<size_t>(num) * 4 ? static_cast<size_t>(num) * 4 : length;
  for (size_t i = 0; i < take; i++) {
    int c = is_unsigned ? static_cast<int>(static_cast<unsigned char>(message[i]))
                        : static_cast<int>(static_cast<signed char>(message[i]));
    value = static_cast<uint32_t>(c) + (value << 8);
    if (i % 4 == 3) {
      *buf++ = value;
      value = pad;
      num--;
    }
  }
  if (--num >= 0) *buf++ = value;
  while (--num >= 0) *buf++ = pad;
}

}  // namespace

bool dx_hash(std::string_view name, HashVersion version, const uint32_t seed[4], DxHash* out) {
  uint32_t buf[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  if (seed && (seed[0] | seed[1] | seed[2] | seed[3]))
    for (int i = 0; i < 4; i++) buf[i] = seed[i];
  uint32_t hash = 0, minor = 0;
  bool is_unsigned = false;
  switch (version) {
    case HashVersion::legacy_unsigned: is_unsigned = true; [[fallthrough]];
    case HashVersion::legacy: hash = legacy_hash(name, is_unsigned); break;
    case HashVersion::half_md4_unsigned: is_unsigned = true; [[fallthrough]];
    case HashVersion::half_md4: {
      uint32_t in[8];
      const char* p = name.data();
      for (long left = static_cast<long>(name.size()); left > 0; left -= 32, p += 32) {
        name_to_words(p, static_cast<size_t>(left), in, 8, is_unsigned);
        half_md4_transform(buf, in);
      }
      minor = buf[2];
      hash = buf[1];
      break;
    }
    case HashVersion::tea_unsigned: is_unsigned = true; [[fallthrough]];
    case HashVersion::tea: {
      uint32_t in[4];
      const char* p = name.data();
      for (long left = static_cast<long>(name.size()); left > 0; left -= 16, p += 16) {
        name_to_words(p, static_cast<size_t>(left), in, 4, is_unsigned);
        tea_transform(buf, in);
      }
      hash = buf[0];
      minor = buf[1];
      break;
    }
    default: return false;
  }
  hash &= ~1u;
  // EXT4_HTREE_EOF_32BIT << 1 is reserved for the end of a directory.
  if (hash == (0x7fffffffu << 1)) hash = (0x7fffffffu - 1) << 1;
  out->major = hash;
  out->minor = minor;
  return true;
}

}  // namespace nimbus::fs::ext4
