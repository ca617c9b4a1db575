// CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), as ext4 and jbd2 use it: the raw
// register, without the usual final inversion (Linux's crc32c()).
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus {

// Continues a CRC from `crc` over `length` bytes. The standard CRC-32C of a message is
// ~crc32c(~0u, message, length).
uint32_t crc32c(uint32_t crc, const void* data, size_t length);

}  // namespace nimbus
