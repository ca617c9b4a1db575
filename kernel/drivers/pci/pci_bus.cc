// The two configuration mechanisms (PCI Express 5.0, 7.2.2 ECAM; PCI Local Bus 3.0, 3.2.2.3.2
// configuration mechanism #1) and the functions found at boot.
#include "kernel/drivers/pci/pci_bus.h"

#include <optional>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/lib/console.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::pci {
namespace {

constexpr size_t kMaxFunctions = 64;

// ECAM: 4 KiB of registers per function, 1 MiB per bus; each bus is mapped when first used.
class EcamAccess final : public ConfigAccess {
 public:
  explicit EcamAccess(const EcamWindow& window) : m_window(window) {}
  uint32_t read32(Address address, uint16_t offset) override {
    auto* registers = function_registers(address);
    return registers ? *reinterpret_cast<volatile uint32_t*>(registers + (offset & 0xffc)) : ~0u;
  }
  void write32(Address address, uint16_t offset, uint32_t value) override {
    if (auto* registers = function_registers(address))
      *reinterpret_cast<volatile uint32_t*>(registers + (offset & 0xffc)) = value;
  }
  void write16(Address address, uint16_t offset, uint16_t value) override {
    if (auto* registers = function_registers(address))
      *reinterpret_cast<volatile uint16_t*>(registers + (offset & 0xffe)) = value;
  }

 private:
  volatile uint8_t* function_registers(Address address) {
    if (address.bus < m_window.start_bus || address.bus > m_window.end_bus || address.device > 31 ||
        address.function > 7)
      return nullptr;
    volatile uint8_t*& bus = m_buses[address.bus];
    if (!bus) {
      uint64_t phys =
          m_window.base + (static_cast<uint64_t>(address.bus - m_window.start_bus) << 20);
      bus =
          static_cast<volatile uint8_t*>(mmu::map_physical(phys, 1u << 20, mmu::Caching::uncached));
    }
    return bus + ((address.device * 8u + address.function) << 12);
  }

  EcamWindow m_window;
  volatile uint8_t* m_buses[256] = {};
};

// Mechanism #1: an address dword to 0xCF8, then the data at 0xCFC; the pair is not atomic,
// hence the lock.
class PortAccess final : public ConfigAccess {
 public:
  uint32_t read32(Address address, uint16_t offset) override {
    if (offset >= 256) return ~0u;
    SpinlockGuard guard(m_lock);
    x86::outl(kAddressPort, address_word(address, offset));
    return x86::inl(kDataPort);
  }
  void write32(Address address, uint16_t offset, uint32_t value) override {
    if (offset >= 256) return;
    SpinlockGuard guard(m_lock);
    x86::outl(kAddressPort, address_word(address, offset));
    x86::outl(kDataPort, value);
  }
  void write16(Address address, uint16_t offset, uint16_t value) override {
    if (offset >= 256) return;
    SpinlockGuard guard(m_lock);
    x86::outl(kAddressPort, address_word(address, offset));
    x86::outw(static_cast<uint16_t>(kDataPort + (offset & 2)), value);
  }

 private:
  static constexpr uint16_t kAddressPort = 0xcf8, kDataPort = 0xcfc;
  static uint32_t address_word(Address address, uint16_t offset) {
    return 0x80000000u | (static_cast<uint32_t>(address.bus) << 16) |
           ((address.device & 31u) << 11) | ((address.function & 7u) << 8) | (offset & 0xfcu);
  }
  Spinlock m_lock;
};

std::optional<EcamAccess> g_ecam;
PortAccess g_ports;
ConfigAccess* g_access = nullptr;
Function g_functions[kMaxFunctions];
size_t g_function_count = 0;
uint8_t g_first_bus = 0;
MmioWindow g_window;
uint64_t g_window_next = 0;  // the window is handed out upwards, never given back

void record(void*, const Function& function) {
  if (g_function_count < kMaxFunctions) g_functions[g_function_count++] = function;
  log("pci: %02x:%02x.%x %04x:%04x class %02x%02x\n", function.address.bus, function.address.device,
      function.address.function, function.vendor_id, function.device_id, function.class_code,
      function.subclass);
}

}  // namespace

size_t init(const EcamWindow& ecam, const MmioWindow& window) {
  g_window = window;
  g_window_next = window.begin;
  if (ecam.base) {
    g_ecam.emplace(ecam);
    g_access = &*g_ecam;
  } else if (g_ports.read16(Address{}, config::kVendorId) != config::kNoVendor) {
    g_access = &g_ports;
  } else {
    return 0;
  }
  g_first_bus = ecam.base ? ecam.start_bus : 0;
  size_t count = enumerate(*g_access, g_first_bus, record, nullptr);
  if (count > kMaxFunctions)
    print("pci: %zu functions, only the first %zu are kept\n", count, kMaxFunctions);
  return g_function_count;
}

bool present() {
  return g_access != nullptr;
}

ConfigAccess& access() {
  return *g_access;
}

std::span<const Function> functions() {
  return {g_functions, g_function_count};
}

Bar claim_bar(Address address, unsigned index) {
  Bar bar = decode_bar(*g_access, address, index);
  if (!bar.is_memory() || bar.address != 0 || bar.size == 0 || address.bus != g_first_bus)
    return bar;
  uint64_t alignment = bar.size < 4096 ? 4096 : bar.size;  // sizes are powers of two
  uint64_t place = (g_window_next + alignment - 1) & ~(alignment - 1);
  if (place < g_window_next || place > g_window.end || bar.size > g_window.end - place ||
      (bar.kind == BarKind::memory32 && place + bar.size > (1ull << 32))) {
    print("pci: %02x:%02x.%x: no room for BAR %u (%lu bytes)\n", address.bus, address.device,
          address.function, index, bar.size);
    return bar;
  }
  auto offset = static_cast<uint16_t>(config::kBar0 + 4 * index);
  g_access->write32(address, offset, static_cast<uint32_t>(place));
  if (bar.kind == BarKind::memory64)
    g_access->write32(address, static_cast<uint16_t>(offset + 4),
                      static_cast<uint32_t>(place >> 32));
  g_window_next = place + bar.size;
  return decode_bar(*g_access, address, index);
}

volatile uint8_t* map_bar(const Bar& bar, uint64_t offset, uint64_t length) {
  if (!bar.is_memory() || bar.address == 0 || length == 0 || offset > bar.size ||
      length > bar.size - offset)
    return nullptr;
  return static_cast<volatile uint8_t*>(
      mmu::map_physical(bar.address + offset, length, mmu::Caching::uncached));
}

void enable_memory_and_bus_master(Address address) {
  uint16_t command = g_access->read16(address, config::kCommand);
  g_access->write16(
      address, config::kCommand,
      static_cast<uint16_t>(command | config::kCommandMemory | config::kCommandBusMaster));
}

}  // namespace nimbus::pci
