// The vDSO: clock_gettime, gettimeofday, time and getcpu without a system call. Built as a
// small position-independent shared object (not kernel code: it runs as part of the
// program), embedded in the kernel and mapped into the program with AT_SYSINFO_EHDR. The
// clock parameters live in the page just below it (vdso_data.h), written by the kernel.
#include <cstdint>

#include "kernel/linux/time_abi.h"
#include "kernel/linux/vdso/vdso_data.h"

namespace {

using namespace nimbus::linux;

extern "C" const nimbus::linux::VdsoData vdso_data __attribute__((visibility("hidden")));

inline uint64_t monotonic_ns() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  uint64_t delta = ((static_cast<uint64_t>(hi) << 32) | lo) - vdso_data.tsc_base;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(delta) * vdso_data.ns_per_tsc_fp) >> 32);
}

inline long raw_syscall(long number, long a, long b) {
  long result;
  asm volatile("syscall" : "=a"(result) : "a"(number), "D"(a), "S"(b) : "rcx", "r11", "memory");
  return result;
}

}  // namespace

extern "C" {

int __vdso_clock_gettime(int clock, Timespec* out) {
  uint64_t ns;
  switch (clock) {
    case kClockMonotonic:
    case kClockMonotonicRaw:
    case kClockMonotonicCoarse:
    case kClockBoottime:
      ns = monotonic_ns();
      break;
    case kClockRealtime:
    case kClockRealtimeCoarse:
      ns = monotonic_ns() + vdso_data.boot_epoch_ns;
      break;
    default:
      return static_cast<int>(raw_syscall(228 /* clock_gettime */, clock, reinterpret_cast<long>(out)));
  }
  out->seconds = static_cast<int64_t>(ns / kNsPerSecond);
  out->nanoseconds = static_cast<int64_t>(ns % kNsPerSecond);
  return 0;
}

int __vdso_gettimeofday(Timeval* out, void* timezone) {
  if (timezone) return static_cast<int>(raw_syscall(96 /* gettimeofday */, reinterpret_cast<long>(out),
                                                    reinterpret_cast<long>(timezone)));
  if (out) {
    uint64_t ns = monotonic_ns() + vdso_data.boot_epoch_ns;
    out->seconds = static_cast<int64_t>(ns / kNsPerSecond);
    out->microseconds = static_cast<int64_t>(ns % kNsPerSecond / 1000);
  }
  return 0;
}

int64_t __vdso_time(int64_t* out) {
  auto seconds = static_cast<int64_t>((monotonic_ns() + vdso_data.boot_epoch_ns) / kNsPerSecond);
  if (out) *out = seconds;
  return seconds;
}

int __vdso_getcpu(unsigned* cpu, unsigned* node, void*) {
  // The kernel puts each CPU's index in IA32_TSC_AUX.
  uint32_t aux;
  asm volatile("rdtscp" : "=c"(aux) : : "rax", "rdx");
  if (cpu) *cpu = aux;
  if (node) *node = 0;
  return 0;
}

int clock_gettime(int, Timespec*) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(Timeval*, void*) __attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t*) __attribute__((weak, alias("__vdso_time")));
int getcpu(unsigned*, unsigned*, void*) __attribute__((weak, alias("__vdso_getcpu")));

}  // extern "C"
