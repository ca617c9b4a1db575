// Process and thread identity, limits, and the calls a single-process VM cannot offer.
#include <atomic>
#include <cstring>

#include "kernel/net/kernel_net_stack.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/lib/console.h"
#include "kernel/linux/credentials.h"
#include "kernel/linux/process.h"
#include "kernel/linux/procfs.h"
#include "kernel/linux/resource_limits.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/signals.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/time/clock.h"
#include "kernel/linux/syscalls.h"
#include "kernel/fs/file.h"
#include "kernel/fs/kernel_random.h"
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

Spinlock g_limits_lock;  // every process's limits
constexpr int kCapSysResource = 24;

// prctl options (linux/prctl.h).
constexpr int kPrSetPdeathsig = 1, kPrGetPdeathsig = 2, kPrGetDumpable = 3, kPrSetDumpable = 4;
constexpr int kPrGetKeepcaps = 7, kPrSetKeepcaps = 8, kPrSetName = 15, kPrGetName = 16, kPrGetSeccomp = 21;
constexpr int kPrCapbsetRead = 23, kPrSetTimerslack = 29, kPrGetTimerslack = 30, kPrSetChildSubreaper = 36;
constexpr int kPrGetChildSubreaper = 37, kPrSetNoNewPrivs = 38, kPrGetNoNewPrivs = 39, kPrGetTidAddress = 40;
constexpr int kPrSetThpDisable = 41, kPrGetThpDisable = 42, kPrSetVma = 0x53564d41;
constexpr uint64_t kPrSetVmaAnonName = 0;
constexpr uint64_t kLastCapability = 40;  // CAP_CHECKPOINT_RESTORE
constexpr uint64_t kDefaultTimerSlackNs = 50'000;

std::atomic<int> g_dumpable{1};
std::atomic<uint64_t> g_timer_slack_ns{kDefaultTimerSlackNs};
std::atomic<bool> g_child_subreaper{false};
std::atomic<bool> g_thp_disabled{false};

constexpr int kRusageSelf = 0, kRusageChildren = -1, kRusageThread = 1;

struct Rusage {
  Timeval user;
  Timeval system;
  long max_rss_kb;
  long fields[13];  // ixrss ... nivcsw: not counted
};
static_assert(sizeof(Rusage) == 144);

// The program's file name, for PR_GET_NAME before any PR_SET_NAME (what Linux's comm holds).
void program_name(char* out, size_t size) {
  // The path execve was given (a script's own), as /proc/PID/comm shows.
  const char* path = current_process().info.name ? current_process().info.name : process_executable();
  const char* base = path;
  for (const char* p = path; *p; p++)
    if (*p == '/') base = p + 1;
  size_t n = strlen(base);
  if (n >= size) n = size - 1;
  memcpy(out, base, n);
  out[n] = '\0';
}

}  // namespace

Result<long> sys_exit_group(int status) { exit_process(exited_status(status)); }
Result<long> sys_getpid() { return current_process().pid; }
Result<long> sys_gettid() { return current_linux_thread().tid; }

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
  // hostname= or the DHCP lease's name (default "nimbus"), at most 64 bytes.
  std::string_view host = net::kernel_network_identity().hostname;
  memcpy(name.nodename, host.data(), host.size() < 64 ? host.size() : 64);
  strcpy(name.release, "6.1.0-nimbus");
  strcpy(name.version, "#1 SMP Nimbus unikernel");
  strcpy(name.machine, "x86_64");
  strcpy(name.domainname, "(none)");
  TRY(user::copy_to(buffer, &name, sizeof(name)));
  return 0;
}

Spinlock& resource_limits_lock() { return g_limits_lock; }

uint64_t soft_resource_limit(int resource) {
  // Kernel threads (writeback, the network) act for no process: no limit.
  if (!has_process()) return kRlimInfinity;
  SpinlockGuard guard(g_limits_lock);
  return current_process().limits.limits[resource].current;
}

