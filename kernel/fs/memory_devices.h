// The memory devices of Linux's drivers/char/mem.c: null, zero, full, random, urandom.
#pragma once

#include <cstdint>

#include "kernel/fs/file.h"
#include "kernel/fs/random_source.h"

namespace nimbus::fs {

namespace device_numbers {
constexpr uint32_t kMemMajor = 1;
constexpr uint32_t kNullMinor = 3;
constexpr uint32_t kZeroMinor = 5;
constexpr uint32_t kFullMinor = 7;
constexpr uint32_t kRandomMinor = 8;
constexpr uint32_t kUrandomMinor = 9;
constexpr uint32_t kTtyMajor = 5;
constexpr uint32_t kTtyMinor = 0;
constexpr uint32_t kConsoleMinor = 1;
}  // namespace device_numbers

// Reads: end of file. Writes: swallowed whole.
class NullDevice final : public FileOps {
 public:
  Result<size_t> read(File&, std::span<std::byte>, IoFlags) override { return 0; }
  Result<size_t> write(File&, std::span<const std::byte> data, IoFlags) override { return data.size(); }
  SeekMode seek_mode() const override { return SeekMode::always_zero; }
};

// Reads: zeros. Writes: swallowed whole.
class ZeroDevice final : public FileOps {
 public:
  Result<size_t> read(File&, std::span<std::byte> buffer, IoFlags) override;
  Result<size_t> write(File&, std::span<const std::byte> data, IoFlags) override { return data.size(); }
  SeekMode seek_mode() const override { return SeekMode::always_zero; }
};

// Reads: zeros. Writes: ENOSPC.
class FullDevice final : public FileOps {
 public:
  Result<size_t> read(File&, std::span<std::byte> buffer, IoFlags) override;
  Result<size_t> write(File&, std::span<const std::byte>, IoFlags) override { return error(Errno::enospc); }
  SeekMode seek_mode() const override { return SeekMode::always_zero; }
};

// /dev/random and /dev/urandom alike (Linux 5.18 and later make them the same): reads never
// block; writes are handed to the source as entropy.
class RandomDevice final : public FileOps {
 public:
  explicit RandomDevice(RandomSource& source) : m_source(source) {}
  Result<size_t> read(File&, std::span<std::byte> buffer, IoFlags) override;
  Result<size_t> write(File&, std::span<const std::byte> data, IoFlags) override;
  SeekMode seek_mode() const override { return SeekMode::always_zero; }

 private:
  RandomSource& m_source;
};

}  // namespace nimbus::fs
