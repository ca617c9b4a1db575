// /proc and /sys contents (proc(5); sysfs for CPU topology).
#include "kernel/net/kernel_net_stack.h"
#include "kernel/linux/procfs.h"

#include <cstring>
#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/fs/fs.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/process.h"
#include "kernel/linux/procfs_net.h"
#include "kernel/fs/page_cache.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/sched/cpu.h"
#include "kernel/time/clock.h"

namespace nimbus::linux {
namespace {

using Kind = SyntheticEntry::Kind;
constexpr uint64_t kProcMagic = 0x9fa0;
constexpr uint64_t kSysfsMagic = 0x62656572;

// /proc/self and /proc/1 show the caller's process.
const ProcessInfo& own_info() { return current_process().info; }
DynamicDirectory g_fd_directory{
    [](void (*)(std::string_view, void*), void*) {},
    [](std::string_view, TextBuffer&) { return false; },
};

void cpu_range(TextBuffer& out) { out.format("0-%zu\n", cpus::count() - 1); }

void uptime(TextBuffer& out) {
  uint64_t cs = clock::monotonic_ns() / 10'000'000;
  out.format("%lu.%02lu %lu.%02lu\n", cs / 100, cs % 100, cs / 100, cs % 100);
}

void loadavg(TextBuffer& out) { out.format("0.00 0.00 0.00 1/%u %u\n", 1, current_process().pid); }

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

void exe(TextBuffer& out) { out.append(own_info().executable); }
// Every process's own entries are under "1" (the caller's, whichever it is).
void self(TextBuffer& out) { out.append("1"); }
void root_link(TextBuffer& out) { out.append("/"); }

void strings(TextBuffer& out, const char* const* list) {
  for (; list && *list; list++) out.append(std::string_view(*list, strlen(*list) + 1));
}
void cmdline(TextBuffer& out) { strings(out, own_info().argv); }
void environ(TextBuffer& out) { strings(out, own_info().envp); }

const char* base_name(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}
void comm(TextBuffer& out) { out.format("%.15s\n", base_name(own_info().executable)); }

uint32_t parent_pid() {
  SpinlockGuard guard(process_tree_lock());
  Process* parent = current_process().parent;
  return parent ? parent->pid : 0;
}

uint64_t thread_count() {
  uint64_t n = 0;
  with_threads([](LinuxThread&, void* c) { ++*static_cast<uint64_t*>(c); }, &n);
  return n;
}

void maps(TextBuffer& out) {
  uintptr_t heap_end = address_space().current_break();
  address_space().for_each_vma([&](const Vma& v) {
    const char* name = "";
    if (v.begin >= own_info().stack_begin && v.end <= own_info().stack_end) name = "[stack]";
    else if (v.begin == own_info().vdso_begin) name = "[vvar]";
    else if (v.begin > own_info().vdso_begin && v.end <= own_info().vdso_end) name = "[vdso]";
    else if (!v.file && v.begin >= own_info().heap_begin && v.end <= ((heap_end + 4095) & ~uintptr_t{4095})) name = "[heap]";
    else if (v.file && v.file->path()) name = v.file->path();
    out.format("%08lx-%08lx %c%c%c%c %08lx 00:00 0", v.begin, v.end, v.prot & prot::kRead ? 'r' : '-',
               v.prot & prot::kWrite ? 'w' : '-', v.prot & prot::kExec ? 'x' : '-', v.shared ? 's' : 'p',
               v.file ? v.file_offset : 0);
    if (*name) out.format("%26s%s", "", name);
    out.append("\n");
  });
}

void status(TextBuffer& out) {
  uint64_t rss_kb = address_space().resident_bytes() >> 10;
  out.format("Name:\t%.15s\nUmask:\t0022\nState:\tR (running)\nTgid:\t%u\nNgid:\t0\nPid:\t%u\nPPid:\t%u\nTracerPid:\t0\n",
             base_name(own_info().executable), current_process().pid, current_process().pid, parent_pid());
  out.format("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\nVmPeak:\t%8lu kB\nVmSize:\t%8lu kB\n", rss_kb,
             rss_kb);
  out.format("VmLck:\t%8lu kB\n", address_space().locked_bytes() >> 10);
  out.format("VmRSS:\t%8lu kB\nThreads:\t%lu\nSigQ:\t0/0\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n",
             rss_kb, thread_count());
  out.format("Cpus_allowed_list:\t0-%zu\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n",
             cpus::count() - 1);
}

void process_stat(TextBuffer& out) {
  uint64_t rss_pages = address_space().resident_bytes() / 4096;
  Process& self = current_process();
  uint32_t pgid, sid;
  {
    SpinlockGuard guard(process_tree_lock());
    pgid = self.pgid;
    sid = self.sid;
  }
  out.format("%u (%.15s) R %u %u %u 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 %lu 0 0 %lu %lu 18446744073709551615 ",
             self.pid, base_name(own_info().executable), parent_pid(), pgid, sid, thread_count(), rss_pages * 4096,
             rss_pages);
  out.format("0 0 %lu 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", own_info().stack_end);
}

void statm(TextBuffer& out) {
  uint64_t pages = address_space().resident_bytes() / 4096;
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

constexpr SyntheticEntry kProcess[] = {
    {"exe", Kind::symlink, exe},        {"cwd", Kind::symlink, root_link},  {"root", Kind::symlink, root_link},
    {"cmdline", Kind::file, cmdline},   {"environ", Kind::file, environ},   {"comm", Kind::file, comm},
    {"maps", Kind::file, maps},         {"stat", Kind::file, process_stat}, {"statm", Kind::file, statm},
    {"status", Kind::file, status},     {"mounts", Kind::file, mounts},     {"mountinfo", Kind::file, mountinfo},
    {"net", Kind::directory, nullptr, proc_net_entries},     {"fd", Kind::dynamic_directory, nullptr, nullptr, &g_fd_directory},
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
constexpr SyntheticEntry kProcRoot[] = {
    {"self", Kind::symlink, self},
    {"thread-self", Kind::symlink, self},
    {"1", Kind::directory, nullptr, process_entries},
    {"cpuinfo", Kind::file, cpuinfo},
    {"meminfo", Kind::file, meminfo},
    {"stat", Kind::file, stat},
    {"uptime", Kind::file, uptime},
    {"loadavg", Kind::file, loadavg},
    {"version", Kind::file, version},
    {"mounts", Kind::file, mounts},
    {"sys", Kind::directory, nullptr, [] { return std::span<const SyntheticEntry>(kSys); }},
    {"net", Kind::directory, nullptr, proc_net_entries},
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

const char* process_executable() { return own_info().executable; }

void set_fd_directory(const DynamicDirectory& directory) { g_fd_directory = directory; }

SyntheticFs* make_procfs(fs::ClockFunction clock) {
  return new (std::nothrow) SyntheticFs(clock, kProcMagic, [] { return std::span<const SyntheticEntry>(kProcRoot); });
}

SyntheticFs* make_sysfs(fs::ClockFunction clock) {
  return new (std::nothrow) SyntheticFs(clock, kSysfsMagic, [] { return std::span<const SyntheticEntry>(kSysRoot); });
}

}  // namespace nimbus::linux
