// KernelRandom: RDRAND with Intel's retry advice, or ChaCha20 in small locked chunks.
#include "kernel/fs/kernel_random.h"

#include <algorithm>
#include <cstring>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/time/clock.h"

namespace nimbus::fs {

namespace {

// CPUID.01H:ECX bit 30.
constexpr uint32_t kRdrandBit = 1u << 30;
// Intel's DRNG guide: retry a failing RDRAND up to ten times before giving up.
constexpr int kRdrandRetries = 10;
// Interrupts stay off only while this much is generated.
constexpr size_t kGeneratorChunk = 256;

KernelRandom g_kernel_random;

bool rdrand64(uint64_t* value) {
  for (int i = 0; i < kRdrandRetries; i++) {
    bool ok;
    asm volatile("rdrand %0; setc %1" : "=r"(*value), "=qm"(ok) : : "cc");
    if (ok) return true;
  }
  return false;
}

}  // namespace

KernelRandom& kernel_random() { return g_kernel_random; }

void KernelRandom::init() {
  m_has_rdrand = x86::cpuid(1).ecx & kRdrandBit;
  // Seed: RDRAND if there is one, and in any case the low bits of many TSC readings taken
  // around memory accesses (their jitter is the little entropy a VM without RDRAND has).
  uint64_t seed[16];
  for (uint64_t& word : seed) {
    uint64_t value = 0;
    if (!m_has_rdrand || !rdrand64(&value)) value = 0;
    for (int i = 0; i < 64; i++) {
      value = (value << 1 | value >> 63) ^ x86::rdtsc();
      asm volatile("" ::: "memory");
    }
    word = value;
  }
  seed[0] ^= clock::wall_ns();
  SpinlockGuard guard(m_lock);
  m_generator.reseed(std::as_bytes(std::span(seed)));
  memset(seed, 0, sizeof(seed));
}

void KernelRandom::fill_from_generator(std::span<std::byte> out) {
  for (size_t done = 0; done < out.size();) {
    size_t chunk = std::min(kGeneratorChunk, out.size() - done);
    SpinlockGuard guard(m_lock);
    m_generator.generate(out.subspan(done, chunk));
    done += chunk;
  }
}

void KernelRandom::fill(std::span<std::byte> out) {
  if (!m_has_rdrand) return fill_from_generator(out);
  size_t done = 0;
  while (done < out.size()) {
    uint64_t value;
    if (!rdrand64(&value)) return fill_from_generator(out.subspan(done));
    size_t chunk = std::min(sizeof(value), out.size() - done);
    memcpy(out.data() + done, &value, chunk);
    done += chunk;
  }
}

void KernelRandom::add_entropy(std::span<const std::byte> bytes) {
  SpinlockGuard guard(m_lock);
  m_generator.reseed(bytes);
}

}  // namespace nimbus::fs
