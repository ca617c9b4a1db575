// /proc and /sys contents (proc(5); sysfs for CPU topology).
#include "kernel/net/kernel_net_stack.h"
#include "kernel/linux/procfs.h"

#include <cstring>
#include <initializer_list>
#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/fs/fs.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/process.h"
#include "kernel/linux/procfs_net.h"
#include "kernel/fs/page_cache.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/heap.h"
#include "kernel/sched/cpu.h"
#include "kernel/time/clock.h"

namespace nimbus::linux {
namespace {

using Kind = SyntheticEntry::Kind;
constexpr uint64_t kProcMagic = 0x9fa0;
constexpr uint64_t kSysfsMagic = 0x62656572;

DynamicDirectory g_fd_directory{
    [](uint32_t, void (*)(std::string_view, void*), void*) {},
    [](uint32_t, std::string_view, TextBuffer&) { return false; },
};

void cpu_range(TextBuffer& out) { out.format("0-%zu\n", cpus::count() - 1); }

void uptime(TextBuffer& out) {
  uint64_t cs = clock::monotonic_ns() / 10'000'000;
  out.format("%lu.%02lu %lu.%02lu\n", cs / 100, cs % 100, cs / 100, cs % 100);
}

void loadavg(TextBuffer& out) {
  uint32_t count = 0;
  with_processes([](Process&, void* c) { ++*static_cast<uint32_t*>(c); }, &count);
  out.format("0.00 0.00 0.00 1/%u %u\n", count, current_process().pid);
}

void meminfo(TextBuffer& out) {
  uint64_t total = frames::total_bytes() >> 10, free = frames::free_bytes() >> 10;
  // The page cache gives its pages back on demand: available, as on Linux.
  uint64_t cached = fs::page_cache_statistics().pages * 4;
  out.format("MemTotal:       %8lu kB\nMemFree:        %8lu kB\nMemAvailable:   %8lu kB\n", total, free, free + cached);
  out.format("Buffers:        %8u kB\nCached:         %8lu kB\n", 0u, cached);
  for (const char* name : {"SwapCached", "Active", "Inactive", "SwapTotal", "SwapFree", "Dirty",
                           "Writeback", "Shmem", "Slab", "HugePages_Total", "HugePages_Free"})
    out.format("%s:%*s%8u kB\n", name, static_cast<int>(15 - strlen(name)), "", 0u);
  out.format("Hugepagesize:       2048 kB\n");
}

void stat(TextBuffer& out) {
  uint64_t boot = (clock::wall_ns() - clock::monotonic_ns()) / 1'000'000'000;
  out.format("cpu  0 0 0 0 0 0 0 0 0 0\n");
  for (size_t i = 0; i < cpus::count(); i++) out.format("cpu%zu 0 0 0 0 0 0 0 0 0 0\n", i);
  out.format("intr 0\nctxt 0\nbtime %lu\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n", boot);
}

void cpuinfo(TextBuffer& out) {
  char brand[49] = {};
  for (uint32_t i = 0; i < 3; i++) {
    auto r = x86::cpuid(0x80000002 + i);
    memcpy(brand + 16 * i, &r, 16);
  }
  char vendor[13] = {};
  auto v = x86::cpuid(0);
  memcpy(vendor, &v.ebx, 4);
  memcpy(vendor + 4, &v.edx, 4);
  memcpy(vendor + 8, &v.ecx, 4);
  auto leaf1 = x86::cpuid(1);
  uint32_t family = (leaf1.eax >> 8) & 0xf, model = (leaf1.eax >> 4) & 0xf;
  if (family == 0xf) family += (leaf1.eax >> 20) & 0xff;
  if (family >= 6) model |= ((leaf1.eax >> 16) & 0xf) << 4;
  uint64_t khz = clock::tsc_khz();
  struct Flag {
    const char* name;
    uint32_t leaf;
    char reg;
    int bit;
  };
  static constexpr Flag kFlags[] = {
      {"fpu", 1, 'd', 0},    {"tsc", 1, 'd', 4},       {"msr", 1, 'd', 5},     {"cx8", 1, 'd', 8},
      {"apic", 1, 'd', 9},   {"cmov", 1, 'd', 15},     {"clflush", 1, 'd', 19}, {"mmx", 1, 'd', 23},
      {"fxsr", 1, 'd', 24},  {"sse", 1, 'd', 25},      {"sse2", 1, 'd', 26},   {"pni", 1, 'c', 0},
      {"pclmulqdq", 1, 'c', 1}, {"ssse3", 1, 'c', 9},  {"fma", 1, 'c', 12},    {"cx16", 1, 'c', 13},
      {"sse4_1", 1, 'c', 19}, {"sse4_2", 1, 'c', 20},  {"x2apic", 1, 'c', 21}, {"movbe", 1, 'c', 22},
      {"popcnt", 1, 'c', 23}, {"aes", 1, 'c', 25},     {"xsave", 1, 'c', 26},  {"avx", 1, 'c', 28},
      {"f16c", 1, 'c', 29},  {"rdrand", 1, 'c', 30},   {"hypervisor", 1, 'c', 31}, {"fsgsbase", 7, 'b', 0},
      {"bmi1", 7, 'b', 3},   {"avx2", 7, 'b', 5},      {"bmi2", 7, 'b', 8},    {"erms", 7, 'b', 9},
      {"avx512f", 7, 'b', 16}, {"rdseed", 7, 'b', 18}, {"adx", 7, 'b', 19},    {"sha_ni", 7, 'b', 29},
  };
  for (size_t cpu = 0; cpu < cpus::count(); cpu++) {
    out.format("processor\t: %zu\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\nmodel name\t: %s\n", cpu,
               vendor, family, model, brand[0] ? brand : "QEMU Virtual CPU");
    out.format("stepping\t: %u\ncpu MHz\t\t: %lu.%03lu\ncache size\t: 16384 KB\nphysical id\t: 0\n", leaf1.eax & 0xf,
               khz / 1000, khz % 1000);
    out.format("siblings\t: %zu\ncore id\t\t: %zu\ncpu cores\t: %zu\napicid\t\t: %u\nfpu\t\t: yes\nflags\t\t:",
               cpus::count(), cpu, cpus::count(), cpus::get(cpu).apic_id);
    for (const Flag& f : kFlags) {
      auto r = x86::cpuid(f.leaf, 0);
      uint32_t value = f.reg == 'b' ? r.ebx : f.reg == 'c' ? r.ecx : r.edx;
      if (value & (1u << f.bit)) out.format(" %s", f.name);
    }
    out.format("\nbogomips\t: %lu.00\nclflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 40 bits physical, 48 bits virtual\n\n",
               khz / 500);
  }
}

// What /proc/PID shows of a process, copied under the tree lock: its address space and
// program strings are held while the view lives, so the process may end meanwhile.
struct ProcessView {
  bool found = false;
  bool zombie = false;
  bool stopped = false;
  Credentials credentials;
  uint32_t pid = 0, ppid = 0, pgid = 0, sid = 0, threads = 0;
  AddressSpace* space = nullptr;     // nullptr once the process has ended
  ProgramStrings* strings = nullptr;
  ProcessInfo info;

