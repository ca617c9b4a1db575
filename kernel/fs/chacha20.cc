// ChaCha20: the quarter round, the 20-round block function, and the generator.
#include "kernel/fs/chacha20.h"

#include <cstring>

namespace nimbus::fs {

namespace {

constexpr uint32_t rotate_left(uint32_t value, int bits) { return (value << bits) | (value >> (32 - bits)); }

// RFC 8439 section 2.1.
void quarter_round(uint32_t* x, int a, int b, int c, int d) {
  x[a] += x[b];
  x[d] = rotate_left(x[d] ^ x[a], 16);
  x[c] += x[d];
  x[b] = rotate_left(x[b] ^ x[c], 12);
  x[a] += x[b];
  x[d] = rotate_left(x[d] ^ x[a], 8);
  x[c] += x[d];
  x[b] = rotate_left(x[b] ^ x[c], 7);
}

}  // namespace

void chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3], uint8_t out[64]) {
  // "expand 32-byte k", the key, the counter, the nonce (section 2.3).
  uint32_t state[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 8; i++) state[4 + i] = key[i];
  state[12] = counter;
  for (int i = 0; i < 3; i++) state[13 + i] = nonce[i];
  uint32_t working[16];
  memcpy(working, state, sizeof(state));
  for (int round = 0; round < 10; round++) {
    quarter_round(working, 0, 4, 8, 12);
    quarter_round(working, 1, 5, 9, 13);
    quarter_round(working, 2, 6, 10, 14);
    quarter_round(working, 3, 7, 11, 15);
    quarter_round(working, 0, 5, 10, 15);
    quarter_round(working, 1, 6, 11, 12);
    quarter_round(working, 2, 7, 8, 13);
    quarter_round(working, 3, 4, 9, 14);
  }
  for (int i = 0; i < 16; i++) {
    uint32_t word = working[i] + state[i];
    // Serialized little-endian.
    out[4 * i] = static_cast<uint8_t>(word);
    out[4 * i + 1] = static_cast<uint8_t>(word >> 8);
    out[4 * i + 2] = static_cast<uint8_t>(word >> 16);
    out[4 * i + 3] = static_cast<uint8_t>(word >> 24);
  }
}

ChaCha20Generator::ChaCha20Generator(std::span<const std::byte> seed) { reseed(seed); }

void ChaCha20Generator::next_block(uint8_t out[64]) {
  uint32_t nonce[3] = {static_cast<uint32_t>(m_counter >> 32), 0, 0};
  chacha20_block(m_key, static_cast<uint32_t>(m_counter), nonce, out);
  m_counter++;
}

void ChaCha20Generator::rekey() {
  uint8_t block[64];
  next_block(block);
  memcpy(m_key, block, sizeof(m_key));
  memset(block, 0, sizeof(block));
}

void ChaCha20Generator::reseed(std::span<const std::byte> material) {
  auto* key = reinterpret_cast<uint8_t*>(m_key);
  for (size_t i = 0; i < material.size(); i++) key[i % sizeof(m_key)] ^= static_cast<uint8_t>(material[i]);
  rekey();
}

void ChaCha20Generator::generate(std::span<std::byte> out) {
  uint8_t block[64];
  size_t done = 0;
  while (done < out.size()) {
    next_block(block);
    size_t chunk = out.size() - done < sizeof(block) ? out.size() - done : sizeof(block);
    memcpy(out.data() + done, block, chunk);
    done += chunk;
  }
  memset(block, 0, sizeof(block));
  rekey();
}

}  // namespace nimbus::fs
