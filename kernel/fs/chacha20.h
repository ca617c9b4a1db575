// ChaCha20 (RFC 8439) and a fast-key-erasure random generator built on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nimbus::fs {

// One 64-byte ChaCha20 block (RFC 8439 section 2.3): key, 32-bit block counter, nonce.
void chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3], uint8_t out[64]);

// Bernstein's fast-key-erasure generator: output is ChaCha20's keystream, and after each
// request the key is replaced by fresh keystream, so a later compromise of the state does
// not reveal earlier output. Not locked: its owner serializes calls.
class ChaCha20Generator {
 public:
  explicit ChaCha20Generator(std::span<const std::byte> seed = {});
  // Folds `material` into the key (XOR, then a rekey).
  void reseed(std::span<const std::byte> material);
  void generate(std::span<std::byte> out);

 private:
  void next_block(uint8_t out[64]);
  void rekey();

  uint32_t m_key[8] = {};
  uint64_t m_counter = 0;  // the low word is the block counter, the high word nonce[0]
};

}  // namespace nimbus::fs
