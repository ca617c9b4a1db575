// KernelRandom: the kernel's RandomSource (kernel only): RDRAND when CPUID reports it,
// else a ChaCha20 generator seeded from TSC jitter and the wall clock.
#pragma once

#include <cstdint>
#include <span>

#include "kernel/fs/chacha20.h"
#include "kernel/fs/random_source.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::fs {

// RDRAND is the hardware's DRBG, reseeded by its own entropy source; where it is missing
// (or keeps failing, as a broken one may), ChaCha20 fills in. The TSC-jitter seed is weak
// on a VM: a virtio-rng device should feed add_entropy() when one exists. Writes to
// /dev/random are mixed into the ChaCha20 key.
class KernelRandom final : public RandomSource {
 public:
  // Probes CPUID and seeds the generator; before the first fill().
  void init();
  void fill(std::span<std::byte> out) override;
  void add_entropy(std::span<const std::byte> bytes) override;
  bool has_rdrand() const { return m_has_rdrand; }

 private:
  void fill_from_generator(std::span<std::byte> out);

  bool m_has_rdrand = false;
  Spinlock m_lock;  // guards m_generator; held per small chunk only
  ChaCha20Generator m_generator;
};

// The one instance, initialized by init_root().
KernelRandom& kernel_random();

}  // namespace nimbus::fs