Result<long> sys_prlimit64(int pid, int resource, const void* new_limit, void* old_limit) {
  if (resource < 0 || resource >= kRlimitCount) return error(Errno::einval);
  if (pid < 0) return error(Errno::einval);
  Rlimit wanted{};
  if (new_limit) {
    wanted = TRY(user::read(static_cast<const Rlimit*>(new_limit)));
    if (wanted.current > wanted.maximum) return error(Errno::einval);
    // No more than fs.nr_open, as Linux.
    if (resource == kRlimitNofile && wanted.maximum > fs::FdTable::kMaxLimit) return error(Errno::eperm);
  }
  Process& self = current_process();
  bool own = pid == 0 || static_cast<uint32_t>(pid) == self.pid;
  Rlimit previous;
  {
    SpinlockGuard tree(process_tree_lock());
    Process* target = own ? &self : find_process_locked(static_cast<uint32_t>(pid));
    if (!target || target->state != ProcessState::alive) return error(Errno::esrch);
    Credentials caller = [] {
      SpinlockGuard guard(credentials_lock());
      return current_process().credentials;
    }();
    bool resource_capable = caller.effective_capabilities & (1ull << kCapSysResource);
    if (!own) {
      // Linux's check_prlimit_permission: the same real, effective and saved ids, or CAP_SYS_RESOURCE.
      SpinlockGuard guard(credentials_lock());
      const Credentials& t = target->credentials;
      bool same = caller.uid == t.uid && caller.uid == t.euid && caller.uid == t.suid && caller.gid == t.gid &&
                  caller.gid == t.egid && caller.gid == t.sgid;
      if (!same && !resource_capable) return error(Errno::eperm);
    }
    SpinlockGuard guard(g_limits_lock);
    previous = target->limits.limits[resource];
    // Raising a hard limit takes CAP_SYS_RESOURCE.
    if (new_limit && wanted.maximum > previous.maximum && !resource_capable) return error(Errno::eperm);
  }
  if (new_limit) {
    // The descriptor table enforces the caller's RLIMIT_NOFILE (another process's is recorded).
    if (own && resource == kRlimitNofile) TRY(file_context().fds().set_limit(wanted.current));
    SpinlockGuard tree(process_tree_lock());
    Process* target = own ? &self : find_process_locked(static_cast<uint32_t>(pid));
    if (!target) return error(Errno::esrch);
    SpinlockGuard guard(g_limits_lock);
    target->limits.limits[resource] = wanted;
  }
  if (old_limit) TRY(user::write(static_cast<Rlimit*>(old_limit), previous));
  return 0;
}

Result<long> sys_getrlimit(int resource, void* limit) { return sys_prlimit64(0, resource, nullptr, limit); }
Result<long> sys_setrlimit(int resource, const void* limit) { return sys_prlimit64(0, resource, limit, nullptr); }

Result<long> sys_get_robust_list(int tid, uint64_t* head, size_t* length) {
  struct Found {
    uint64_t head, length;
  } found{};
  if (tid == 0) {
    found = {current_linux_thread().robust_list, current_linux_thread().robust_list_length};
  } else if (!with_thread(static_cast<uint32_t>(tid),
                          [](LinuxThread& t, void* out) { *static_cast<Found*>(out) = {t.robust_list, t.robust_list_length}; },
                          &found)) {
    return error(Errno::esrch);
  }
  TRY(user::write(head, found.head));
  TRY(user::write(length, static_cast<size_t>(found.length ? found.length : 24)));
  return 0;
}

Result<long> sys_getcpu(uint32_t* cpu, uint32_t* node, void*) {
  uint32_t index = this_cpu().index;  // may be stale by the time the caller looks, as on Linux
  if (cpu) TRY(user::write(cpu, index));
  if (node) TRY(user::write(node, uint32_t{0}));
  return 0;
}

Result<long> sys_sched_yield() {
  scheduler::yield();
  return 0;
}

Result<long> sys_getrandom(void* buffer, size_t length, unsigned flags) {
  // GRND_NONBLOCK (1), GRND_RANDOM (2) and GRND_INSECURE (4), the last two not together.
  if ((flags & ~7u) || (flags & 6u) == 6u) return error(Errno::einval);
  if (length > fs::kMaxIoCount) length = fs::kMaxIoCount;
  // The kernel's generator is seeded before the program starts, so it never blocks. The
  // bytes go through a kernel buffer: the program's memory may fault while being written.
  std::byte chunk[256];
  for (size_t done = 0; done < length;) {
    size_t n = length - done < sizeof(chunk) ? length - done : sizeof(chunk);
    fs::kernel_random().fill({chunk, n});
    TRY(user::copy_to(static_cast<std::byte*>(buffer) + done, chunk, n));
    done += n;
  }
  return static_cast<long>(length);
}