  explicit ProcessView(uint32_t subject) {
    SpinlockGuard guard(process_tree_lock());
    Process* p = find_process_locked(subject);
    if (!p) return;
    found = true;
    zombie = p->state == ProcessState::zombie;
    stopped = p->stopped.load();
    {
      SpinlockGuard credentials_guard(credentials_lock());
      credentials = p->credentials;
    }
    pid = p->pid;
    ppid = p->parent ? p->parent->pid : 0;
    pgid = p->pgid;
    sid = p->sid;
    threads = p->live_threads.load(std::memory_order_relaxed);
    info = p->info;
    if ((space = p->space)) space->retain();
    if ((strings = p->strings)) strings->retain();
  }
  ~ProcessView() {
    if (space) space->release();
    if (strings) strings->release();
  }
  ProcessView(const ProcessView&) = delete;
  ProcessView& operator=(const ProcessView&) = delete;
  // Linux's /proc/PID/stat state letter.
  char state() const { return zombie ? 'Z' : stopped ? 'T' : 'R'; }
  uint64_t resident_bytes() const { return space ? space->resident_bytes() : 0; }
  // comm: the last part of the path it was executed by (Linux's bprm->filename).
  const char* name() const;
};

bool process_exists(uint32_t pid) {
  SpinlockGuard guard(process_tree_lock());
  return find_process_locked(pid) != nullptr;
}

// Every process's number, collected first: the listing may write to program memory, which
// must not happen under the tree lock.
void list_processes(void (*add)(uint32_t, void*), void* context) {
  size_t count = 0;
  with_processes([](Process&, void* c) { ++*static_cast<size_t*>(c); }, &count);
  count += 16;  // room for processes made meanwhile (more are left out)
  auto* pids = static_cast<uint32_t*>(heap::allocate(count * sizeof(uint32_t), alignof(uint32_t)));
  if (!pids) return;
  struct Collect {
    uint32_t* pids;
    size_t capacity, n;
  } collect{pids, count, 0};
  with_processes(
      [](Process& p, void* c) {
        auto* out = static_cast<Collect*>(c);
        if (out->n < out->capacity) out->pids[out->n++] = p.pid;
      },
      &collect);
  for (size_t i = 0; i < collect.n; i++) add(pids[i], context);
  heap::free(pids);
}

const char* base_name(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

const char* ProcessView::name() const { return base_name(info.name ? info.name : info.executable); }

// /proc/PID/exe: the executable's path; a process that has ended has none (ENOENT on Linux;
// an empty target here).
void exe(TextBuffer& out, uint32_t pid) {
  ProcessView view(pid);
  if (view.found && !view.zombie) out.append(view.info.executable);
}
// /proc/self and /proc/thread-self: the caller's own number.
void self(TextBuffer& out) { out.format("%u", current_process().pid); }
void root_link(TextBuffer& out) { out.append("/"); }

void strings(TextBuffer& out, const char* const* list) {
  for (; list && *list; list++) out.append(std::string_view(*list, strlen(*list) + 1));
}
void cmdline(TextBuffer& out, uint32_t pid) {
  ProcessView view(pid);
  if (view.found && !view.zombie) strings(out, view.info.argv);
}
void environ(TextBuffer& out, uint32_t pid) {
  ProcessView view(pid);
  if (view.found && !view.zombie) strings(out, view.info.envp);
}

void comm(TextBuffer& out, uint32_t pid) {
  ProcessView view(pid);
  out.format("%.15s\n", view.name());
}

void maps(TextBuffer& out, uint32_t pid) {
  ProcessView view(pid);
  if (!view.space) return;
  const ProcessInfo& info = view.info;
  uintptr_t heap_end = view.space->current_break();
  view.space->for_each_vma([&](const Vma& v) {
    const char* name = "";
    if (v.begin >= info.stack_begin && v.end <= info.stack_end) name = "[stack]";
    else if (v.begin == info.vdso_begin) name = "[vvar]";
    else if (v.begin > info.vdso_begin && v.end <= info.vdso_end) name = "[vdso]";
    else if (!v.file && v.begin >= info.heap_begin && v.end <= ((heap_end + 4095) & ~uintptr_t{4095})) name = "[heap]";
    else if (v.file && v.file->path()) name = v.file->path();
    out.format("%08lx-%08lx %c%c%c%c %08lx 00:00 0", v.begin, v.end, v.prot & prot::kRead ? 'r' : '-',
               v.prot & prot::kWrite ? 'w' : '-', v.prot & prot::kExec ? 'x' : '-', v.shared ? 's' : 'p',
               v.file ? v.file_offset : 0);
    if (*name) out.format("%26s%s", "", name);
    out.append("\n");
  });
  // The legacy vsyscall page, emulated execute-only (page_fault.cc), as Linux lists it.
  out.format("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0%26s[vsyscall]\n", "");
}

void status(TextBuffer& out, uint32_t pid) {
  ProcessView view(pid);
  uint64_t rss_kb = view.resident_bytes() >> 10;
  out.format("Name:\t%.15s\nUmask:\t0022\nState:\t%s\nTgid:\t%u\nNgid:\t0\nPid:\t%u\nPPid:\t%u\nTracerPid:\t0\n",
             view.name(), view.zombie ? "Z (zombie)" : view.stopped ? "T (stopped)" : "R (running)", view.pid, view.pid,
             view.ppid);
  const Credentials& c = view.credentials;
  out.format("Uid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\nFDSize:\t64\nGroups:\t", c.uid, c.euid, c.suid,
             c.fsuid, c.gid, c.egid, c.sgid, c.fsgid);
  for (uint32_t i = 0; i < c.group_count; i++) out.format("%u ", c.groups[i]);
  out.append("\n");
  if (view.space) {
    out.format("VmPeak:\t%8lu kB\nVmSize:\t%8lu kB\nVmLck:\t%8lu kB\nVmRSS:\t%8lu kB\n", rss_kb, rss_kb,
               view.space->locked_bytes() >> 10, rss_kb);
  }
  out.format("Threads:\t%u\nSigQ:\t0/0\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n", view.threads);
  out.format("Cpus_allowed_list:\t0-%zu\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n",
             cpus::count() - 1);
}

void process_stat(TextBuffer& out, uint32_t pid) {
  ProcessView view(pid);
  uint64_t rss_pages = view.resident_bytes() / 4096;
  out.format("%u (%.15s) %c %u %u %u 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 %u 0 0 %lu %lu 18446744073709551615 ",
             view.pid, view.name(), view.state(), view.ppid, view.pgid, view.sid, view.threads,
             rss_pages * 4096, rss_pages);
  out.format("0 0 %lu 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", view.info.stack_end);
}

// /proc/PID/limits, in Linux's columns (fs/proc/base.c's proc_pid_limits).
void limits(TextBuffer& out, uint32_t pid) {
  struct Name {
    const char* name;
    const char* unit;
  };
  static constexpr Name kNames[kRlimitCount] = {
      {"Max cpu time", "seconds"},   {"Max file size", "bytes"},      {"Max data size", "bytes"},
      {"Max stack size", "bytes"},   {"Max core file size", "bytes"}, {"Max resident set", "bytes"},
      {"Max processes", "processes"}, {"Max open files", "files"},    {"Max locked memory", "bytes"},
      {"Max address space", "bytes"}, {"Max file locks", "locks"},    {"Max pending signals", "signals"},
      {"Max msgqueue size", "bytes"}, {"Max nice priority", nullptr}, {"Max realtime priority", nullptr},
      {"Max realtime timeout", "us"},
  };
  ResourceLimits copy;
  {
    SpinlockGuard guard(process_tree_lock());
    Process* p = find_process_locked(pid);
    if (!p) return;
    SpinlockGuard limits_guard(resource_limits_lock());
    copy = p->limits;
  }
  out.format("%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units");
  for (int i = 0; i < kRlimitCount; i++) {
    out.format("%-25s ", kNames[i].name);
    for (uint64_t value : {copy.limits[i].current, copy.limits[i].maximum}) {
      if (value == kRlimInfinity) out.format("%-20s ", "unlimited");
      else out.format("%-20lu ", value);
    }
    if (kNames[i].unit) out.format("%-10s", kNames[i].unit);
    out.append("\n");
  }
}

void statm(TextBuffer& out, uint32_t pid) {
  ProcessView view(pid);
  uint64_t pages = view.resident_bytes() / 4096;
  out.format("%lu %lu 0 0 0 %lu 0\n", pages, pages, pages);
}

void osrelease(TextBuffer& out) { out.append("6.1.0-nimbus\n"); }
void ostype(TextBuffer& out) { out.append("Linux\n"); }
void hostname(TextBuffer& out) {
  std::string_view host = net::kernel_network_identity().hostname;
  out.format("%.*s\n", static_cast<int>(host.size()), host.data());
}
void version(TextBuffer& out) { out.append("Linux version 6.1.0-nimbus (Nimbus unikernel) #1 SMP\n"); }
void pid_max(TextBuffer& out) { out.append("4194304\n"); }
void overcommit(TextBuffer& out) { out.append("0\n"); }
void mounts(TextBuffer& out) {
  out.append("ramfs / ramfs rw 0 0\nproc /proc proc rw 0 0\nsysfs /sys sysfs ro 0 0\ndevfs /dev devtmpfs rw 0 0\n");
}

// /proc/self/mountinfo (what GNU df and findmnt read): the same mounts, with their ids, parents
// and device numbers (every file system here is an anonymous one: major 0).
void mountinfo(TextBuffer& out) {
  struct Mount {
    const char* path;
    const char* type;
    const char* source;
    const char* options;
  };
  constexpr Mount kMounts[] = {{"/", "ramfs", "ramfs", "rw"},
                               {"/proc", "proc", "proc", "rw"},
                               {"/sys", "sysfs", "sysfs", "ro"},
                               {"/dev", "devtmpfs", "devfs", "rw"}};
  constexpr int kRootId = 20;
  int id = kRootId;
  for (const Mount& m : kMounts) {
    auto s = fs::stat(file_context(), fs::linux_abi::at_fdcwd, m.path, 0);
    if (!s) continue;
    out.format("%d %d 0:%u / %s %s,relatime - %s %s %s\n", id, id == kRootId ? 1 : kRootId, s->dev_minor, m.path,
               m.options, m.type, m.source, m.options);
    id++;
  }
}

// /proc/PID's entries, each made for that process (the subject).
constexpr SyntheticEntry for_process(std::string_view name, Kind kind, void (*generate)(TextBuffer&, uint32_t)) {
  return {name, kind, nullptr, nullptr, nullptr, generate};
}
constexpr SyntheticEntry kProcess[] = {
    for_process("exe", Kind::symlink, exe),
    {"cwd", Kind::symlink, root_link},
    {"root", Kind::symlink, root_link},
    for_process("cmdline", Kind::file, cmdline),
    for_process("environ", Kind::file, environ),
    for_process("comm", Kind::file, comm),
    for_process("maps", Kind::file, maps),
    for_process("stat", Kind::file, process_stat),
    for_process("limits", Kind::file, limits),
    for_process("statm", Kind::file, statm),
    for_process("status", Kind::file, status),
    {"mounts", Kind::file, mounts},
    {"mountinfo", Kind::file, mountinfo},
    {"net", Kind::directory, nullptr, proc_net_entries},
    {"fd", Kind::dynamic_directory, nullptr, nullptr, &g_fd_directory},
};
constexpr SyntheticEntry kKernel[] = {
    {"osrelease", Kind::file, osrelease}, {"ostype", Kind::file, ostype}, {"hostname", Kind::file, hostname},
    {"pid_max", Kind::file, pid_max},
};
constexpr SyntheticEntry kVm[] = {{"overcommit_memory", Kind::file, overcommit}};
constexpr SyntheticEntry kSys[] = {
    {"kernel", Kind::directory, nullptr, [] { return std::span<const SyntheticEntry>(kKernel); }},
    {"vm", Kind::directory, nullptr, [] { return std::span<const SyntheticEntry>(kVm); }},
    {"net", Kind::directory, nullptr, proc_sys_net_entries},
};
std::span<const SyntheticEntry> process_entries() { return kProcess; }
constexpr NumberedDirectories kProcesses{process_exists, list_processes, process_entries};
constexpr SyntheticEntry kProcRoot[] = {
    {"self", Kind::symlink, self},
    {"thread-self", Kind::symlink, self},
    {"cpuinfo", Kind::file, cpuinfo},
    {"meminfo", Kind::file, meminfo},
    {"stat", Kind::file, stat},
    {"uptime", Kind::file, uptime},
    {"loadavg", Kind::file, loadavg},
    {"version", Kind::file, version},
    {"mounts", Kind::file, mounts},
    {"sys", Kind::directory, nullptr, [] { return std::span<const SyntheticEntry>(kSys); }},
    {"net", Kind::directory, nullptr, proc_net_entries},
    // Listed after the fixed names, as Linux lists them.
    {"", Kind::numbered_directories, nullptr, nullptr, nullptr, nullptr, &kProcesses},
};

constexpr SyntheticEntry kCpu[] = {
    {"online", Kind::file, cpu_range}, {"possible", Kind::file, cpu_range}, {"present", Kind::file, cpu_range},
};
constexpr SyntheticEntry kSystem[] = {{"cpu", Kind::directory, nullptr, [] { return std::span<const SyntheticEntry>(kCpu); }}};
constexpr SyntheticEntry kDevices[] = {
    {"system", Kind::directory, nullptr, [] { return std::span<const SyntheticEntry>(kSystem); }}};
constexpr SyntheticEntry kSysRoot[] = {
    {"devices", Kind::directory, nullptr, [] { return std::span<const SyntheticEntry>(kDevices); }}};

}  // namespace

const char* process_executable() { return current_process().info.executable; }

void set_fd_directory(const DynamicDirectory& directory) { g_fd_directory = directory; }

SyntheticFs* make_procfs(fs::ClockFunction clock) {
  return new (std::nothrow) SyntheticFs(clock, kProcMagic, [] { return std::span<const SyntheticEntry>(kProcRoot); });
}

SyntheticFs* make_sysfs(fs::ClockFunction clock) {
  return new (std::nothrow) SyntheticFs(clock, kSysfsMagic, [] { return std::span<const SyntheticEntry>(kSysRoot); });
}

}  // namespace nimbus::linux
