// Enables the `syscall` instruction on this CPU and points it at syscall_entry.
#include "kernel/arch/x86_64/syscall_msrs.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/descriptors.h"

extern "C" char syscall_entry[];

namespace nimbus::x86 {
namespace {
constexpr uint32_t kStar = 0xc0000081;
constexpr uint32_t kLstar = 0xc0000082;
constexpr uint32_t kFmask = 0xc0000084;
constexpr uint64_t kEferSyscallEnable = 1;
// Cleared on entry: interrupts (until the frame is saved), direction, trap, alignment
// check, nested task.
constexpr uint64_t kMaskedFlags = (1u << 9) | (1u << 10) | (1u << 8) | (1u << 18) | (1u << 14);
}  // namespace

void enable_syscall_instruction() {
  wrmsr(msr::kEfer, rdmsr(msr::kEfer) | kEferSyscallEnable);
  // STAR[47:32]: CS on entry (SS = CS + 8). The return selectors (63:48) are for sysret,
  // which Nimbus never uses.
  wrmsr(kStar, static_cast<uint64_t>(kKernelCode) << 32);
  wrmsr(kLstar, reinterpret_cast<uint64_t>(syscall_entry));
  wrmsr(kFmask, kMaskedFlags);
}

void set_cpu_number(uint32_t index) {
  // IA32_TSC_AUX: what rdtscp returns in %ecx, which the vDSO's getcpu reads.
  if (cpuid(0x80000001).edx & (1u << 27)) wrmsr(0xc0000103, index);
}

}  // namespace nimbus::x86
