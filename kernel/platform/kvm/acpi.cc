// Reads the ACPI tables (ACPI 6.4 sections 5.2.5 RSDP, 5.2.7-8 RSDT/XSDT, 5.2.9 FADT,
// 5.2.12 MADT), the \_S5 package from the DSDT for power-off, and the PCI MCFG table.
#include "kernel/platform/kvm/acpi.h"

#include <cstring>

#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/lib/console.h"
#include "kernel/mm/physical.h"

namespace nimbus::acpi {
namespace {

struct [[gnu::packed]] Rsdp {
  char signature[8];
  uint8_t checksum;
  char oem_id[6];
  uint8_t revision;
  uint32_t rsdt_address;
  uint32_t length;
  uint64_t xsdt_address;
  uint8_t extended_checksum;
  uint8_t reserved[3];
};

struct [[gnu::packed]] SdtHeader {
  char signature[4];
  uint32_t length;
  uint8_t revision;
  uint8_t checksum;
  char oem_id[6];
  char oem_table_id[8];
  uint32_t oem_revision;
  uint32_t creator_id;
  uint32_t creator_revision;
};

struct [[gnu::packed]] GenericAddress {
  uint8_t space;
  uint8_t bit_width;
  uint8_t bit_offset;
  uint8_t access_size;
  uint64_t address;
};

// The FADT fields we read, by their offsets in ACPI 6.4 table 5.9.
constexpr size_t kFadtDsdt = 40;
constexpr size_t kFadtPm1aControl = 64;
constexpr size_t kFadtPm1bControl = 68;
constexpr size_t kFadtFlags = 112;
constexpr size_t kFadtXDsdt = 140;
constexpr size_t kFadtSleepControl = 244;
constexpr uint32_t kFadtHardwareReduced = 1u << 20;

constexpr uint8_t kMadtLocalApic = 0;
constexpr uint8_t kMadtIoApic = 1;
constexpr uint8_t kMadtSourceOverride = 2;
constexpr uint8_t kMadtLocalX2Apic = 9;
constexpr uint8_t kMadtLocalApicOverride = 5;

template <typename T = uint8_t>
const T* map(uint64_t phys, size_t size) {
  return static_cast<const T*>(mmu::map_physical(phys, size, mmu::Caching::write_back));
}

bool checksum_ok(const void* data, size_t length) {
  uint8_t sum = 0;
  for (size_t i = 0; i < length; i++) sum += static_cast<const uint8_t*>(data)[i];
  return sum == 0;
}

const SdtHeader* map_table(uint64_t phys) {
  const auto* header = map<SdtHeader>(phys, sizeof(SdtHeader));
  if (header->length < sizeof(SdtHeader) || header->length > (1u << 20)) return nullptr;
  header = map<SdtHeader>(phys, header->length);
  return checksum_ok(header, header->length) ? header : nullptr;
}

const Rsdp* find_rsdp(uint64_t hint) {
  auto valid = [](const Rsdp* r) {
    return memcmp(r->signature, "RSD PTR ", 8) == 0 && checksum_ok(r, 20);
  };
  if (hint) {
    const auto* r = map<Rsdp>(hint, sizeof(Rsdp));
    if (valid(r)) return r;
  }
  // The BIOS read-only area, 16-byte aligned (ACPI 5.2.5.1).
  const auto* area = map(0xe0000, 0x20000);
  for (size_t offset = 0; offset < 0x20000; offset += 16) {
    const auto* r = reinterpret_cast<const Rsdp*>(area + offset);
    if (valid(r)) return r;
  }
  return nullptr;
}

void parse_madt(const SdtHeader* madt, Platform& platform) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(madt);
  platform.local_apic_phys = *reinterpret_cast<const uint32_t*>(bytes + 36);
  for (size_t offset = 44; offset + 2 <= madt->length;) {
    uint8_t type = bytes[offset];
    uint8_t length = bytes[offset + 1];
    if (length < 2 || offset + length > madt->length) break;
    const uint8_t* entry = bytes + offset;
    auto add_cpu = [&](uint32_t apic_id, uint32_t flags) {
      // Bit 0: enabled; bit 1: can be brought online later (we take only enabled ones).
      if ((flags & 1) && platform.cpu_count < Platform::kMaxCpus)
        platform.apic_ids[platform.cpu_count++] = apic_id;
    };
    if (type == kMadtLocalApic && length >= 8) {
      add_cpu(entry[3], *reinterpret_cast<const uint32_t*>(entry + 4));
    } else if (type == kMadtLocalX2Apic && length >= 16) {
      add_cpu(*reinterpret_cast<const uint32_t*>(entry + 4),
              *reinterpret_cast<const uint32_t*>(entry + 8));
    } else if (type == kMadtIoApic && length >= 12 && platform.io_apic_count < Platform::kMaxIoApics) {
      platform.io_apics[platform.io_apic_count++] =
          IoApic{entry[2], *reinterpret_cast<const uint32_t*>(entry + 4), *reinterpret_cast<const uint32_t*>(entry + 8)};
    } else if (type == kMadtSourceOverride && length >= 10 && platform.override_count < Platform::kMaxOverrides) {
      platform.overrides[platform.override_count++] =
          IrqOverride{entry[3], *reinterpret_cast<const uint32_t*>(entry + 4), *reinterpret_cast<const uint16_t*>(entry + 8)};
    } else if (type == kMadtLocalApicOverride && length >= 12) {
      platform.local_apic_phys = *reinterpret_cast<const uint64_t*>(entry + 4);
    }
    offset += length;
  }
}

// Finds "\_S5_" in the DSDT's AML and reads the first two elements of its package
// (ACPI 6.4 section 7.4.2.4; AML encoding in section 20.2).
bool find_s5(const SdtHeader* dsdt, PowerOff& power) {
  const auto* aml = reinterpret_cast<const uint8_t*>(dsdt);
  for (size_t i = sizeof(SdtHeader); i + 16 < dsdt->length; i++) {
    if (memcmp(aml + i, "_S5_", 4) != 0) continue;
    size_t p = i + 4;
    if (aml[p] != 0x12) continue;  // PackageOp
    p++;
    p += ((aml[p] >> 6) & 3) + 1;  // PkgLength
    uint8_t elements = aml[p++];   // NumElements (microvm's package has just one)
    uint8_t values[2] = {0, 0};
    for (uint8_t e = 0; e < elements && e < 2; e++) {
      if (aml[p] == 0x0a) {  // BytePrefix
        values[e] = aml[p + 1];
        p += 2;
      } else if (aml[p] == 0x00 || aml[p] == 0x01) {  // ZeroOp, OneOp
        values[e] = aml[p];
        p += 1;
      } else {
        return false;
      }
    }
    power.s5_sleep_type_a = values[0];
    power.s5_sleep_type_b = values[1];
    return true;
  }
  return false;
}

// Finds the virtio-mmio devices (_HID "LNRO0005") in the DSDT by pattern, as find_s5 does:
// each is followed by its _CRS resource template, a Memory32Fixed descriptor (0x86, ACPI 6.4
// section 6.4.3.4) for the registers and an Extended Interrupt descriptor (0x89, 6.4.3.6).
void find_virtio_mmio(const SdtHeader* dsdt, Platform& platform) {
  const auto* aml = reinterpret_cast<const uint8_t*>(dsdt);
  constexpr size_t kHidLength = 8;
  auto u32 = [&](size_t at) { return *reinterpret_cast<const uint32_t*>(aml + at); };
  size_t i = sizeof(SdtHeader);
  while (i + kHidLength < dsdt->length && platform.virtio_mmio_count < Platform::kMaxVirtioMmio) {
    if (memcmp(aml + i, "LNRO0005", kHidLength) != 0) {
      i++;
      continue;
    }
    i += kHidLength;
    VirtioMmioDevice device;
    bool have_memory = false, have_irq = false;
    for (size_t p = i; p + 12 <= dsdt->length && !(have_memory && have_irq); p++) {
      if (memcmp(aml + p, "LNRO0005", kHidLength) == 0) break;  // the next device: this one is odd
      if (!have_memory && aml[p] == 0x86 && aml[p + 1] == 0x09 && aml[p + 2] == 0x00) {
        device.base = u32(p + 4);
        device.size = u32(p + 8);
        have_memory = true;
      } else if (have_memory && aml[p] == 0x89 && aml[p + 2] == 0x00 && aml[p + 4] >= 1) {
        device.irq = u32(p + 5);
        have_irq = true;
      }
    }
    if (have_memory && have_irq) platform.virtio_mmio[platform.virtio_mmio_count++] = device;
  }
}

void parse_fadt(const SdtHeader* fadt, Platform& platform) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(fadt);
  auto u32 = [&](size_t offset) {
    return offset + 4 <= fadt->length ? *reinterpret_cast<const uint32_t*>(bytes + offset) : 0u;
  };
  PowerOff& power = platform.power_off;
  power.hardware_reduced = u32(kFadtFlags) & kFadtHardwareReduced;
  power.pm1a_control_port = static_cast<uint16_t>(u32(kFadtPm1aControl));
  power.pm1b_control_port = static_cast<uint16_t>(u32(kFadtPm1bControl));
  if (fadt->length >= kFadtSleepControl + sizeof(GenericAddress)) {
    const auto* gas = reinterpret_cast<const GenericAddress*>(bytes + kFadtSleepControl);
    power.sleep_control_address = gas->address;
    power.sleep_control_space = gas->space;
  }
  uint64_t dsdt_phys = u32(kFadtDsdt);
  if (fadt->length >= kFadtXDsdt + 8 && *reinterpret_cast<const uint64_t*>(bytes + kFadtXDsdt))
    dsdt_phys = *reinterpret_cast<const uint64_t*>(bytes + kFadtXDsdt);
  const SdtHeader* dsdt = dsdt_phys ? map_table(dsdt_phys) : nullptr;
  if (dsdt) find_virtio_mmio(dsdt, platform);
  if (!dsdt || !find_s5(dsdt, power)) return;
  power.available = power.hardware_reduced ? power.sleep_control_address != 0
                                           : power.pm1a_control_port != 0;
}

