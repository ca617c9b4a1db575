// MmioTransport: device initialization, queue setup and the interrupt line through the
// MMIO registers.
#include "kernel/drivers/virtio/mmio_transport.h"

#include "kernel/arch/x86_64/interrupt_vectors.h"
#include "kernel/arch/x86_64/io_apic.h"
#include "kernel/arch/x86_64/local_apic.h"
#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/lib/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/mm/physical.h"

namespace nimbus::virtio {
namespace {

constexpr uint32_t kMagicValue = 0x74726976;  // "virt"

}  // namespace

MmioTransport::MmioTransport(volatile uint32_t* registers, const VirtioMmioDevice& device)
    : m_registers(registers), m_irq(device.irq) {
  format_to(m_location, sizeof(m_location), "virtio-mmio at 0x%lx, irq %u", device.base, device.irq);
}

Result<MmioTransport*> MmioTransport::try_open(const VirtioMmioDevice& device) {
  auto* registers = static_cast<volatile uint32_t*>(
      mmu::map_physical(device.base, device.size < kPageSize ? kPageSize : device.size, mmu::Caching::uncached));
  if (registers[kMagic / 4] != kMagicValue) {
    log("virtio-mmio at 0x%lx: no virtio magic value\n", device.base);
    return error(Errno::enodev);
  }
  if (registers[kDeviceId / 4] == 0) return error(Errno::enodev);
  if (uint32_t version = registers[kVersion / 4]; version != 2) {
    print("nimbus: virtio-mmio at 0x%lx is version %u (legacy); only virtio 1.x (version 2) is supported: "
          "give QEMU -global virtio-mmio.force-legacy=false\n",
          device.base, version);
    return error(Errno::enodev);
  }
  auto* transport = new (kNoThrow) MmioTransport(registers, device);
  if (!transport) return error(Errno::enomem);
  return transport;
}

uint32_t MmioTransport::device_features(uint32_t select) {
  write(kDeviceFeaturesSelect, select);
  return read(kDeviceFeatures);
}

void MmioTransport::set_driver_features(uint32_t select, uint32_t features) {
  write(kDriverFeaturesSelect, select);
  write(kDriverFeatures, features);
}

Result<uint16_t> MmioTransport::queue_size_max(uint16_t index) {
  write(kQueueSelect, index);
  if (read(kQueueReady)) return error(Errno::ebusy);
  uint32_t device_max = read(kQueueSizeMax);
  if (device_max == 0) return error(Errno::enoent);
  return static_cast<uint16_t>(device_max > 0xffff ? 0xffff : device_max);
}

Result<> MmioTransport::enable_queue(uint16_t, uint16_t size, uint64_t descriptors, uint64_t driver,
                                     uint64_t device, const QueueInterrupt&) {
  write(kQueueSize, size);
  write64(kQueueDescriptorLow, descriptors);
  write64(kQueueDriverLow, driver);
  write64(kQueueDeviceLow, device);
  write(kQueueReady, 1);
  return {};
}

Result<> MmioTransport::set_interrupt_handler(InterruptHandler handler, void* context) {
  if (m_handler) return error(Errno::ebusy);
  m_context = context;
  m_handler = handler;
  uint8_t vector = TRY(interrupt_vectors::allocate(on_vector, this));
  if (!ioapic::route_gsi(m_irq, vector, apic::this_cpu_id(), ioapic::Trigger::level, ioapic::Polarity::active_high)) {
    print("nimbus: %s: no I/O APIC input for that interrupt\n", m_location);
    interrupt_vectors::release(vector);
    m_handler = nullptr;
    return error(Errno::enodev);
  }
  return {};
}

void MmioTransport::on_vector(void* self) {
  auto* transport = static_cast<MmioTransport*>(self);
  transport->m_handler(transport->m_context, kAnyQueue);
}

uint32_t MmioTransport::acknowledge_interrupt() {
  uint32_t status = read(kInterruptStatus);
  if (status) write(kInterruptAck, status);
  return status;
}

}  // namespace nimbus::virtio
