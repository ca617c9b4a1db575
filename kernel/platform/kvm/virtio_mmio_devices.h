// The virtio-mmio devices the hypervisor announces on the kernel command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace nimbus {

// One `virtio_mmio.device=<size>@<base>:<irq>[:<id>]` word, as Linux reads it
// (drivers/virtio/virtio_mmio.c). QEMU's microvm machine appends one for each transport
// that has a device plugged in, and Firecracker does the same: there is no bus to scan.
struct VirtioMmioDevice {
  uint64_t base = 0;  // physical address of the register window
  uint64_t size = 0;  // bytes
  uint32_t irq = 0;   // global system interrupt on the I/O APIC
};

inline constexpr std::string_view kVirtioMmioDeviceKey = "virtio_mmio.device";

// Parses the value after `virtio_mmio.device=`. Numbers are decimal or 0x-prefixed hex; the
// size may end in K, M or G (Linux's memparse). The optional platform device id is ignored.
// nullopt when the text is malformed or the size is 0.
std::optional<VirtioMmioDevice> parse_virtio_mmio_device(std::string_view text);

}  // namespace nimbus
