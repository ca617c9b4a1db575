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
    auto transport = MmioTransport::try_open(window);
    if (transport && add(*transport)) opened++;
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