// PCI Firmware 3.2, 4.1.2: after the header, 8 reserved bytes, then 16-byte allocations
// (base address, segment, start bus, end bus, 4 reserved bytes).
void parse_mcfg(const SdtHeader* mcfg, Platform& platform) {
  constexpr size_t kFirstAllocation = sizeof(SdtHeader) + 8, kAllocationSize = 16;
  const auto* bytes = reinterpret_cast<const uint8_t*>(mcfg);
  for (size_t at = kFirstAllocation; at + kAllocationSize <= mcfg->length; at += kAllocationSize) {
    uint64_t base;
    uint16_t segment;
    memcpy(&base, bytes + at, sizeof(base));
    memcpy(&segment, bytes + at + 8, sizeof(segment));
    uint8_t start_bus = bytes[at + 10], end_bus = bytes[at + 11];
    if (segment != 0 || base == 0 || end_bus < start_bus) continue;
    platform.pci_ecam = PciEcam{base, start_bus, end_bus};
    return;
  }
}

}  // namespace

bool discover(uint64_t rsdp_hint, Platform& platform) {
  const Rsdp* rsdp = find_rsdp(rsdp_hint);
  if (!rsdp) return false;
  bool extended = rsdp->revision >= 2 && rsdp->xsdt_address;
  const SdtHeader* root = map_table(extended ? rsdp->xsdt_address : rsdp->rsdt_address);
  if (!root) return false;
  size_t entry_size = extended ? 8 : 4;
  size_t count = (root->length - sizeof(SdtHeader)) / entry_size;
  const auto* entries = reinterpret_cast<const uint8_t*>(root) + sizeof(SdtHeader);
  for (size_t i = 0; i < count; i++) {
    uint64_t phys = extended ? *reinterpret_cast<const uint64_t*>(entries + i * 8)
                             : *reinterpret_cast<const uint32_t*>(entries + i * 4);
    const SdtHeader* table = map_table(phys);
    if (!table) continue;
    if (memcmp(table->signature, "APIC", 4) == 0) parse_madt(table, platform);
    if (memcmp(table->signature, "FACP", 4) == 0) parse_fadt(table, platform);
    if (memcmp(table->signature, "MCFG", 4) == 0) parse_mcfg(table, platform);
  }
  log("acpi: %zu cpus, local apic %lx, power-off %s\n", platform.cpu_count,
      platform.local_apic_phys, platform.power_off.available ? "via ACPI S5" : "unavailable");
  return platform.cpu_count > 0;
}

}  // namespace nimbus::acpi
