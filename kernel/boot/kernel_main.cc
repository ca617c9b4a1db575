// The boot sequence: every stage, in order, by name. Each stage leaves the machine ready
// for the next; --bootchart times them.
#include <atomic>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/descriptors.h"
#include "kernel/arch/x86_64/fpu.h"
#include "kernel/arch/x86_64/io_apic.h"
#include "kernel/arch/x86_64/local_apic.h"
#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/arch/x86_64/smp.h"
#include "kernel/arch/x86_64/syscall_msrs.h"
#include "kernel/arch/x86_64/tlb.h"
#include "kernel/boot/boot_options.h"
#include "kernel/boot/bootchart.h"
#include "kernel/boot/start_info.h"
#include "kernel/drivers/serial.h"
#include "kernel/drivers/serial_input.h"
#include "kernel/drivers/pci/pci_bus.h"
#include "kernel/drivers/nvme/nvme.h"
#include "kernel/drivers/virtio/blk.h"
#include "kernel/drivers/virtio/p9.h"
#include "kernel/drivers/virtio/console.h"
#include "kernel/drivers/virtio/devices.h"
#include "kernel/drivers/virtio/net.h"
#include "kernel/lib/console.h"
#include "kernel/lib/panic.h"
#include "kernel/linux/layout_randomization.h"
#include "kernel/linux/process.h"
#include "kernel/linux/program_boot.h"
#include "kernel/linux/shares.h"
#include "kernel/linux/volumes.h"
#include "kernel/linux/syscall_trace.h"
#include "kernel/mm/early_allocator.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/heap.h"
#include "kernel/mm/kernel_stacks.h"
#include "kernel/mm/physical.h"
#include "kernel/net/kernel_net_stack.h"
#include "kernel/platform/kvm/acpi.h"
#include "kernel/platform/kvm/power.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/selftest/selftest.h"
#include "kernel/time/clock.h"

namespace nimbus {
namespace {

Cpu g_bootstrap_cpu;
// The boot thread's interrupt and exception stacks (later threads get guarded ones).
alignas(16) uint8_t g_boot_interrupt_stack[8192];
alignas(16) uint8_t g_boot_exception_stack[8192];
acpi::Platform g_platform;

uint64_t frame_for_page_tables() {
  auto frame = frames::allocate(0);
  if (!frame) return 0;
  __builtin_memset(phys_to_virt(*frame), 0, kPageSize);
  return *frame;
}

StackSet boot_stacks() {
  return StackSet{0, 0, reinterpret_cast<uintptr_t>(g_boot_interrupt_stack + sizeof(g_boot_interrupt_stack)),
                  reinterpret_cast<uintptr_t>(g_boot_exception_stack + sizeof(g_boot_exception_stack))};
}

void init_descriptors() {
  x86::build_idt();
  x86::load_descriptors(g_bootstrap_cpu.descriptors);
  StackSet stacks = boot_stacks();
  x86::set_ist(g_bootstrap_cpu.descriptors, x86::IstSlot::interrupt, stacks.interrupt_top);
  x86::set_ist(g_bootstrap_cpu.descriptors, x86::IstSlot::exception, stacks.exception_top);
  cpus::add(g_bootstrap_cpu);
  cpus::install_this_cpu(g_bootstrap_cpu);
}

void init_memory(const BootInfo& info) {
  early::init(info);
  mmu::init_kernel_address_space(info, early::allocate_frame);
  bootchart::stage_done("page tables");
  frames::init(info);
  mmu::set_table_frame_source(frame_for_page_tables);
  bootchart::stage_done("frames");
  heap::init();
  heap::init_this_cpu();
  bootchart::stage_done("heap");
  kernel_stacks::init();
}

void init_platform(const BootInfo& info) {
  if (!acpi::discover(info.rsdp_phys, g_platform)) {
    // No ACPI: run on this CPU alone.
    g_platform.cpu_count = 0;
  }
  power::set_acpi_power_off(g_platform.power_off);
  ioapic::init(g_platform);
}

// Where unassigned PCI memory BARs may go: above every RAM range below 4 GiB and the ECAM
// window, up to the next range the memory map names or the I/O APIC (0xfec00000), whichever
// comes first; QEMU's q35 keeps that hole free for PCI.
pci::MmioWindow pci_hole(const BootInfo& info, const acpi::PciEcam& ecam) {
  constexpr uint64_t kIoApic = 0xfec00000;
  uint64_t begin = ecam.base ? ecam.base + ((static_cast<uint64_t>(ecam.end_bus - ecam.start_bus) + 1) << 20) : 0;
  for (size_t i = 0; i < info.range_count; i++) {
    const MemoryRange& range = info.ranges[i];
    if (range.type == MemoryType::usable && range.begin < kIoApic && range.end > begin) begin = range.end;
  }
  uint64_t end = kIoApic;
  for (size_t i = 0; i < info.range_count; i++) {
    if (info.ranges[i].begin >= begin && info.ranges[i].begin < end) end = info.ranges[i].begin;
  }
  return begin < end ? pci::MmioWindow{begin, end} : pci::MmioWindow{};
}

// Opens every virtio device once (later calls do nothing): virtio-mmio windows from the
// command line (Firecracker, or microvm with acpi=off) and the DSDT (QEMU microvm), and
// virtio-pci functions when there is a PCI bus (q35: ECAM from the MCFG; without an MCFG and
// without virtio-mmio, the configuration ports are tried). Drivers then pick theirs from
// virtio::devices().
void open_virtio_devices(const BootInfo& info, const BootOptions& options) {
  static bool opened = false;
  if (opened) return;
  opened = true;
  virtio::open_mmio_devices(options.virtio_mmio());
  virtio::open_mmio_devices({g_platform.virtio_mmio, g_platform.virtio_mmio_count});
  if (g_platform.pci_ecam.base || virtio::devices().empty()) {
    const acpi::PciEcam& ecam = g_platform.pci_ecam;
    pci::init({ecam.base, ecam.start_bus, ecam.end_bus}, pci_hole(info, ecam));
    virtio::open_pci_devices();
  }
}

void init_cpus(const BootOptions& options) {
  size_t wanted = g_platform.cpu_count;
  if (options.max_cpus && options.max_cpus < wanted) wanted = options.max_cpus;
  size_t started = smp::start_application_processors(g_platform.apic_ids, wanted);
  log("smp: %zu cpus online\n", started + 1);
}

}  // namespace
}  // namespace nimbus

