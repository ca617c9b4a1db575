// RandomSource: where /dev/random and /dev/urandom get their bytes (injectable for tests).
#pragma once

#include <cstddef>
#include <span>

namespace nimbus::fs {

// The kernel's implementation is KernelRandom (kernel_random.h): RDRAND when the CPU has
// it, else a ChaCha20 generator.
class RandomSource {
 public:
  // Cryptographically strong bytes; called from several threads at once.
  virtual void fill(std::span<std::byte> out) = 0;
  // What an application writes to /dev/random or /dev/urandom (mixed in, or ignored).
  virtual void add_entropy(std::span<const std::byte>) {}

 protected:
  ~RandomSource() = default;
};

}  // namespace nimbus::fs
