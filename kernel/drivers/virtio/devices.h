// The machine's virtio devices, on whichever transport they sit: the virtio-mmio windows
// the platform lists (microvm, Firecracker) and the virtio functions on the PCI bus (q35).
// Drivers pick theirs by device id from one list.
#pragma once

#include <cstddef>
#include <span>

#include "kernel/drivers/virtio/transport.h"
#include "kernel/platform/kvm/virtio_mmio_devices.h"

namespace nimbus::virtio {

constexpr size_t kMaxDevices = 16;

// Opens each listed window that holds a modern device and was not opened before; returns
// how many.
size_t open_mmio_devices(std::span<const VirtioMmioDevice> windows);
// Opens each virtio function pci::init() found; returns how many.
size_t open_pci_devices();
// Every device opened so far, in discovery order (not yet reset: the driver negotiates).
std::span<Transport* const> devices();

}  // namespace nimbus::virtio
