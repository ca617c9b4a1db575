// The hashes of ext4's hashed directories (htree): legacy, half-MD4 and TEA, each over
// signed or unsigned chars, with the file system's seed.
#pragma once

#include <cstdint>
#include <string_view>

#include "kernel/fs/ext4/ext4_format.h"

namespace nimbus::fs::ext4 {

struct DxHash {
  uint32_t major = 0;  // bit 0 is always clear: the index uses it to mark collisions
  uint32_t minor = 0;
};

// `seed`: s_hash_seed (all zeros: the default seed). Returns false for an unknown version.
bool dx_hash(std::string_view name, HashVersion version, const uint32_t seed[4], DxHash* out);

}  // namespace nimbus::fs::ext4