Result<long> sys_prctl(int option, uint64_t arg2, uint64_t arg3, uint64_t arg4, uint64_t arg5) {
  LinuxThread& self = current_linux_thread();
  switch (option) {
    case kPrSetPdeathsig:
      if (arg2 > kSignalCount) return error(Errno::einval);
      self.parent_death_signal = static_cast<int>(arg2);  // sent when the creating thread exits (process_exit.cc)
      return 0;
    case kPrGetPdeathsig:
      TRY(user::write(reinterpret_cast<int*>(arg2), self.parent_death_signal));
      return 0;
    case kPrGetDumpable:
      return g_dumpable.load();
    case kPrSetDumpable:
      if (arg2 > 1) return error(Errno::einval);
      g_dumpable.store(static_cast<int>(arg2));
      return 0;
    case kPrGetKeepcaps:
      return keeps_capabilities();
    case kPrSetKeepcaps:
      if (arg2 > 1) return error(Errno::einval);
      set_keep_capabilities(arg2 != 0);
      return 0;
    case kPrSetName: {
      char name[sizeof(self.name)] = {};
      // Up to 15 bytes and a NUL; a longer name is cut, as on Linux.
      for (size_t i = 0; i + 1 < sizeof(name); i++) {
        name[i] = TRY(user::read(reinterpret_cast<const char*>(arg2) + i));
        if (!name[i]) break;
      }
      memcpy(self.name, name, sizeof(name));
      return 0;
    }
    case kPrGetName: {
      char name[sizeof(self.name)] = {};
      if (self.name[0]) memcpy(name, self.name, sizeof(name));
      else program_name(name, sizeof(name));
      TRY(user::copy_to(reinterpret_cast<void*>(arg2), name, sizeof(name)));
      return 0;
    }
    case kPrGetSeccomp:
      return 0;
    case kPrCapbsetRead:
      if (arg2 > kLastCapability) return error(Errno::einval);
      return 1;  // every capability is in the bounding set
    case kPrSetTimerslack:
      g_timer_slack_ns.store(arg2 ? arg2 : kDefaultTimerSlackNs);  // recorded; timers do not batch
      return 0;
    case kPrGetTimerslack:
      return static_cast<long>(g_timer_slack_ns.load());
    case kPrSetChildSubreaper:
      g_child_subreaper.store(arg2 != 0);
      return 0;
    case kPrGetChildSubreaper:
      TRY(user::write(reinterpret_cast<int*>(arg2), static_cast<int>(g_child_subreaper.load())));
      return 0;
    case kPrSetNoNewPrivs:
      if (arg2 != 1 || arg3 || arg4 || arg5) return error(Errno::einval);
      current_process().no_new_privileges.store(true);
      return 0;
    case kPrGetNoNewPrivs:
      if (arg2 || arg3 || arg4 || arg5) return error(Errno::einval);
      return current_process().no_new_privileges.load();
    case kPrGetThpDisable:
      return g_thp_disabled.load();
    case kPrSetThpDisable:
      g_thp_disabled.store(arg2 != 0);
      return 0;
    case kPrGetTidAddress:
      TRY(user::write(reinterpret_cast<uint64_t*>(arg2), self.clear_child_tid));
      return 0;
    case kPrSetVma:
      // Only naming anonymous mappings exists; names are accepted and not shown in maps.
      if (arg2 != kPrSetVmaAnonName) return error(Errno::einval);
      return 0;
    default:
      return error(Errno::einval);
  }
}

Result<long> sys_getrusage(int who, void* usage) {
  uint64_t cpu_ns;
  switch (who) {
    case kRusageSelf: cpu_ns = process_cpu_time_ns(); break;
    case kRusageThread: cpu_ns = current_thread()->cpu_time(); break;
    case kRusageChildren: {
      SpinlockGuard guard(process_tree_lock());
      cpu_ns = current_process().children_cpu_time_ns;
      break;
    }
    default: return error(Errno::einval);
  }
  // Everything runs in ring 0 without a user/kernel split: all CPU time counts as user time.
  Rusage result{};
  result.user = Timeval{static_cast<int64_t>(cpu_ns / 1'000'000'000), static_cast<int64_t>(cpu_ns % 1'000'000'000 / 1000)};
  if (who != kRusageChildren) result.max_rss_kb = static_cast<long>((frames::total_bytes() - frames::free_bytes()) >> 10);
  TRY(user::write(static_cast<Rusage*>(usage), result));
  return 0;
}

Result<long> sys_times(void* buffer) {
  // clock_t in AT_CLKTCK (100 Hz) ticks.
  constexpr uint64_t kNsPerTick = 10'000'000;
  if (buffer) {
    uint64_t children_ns;
    {
      SpinlockGuard guard(process_tree_lock());
      children_ns = current_process().children_cpu_time_ns;
    }
    int64_t times[4] = {static_cast<int64_t>(process_cpu_time_ns() / kNsPerTick), 0,
                        static_cast<int64_t>(children_ns / kNsPerTick), 0};
    TRY(user::copy_to(buffer, times, sizeof(times)));
  }
  return static_cast<long>(clock::monotonic_ns() / kNsPerTick);
}

Result<long> sys_sysinfo(void* buffer) {
  struct SysInfo {
    int64_t uptime;
    uint64_t loads[3];
    uint64_t total_ram, free_ram, shared_ram, buffer_ram, total_swap, free_swap;
    uint16_t procs;
    uint16_t pad;
    uint32_t pad2;
    uint64_t total_high, free_high;
    uint32_t mem_unit;
    char reserved[4];
  } info{};
  static_assert(sizeof(SysInfo) == 112);
  info.uptime = static_cast<int64_t>(clock::monotonic_ns() / 1'000'000'000);
  info.total_ram = frames::total_bytes();
  info.free_ram = frames::free_bytes();
  size_t processes = 0;
  with_processes([](Process&, void* count) { ++*static_cast<size_t*>(count); }, &processes);
  info.procs = static_cast<uint16_t>(processes);
  info.mem_unit = 1;
  TRY(user::write(static_cast<SysInfo*>(buffer), info));
  return 0;
}

}  // namespace nimbus::linux