extern "C" void (*__init_array_start[])();
extern "C" void (*__init_array_end[])();

extern "C" [[noreturn]] void kernel_main(uint64_t start_info_phys, uint64_t entry_tsc) {
  using namespace nimbus;
  // Constructors of global objects (most are constant-initialized and need none).
  for (auto* constructor = __init_array_start; constructor != __init_array_end; constructor++) (*constructor)();
  bootchart::start(entry_tsc);
  bootchart::stage_done("long mode");
  init_descriptors();
  bootchart::stage_done("descriptors");
  serial::init();
  bootchart::stage_done("serial");

  BootInfo& info = boot_info();
  info.entry_tsc = entry_tsc;
  if (const char* problem = parse_start_info(start_info_phys, info)) panic("boot: %s", problem);
  BootOptions options;
  if (const char* problem = parse_boot_options(info.command_line, options)) {
    print("nimbus: bad kernel command line: %s\n", problem);
    power::exit_vm(ExitStatus::bad_command_line);
  }
  set_console_verbose(options.verbose);
  scheduler::set_idle_poll_ns(options.idle_poll_us * 1000);
  log("nimbus: booting, command line '%s'\n", info.command_line);
  bootchart::stage_done("start_info");

  init_memory(info);
  bootchart::stage_done("stacks");
  log("memory: %lu KiB free of %lu KiB\n", frames::free_bytes() >> 10, frames::total_bytes() >> 10);

  init_platform(info);
  bootchart::stage_done("acpi");

  clock::init(entry_tsc, options.tsc_khz);
  bootchart::stage_done("clock");
  log("clock: tsc %lu kHz from %s\n", clock::tsc_khz(), clock::source_name());

  fpu::init_this_cpu();
  tlb::init_bsp(options.pcids);
  x86::enable_syscall_instruction();
  x86::set_cpu_number(0);
  apic::init_bsp(g_platform.local_apic_phys);
  bootchart::stage_done("apic");

  scheduler::init_bsp(g_bootstrap_cpu, boot_stacks());
  scheduler::start_idle_thread(g_bootstrap_cpu);
  x86::enable_interrupts();
  serial_input::init();
  bootchart::stage_done("scheduler");

  init_cpus(options);
  bootchart::stage_done("smp");

  // With an initrd the job is the program it holds; without, the kernel self-test.
  bool runs_program = info.module_count > 0 && options.test.empty();
  // Only a program uses the virtio devices (its standard streams, its network), and the
  // network self-tests drive them, so the other self-tests do not pay for finding and
  // starting them.
  bool network_test = options.test == "net-arp" || options.test == "net-udp-echo";
  if (runs_program || network_test) {
    open_virtio_devices(info, options);
    if (runs_program) virtio_console::init(virtio::devices());
    bootchart::stage_done("virtio");
    // Network devices: for a program, and for the self-tests that drive them.
    virtio_net::init(virtio::devices());
    bootchart::stage_done("virtio-net");
    if (runs_program) {
      virtio_blk::init(virtio::devices());
      bootchart::stage_done("virtio-blk");
      // NVMe disks sit on the PCI bus that open_virtio_devices enumerated (q35).
      nvme::init();
      bootchart::stage_done("nvme");
      virtio_9p::init(virtio::devices());
    }
  }
  // The stack: "lo", then eth0... configured from ip=, gateway=, dns=, hostname= (the ARP
  // self-test drives the device alone, without it).
  if (runs_program || options.test == "net-udp-echo") {
    net::KernelNetworkConfig config{options.static_ip, options.ip_address, options.ip_prefix_length,
                                    options.gateway,   options.dns,        options.hostname};
    if (auto started = net::start_kernel_network(config); !started)
      print("nimbus: the network stack cannot start (error %d)\n", static_cast<int>(started.error()));
    bootchart::stage_done("network");
  }

  log("nimbus: init done in %lu us\n", clock::monotonic_ns() / 1000);
  if (options.bootchart) bootchart::print();
  if (options.boot_only) power::exit_vm(ExitStatus::success);

  if (runs_program) {
    if (options.strace) linux::start_strace(options.strace_filter);
    linux::set_layout_randomization(options.randomize_layout);
    linux::set_boot_volumes(options.volumes());
    linux::set_boot_shares(options.shares());
    linux::set_boot_root(options.root_device);
    const BootModule& initrd = info.modules[0];
    power::exit_vm(linux::boot_program({phys_to_virt<const std::byte>(initrd.begin), initrd.end - initrd.begin},
                                       options.streams));
  }
  int status = selftest::run(options.test);
  // The network self-tests' last replies may still be in a device's ring.
  net::drain_kernel_network(clock::monotonic_ns() + 500'000'000);
  power::exit_vm(status);
}
