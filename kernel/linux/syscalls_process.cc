// Process and thread identity, limits, and the calls a single-process VM cannot offer.
#include <cstring>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/lib/console.h"
#include "kernel/linux/process.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::linux {
namespace {

constexpr int kArchSetGs = 0x1001;
constexpr int kArchSetFs = 0x1002;
constexpr int kArchGetFs = 0x1003;
constexpr int kArchGetGs = 0x1004;

constexpr int kRlimitCount = 16;
constexpr uint64_t kInfinity = ~0ull;

struct Rlimit {
  uint64_t current;
  uint64_t maximum;
};

Spinlock g_limits_lock;
Rlimit g_limits[kRlimitCount] = {
    {kInfinity, kInfinity}, {kInfinity, kInfinity}, {kInfinity, kInfinity}, {8ull << 20, kInfinity},
    {0, kInfinity},         {kInfinity, kInfinity}, {kInfinity, kInfinity}, {1024, 1024 * 1024},
    {8ull << 20, 8ull << 20}, {kInfinity, kInfinity}, {kInfinity, kInfinity}, {kInfinity, kInfinity},
    {819200, 819200},       {0, 0},                 {0, 0},                 {kInfinity, kInfinity},
};

// Says once, on the console, that something a program asked for cannot exist here.
void say_once(bool& said, const char* what) {
  if (said) return;
  said = true;
  print("nimbus: %s: a Nimbus VM runs one process (returning an error)\n", what);
}

}  // namespace

Result<long> sys_exit_group(int status) { exit_process(status & 0xff); }
Result<long> sys_getpid() { return kPid; }
Result<long> sys_gettid() { return current_linux_thread().tid; }
Result<long> sys_getppid() { return 0; }
Result<long> sys_getuid() { return 0; }
Result<long> sys_geteuid() { return 0; }
Result<long> sys_getgid() { return 0; }
Result<long> sys_getegid() { return 0; }

Result<long> sys_arch_prctl(int code, uint64_t address) {
  switch (code) {
    case kArchSetFs:
      if (address >= AddressSpace::kEnd) return error(Errno::eperm);
      current_thread()->fs_base = address;
      x86::wrmsr(x86::msr::kFsBase, address);
      return 0;
    case kArchGetFs:
      TRY(user::write(reinterpret_cast<uint64_t*>(address), current_thread()->fs_base));
      return 0;
    case kArchGetGs:
      TRY(user::write(reinterpret_cast<uint64_t*>(address), uint64_t{0}));
      return 0;
    case kArchSetGs:
      // The kernel keeps its per-CPU pointer in GS; programs on Linux x86-64 leave GS alone.
      return error(Errno::einval);
    default:
      return error(Errno::einval);
  }
}

Result<long> sys_set_tid_address(int* address) {
  current_linux_thread().clear_child_tid = reinterpret_cast<uint64_t>(address);
  return current_linux_thread().tid;
}

Result<long> sys_set_robust_list(void* head, size_t length) {
  if (length != 24) return error(Errno::einval);  // sizeof(struct robust_list_head)
  current_linux_thread().robust_list = reinterpret_cast<uint64_t>(head);
  current_linux_thread().robust_list_length = length;
  return 0;
}

Result<long> sys_uname(void* buffer) {
  struct Utsname {
    char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
  } name{};
  strcpy(name.sysname, "Linux");  // what programs check; the release says what this is
  strcpy(name.nodename, "nimbus");
  strcpy(name.release, "6.1.0-nimbus");
  strcpy(name.version, "#1 SMP Nimbus unikernel");
  strcpy(name.machine, "x86_64");
  strcpy(name.domainname, "(none)");
  TRY(user::copy_to(buffer, &name, sizeof(name)));
  return 0;
}

Result<long> sys_prlimit64(int pid, int resource, const void* new_limit, void* old_limit) {
  if (pid != 0 && pid != static_cast<int>(kPid)) return error(Errno::esrch);
  if (resource < 0 || resource >= kRlimitCount) return error(Errno::einval);
  Rlimit wanted{};
  if (new_limit) {
    wanted = TRY(user::read(static_cast<const Rlimit*>(new_limit)));
    if (wanted.current > wanted.maximum) return error(Errno::einval);
  }
  Rlimit previous;
  {
    SpinlockGuard guard(g_limits_lock);
    previous = g_limits[resource];
    if (new_limit) g_limits[resource] = wanted;
  }
  if (old_limit) TRY(user::write(static_cast<Rlimit*>(old_limit), previous));
  return 0;
}

Result<long> sys_getrlimit(int resource, void* limit) { return sys_prlimit64(0, resource, nullptr, limit); }

Result<long> sys_sched_yield() {
  scheduler::yield();
  return 0;
}

Result<long> sys_sched_getaffinity(int pid, size_t size, void* mask) {
  if (pid != 0 && pid != static_cast<int>(kPid)) return error(Errno::esrch);
  size_t count = cpus::count();
  size_t bytes = (count + 63) / 64 * 8;
  if (size < bytes || (size & 7)) return error(Errno::einval);
  uint64_t words[cpus::kMax / 64] = {};
  for (size_t i = 0; i < count; i++) words[i / 64] |= 1ull << (i % 64);
  TRY(user::copy_to(mask, words, bytes));
  return static_cast<long>(bytes);
}

Result<long> sys_getrandom(void* buffer, size_t length, unsigned flags) {
  if (flags & ~7u) return error(Errno::einval);
  if (!user::writable(buffer, length)) return error(Errno::efault);
  auto* out = static_cast<uint8_t*>(buffer);
  bool rdrand = x86::cpuid(1).ecx & (1u << 30);
  static uint64_t state = x86::rdtsc() | 1;
  for (size_t i = 0; i < length; i += 8) {
    uint64_t value;
    if (rdrand) {
      asm volatile("1: rdrand %0; jnc 1b" : "=r"(value));
    } else {
      // xorshift64*: only where the CPU lacks RDRAND (not on any x86-64 host QEMU offers with -cpu max/host).
      state ^= state >> 12;
      state ^= state << 25;
      state ^= state >> 27;
      value = state * 0x2545f4914f6cdd1dull ^ x86::rdtsc();
    }
    size_t n = length - i < 8 ? length - i : 8;
    memcpy(out + i, &value, n);
  }
  return static_cast<long>(length);
}

Result<long> sys_fork() {
  static bool said = false;
  say_once(said, "fork");
  return error(Errno::enosys);
}

Result<long> sys_vfork() {
  static bool said = false;
  say_once(said, "vfork");
  return error(Errno::enosys);
}

Result<long> sys_execve(const char*, const void*, const void*) {
  static bool said = false;
  say_once(said, "execve");
  return error(Errno::enosys);
}

}  // namespace nimbus::linux
