// host_tsc_khz(): the host's TSC rate, which is the guest's TSC rate under TCG.
#include "host_tsc.h"

#include <x86intrin.h>

#include <charconv>
#include <ctime>
#include <string>

namespace {

constexpr const char* kCacheKey = "tsc_khz";

std::int64_t monotonic_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

struct Sample {
  std::int64_t ns;
  std::uint64_t tsc;
  std::int64_t uncertainty_ns;  // how long the clock read took around the rdtsc
};

// Brackets rdtsc between two clock reads and keeps the tightest of a few tries, so a preemption
// between the reads cannot skew the rate.
Sample take_sample() {
  Sample best{0, 0, INT64_MAX};
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::int64_t before = monotonic_ns();
    std::uint64_t tsc = __rdtsc();
    std::int64_t after = monotonic_ns();
    if (after - before < best.uncertainty_ns)
      best = {before + (after - before) / 2, tsc, after - before};
  }
  return best;
}

std::uint64_t measure_tsc_khz() {
  constexpr std::int64_t kWindowNs = 20'000'000;
  Sample start = take_sample();
  timespec pause{0, kWindowNs};
  while (::nanosleep(&pause, &pause) != 0) {
  }
  Sample end = take_sample();
  // ticks per ns * 1e6 = kHz, rounded to the nearest kHz.
  auto ticks = static_cast<long double>(end.tsc - start.tsc);
  auto ns = static_cast<long double>(end.ns - start.ns);
  return static_cast<std::uint64_t>(ticks * 1e6L / ns + 0.5L);
}

}  // namespace

std::uint64_t host_tsc_khz(HostCache& cache) {
  if (auto cached = cache.get(kCacheKey)) {
    std::uint64_t khz = 0;
    auto [end, ec] = std::from_chars(cached->data(), cached->data() + cached->size(), khz);
    if (ec == std::errc{} && end == cached->data() + cached->size() && khz > 0) return khz;
  }
  std::uint64_t khz = measure_tsc_khz();
  cache.set(kCacheKey, std::to_string(khz));
  cache.save();
  return khz;
}
