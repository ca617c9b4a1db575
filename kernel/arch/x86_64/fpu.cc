// Extended register state (Intel SDM vol. 1 chapter 13: XSAVE; FXSAVE when absent).
#include "kernel/arch/x86_64/fpu.h"

#include <cstdint>
#include <cstring>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/user_access.h"

namespace nimbus::fpu {
namespace {

bool g_xsave = false;
uint64_t g_mask = 0;
size_t g_size = 512;
// The MXCSR bits this CPU implements (FXSAVE's MXCSR_MASK; 0 there means the default).
uint32_t g_mxcsr_mask = 0xffbf;

constexpr uint64_t kCr0MonitorCoprocessor = 1u << 1;
constexpr uint64_t kCr0Emulation = 1u << 2;
constexpr uint64_t kCr0TaskSwitched = 1u << 3;
constexpr uint64_t kCr4Osfxsr = 1u << 9;
constexpr uint64_t kCr4Osxmmexcpt = 1u << 10;
constexpr uint64_t kCr4Osxsave = 1u << 18;
// x87, SSE, AVX, and the three AVX-512 components.
constexpr uint64_t kWantedComponents = 0b1110'0111;

}  // namespace

void init_this_cpu() {
  x86::write_cr0((x86::read_cr0() & ~(kCr0Emulation | kCr0TaskSwitched)) | kCr0MonitorCoprocessor);
  uint64_t cr4 = x86::read_cr4() | kCr4Osfxsr | kCr4Osxmmexcpt;
  g_xsave = x86::cpuid(1).ecx & (1u << 26);
  if (g_xsave) cr4 |= kCr4Osxsave;
  x86::write_cr4(cr4);
  alignas(64) static uint8_t legacy[512];
  asm volatile("fxsave64 (%0)" : : "r"(legacy) : "memory");
  uint32_t mask;
  memcpy(&mask, legacy + 28, sizeof(mask));
  if (mask) g_mxcsr_mask = mask;
  if (!g_xsave) return;
  auto leaf = x86::cpuid(0xd, 0);
  uint64_t supported = (static_cast<uint64_t>(leaf.edx) << 32) | leaf.eax;
  g_mask = supported & kWantedComponents;
  x86::xsetbv(0, g_mask);
  // EBX: the size needed for the components enabled in XCR0.
  g_size = x86::cpuid(0xd, 0).ebx;
}

size_t state_size() { return g_size; }

void init_state(void* area) {
  memset(area, 0, g_size);
  auto* bytes = static_cast<uint8_t*>(area);
  uint16_t fcw = 0x37f;   // x87: all exceptions masked, double-extended precision
  uint32_t mxcsr = 0x1f80;  // SSE: all exceptions masked, round to nearest
  memcpy(bytes + 0, &fcw, sizeof(fcw));
  memcpy(bytes + 24, &mxcsr, sizeof(mxcsr));
}

void save(void* area) {
  if (g_xsave) {
    asm volatile("xsave64 (%0)" : : "r"(area), "a"(static_cast<uint32_t>(g_mask)),
                 "d"(static_cast<uint32_t>(g_mask >> 32)) : "memory");
  } else {
    asm volatile("fxsave64 (%0)" : : "r"(area) : "memory");
  }
}

void restore(const void* area) {
  if (g_xsave) {
    asm volatile("xrstor64 (%0)" : : "r"(area), "a"(static_cast<uint32_t>(g_mask)),
                 "d"(static_cast<uint32_t>(g_mask >> 32)) : "memory");
  } else {
    asm volatile("fxrstor64 (%0)" : : "r"(area) : "memory");
  }
}

bool uses_xsave() { return g_xsave; }
uint64_t enabled_components() { return g_mask; }
uint32_t mxcsr_mask() { return g_mxcsr_mask; }

bool save_checked(void* area) {
  return (g_xsave ? user_access_xsave(area, g_mask) : user_access_fxsave(area)) == 0;
}

bool restore_checked(const void* area) {
  return (g_xsave ? user_access_xrstor(area, g_mask) : user_access_fxrstor(area)) == 0;
}

}  // namespace nimbus::fpu
