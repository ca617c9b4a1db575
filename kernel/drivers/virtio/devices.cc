// The list of opened virtio devices, filled by the bus probes.
#include "kernel/drivers/virtio/devices.h"

#include "kernel/drivers/pci/pci_bus.h"
#include "kernel/drivers/virtio/mmio_transport.h"
#include "kernel/drivers/virtio/pci_capabilities.h"
#include "kernel/drivers/virtio/pci_transport.h"
#include "kernel/lib/console.h"

namespace nimbus::virtio {
namespace {

Transport* g_devices[kMaxDevices];
size_t g_count = 0;
// The virtio-mmio windows opened, so one listed both on the command line and in the DSDT
// is opened once.
uint64_t g_mmio_bases[kMaxDevices];
size_t g_mmio_count = 0;

bool add(Transport* transport) {
  if (g_count == kMaxDevices) {
    print("nimbus: more than %zu virtio devices; %s ignored\n", kMaxDevices, transport->location());
    return false;
  }
  g_devices[g_count++] = transport;
  log("virtio: %s, device %u\n", transport->location(), transport->device_id());
  return true;
}

}  // namespace

size_t open_mmio_devices(std::span<const VirtioMmioDevice> windows) {
  size_t opened = 0;
  for (const VirtioMmioDevice& window : windows) {
    bool seen = false;
    for (size_t i = 0; i < g_mmio_count; i++) seen |= g_mmio_bases[i] == window.base;
    if (seen) continue;
    auto transport = MmioTransport::try_open(window);
    if (!transport || !add(*transport)) continue;
    g_mmio_bases[g_mmio_count++] = window.base;
    opened++;
  }
  return opened;
}

size_t open_pci_devices() {
  if (!pci::present()) return 0;
  size_t opened = 0;
  for (const pci::Function& function : pci::functions()) {
    if (function.vendor_id != kPciVendor) continue;
    auto transport = PciTransport::try_open(pci::access(), function);
    if (transport && add(*transport)) opened++;
  }
  return opened;
}

std::span<Transport* const> devices() {
  return {g_devices, g_count};
}

}  // namespace nimbus::virtio
