// PciTransport: the common configuration structure (virtio 1.2, 4.1.4.3), notifications
// (4.1.4.4), device configuration (4.1.4.6) and MSI-X vectors (4.1.5.1.2).
#include "kernel/drivers/virtio/pci_transport.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/interrupt_vectors.h"
#include "kernel/arch/x86_64/local_apic.h"
#include "kernel/drivers/pci/pci_bus.h"
#include "kernel/drivers/pci/pci_function.h"
#include "kernel/drivers/virtio/pci_capabilities.h"
#include "kernel/lib/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/ref_ptr.h"

namespace nimbus::virtio {
namespace {

// 4.1.4.3: struct virtio_pci_common_cfg.
constexpr size_t kDeviceFeatureSelect = 0x00, kDeviceFeature = 0x04, kDriverFeatureSelect = 0x08,
                 kDriverFeature = 0x0c, kConfigMsixVector = 0x10, kNumQueues = 0x12,
                 kDeviceStatus = 0x14, kConfigGeneration = 0x15, kQueueSelect = 0x16,
                 kQueueSize = 0x18, kQueueMsixVector = 0x1a, kQueueEnable = 0x1c,
                 kQueueNotifyOff = 0x1e, kQueueDesc = 0x20, kQueueDriver = 0x28,
                 kQueueDevice = 0x30, kCommonLength = 0x38;
constexpr uint16_t kNoVector = 0xffff;  // VIRTIO_MSI_NO_VECTOR
// 4.1.4.3.2: a reset completes when the status reads 0; QEMU's is immediate.
constexpr unsigned kResetPolls = 1000000;

// The function's BARs, each decoded (and given an address) once: sizing a BAR costs
// configuration writes, and the structures usually share one.
class Bars {
 public:
  explicit Bars(pci::Address address) : m_address(address) {}
  const pci::Bar& operator[](uint8_t index) {
    if (!m_claimed[index]) {
      m_bars[index] = pci::claim_bar(m_address, index);
      m_claimed[index] = true;
    }
    return m_bars[index];
  }

 private:
  pci::Address m_address;
  pci::Bar m_bars[6];
  bool m_claimed[6] = {};
};

volatile uint8_t* map_region(Bars& bars, const PciRegion& region, uint32_t minimum_length) {
  if (!region.present || region.length < minimum_length) return nullptr;
  return pci::map_bar(bars[region.bar], region.offset, region.length);
}

}  // namespace

PciTransport::PciTransport(pci::ConfigAccess& access, const pci::Function& function,
                           uint32_t device_id)
    : m_access(access), m_address(function.address), m_device_id(device_id) {
  format_to(m_location, sizeof(m_location), "virtio-pci %02x:%02x.%x", function.address.bus,
            function.address.device, function.address.function);
}

Result<PciTransport*> PciTransport::try_open(pci::ConfigAccess& access,
                                             const pci::Function& function) {
  auto id = virtio_pci_device_id(access, function.address);
  if (!id || *id == 0) return error(Errno::enodev);
  auto* transport = new (kNoThrow) PciTransport(access, function, *id);
  if (!transport) return error(Errno::enomem);
  PciLayout layout = find_virtio_regions(access, function.address);
  Bars bars(function.address);
  auto msix = pci::find_msix(access, function.address);
  transport->m_common = map_region(bars, layout.common, kCommonLength);
  transport->m_notify = map_region(bars, layout.notify, 2);
  transport->m_notify_length = layout.notify.length;
  transport->m_notify_multiplier = layout.notify_off_multiplier;
  if (layout.device.present) {
    transport->m_device = map_region(bars, layout.device, 1);
    transport->m_device_length = transport->m_device ? layout.device.length : 0;
  }
  volatile uint8_t* table = nullptr;
  if (msix) {
    table = pci::map_bar(bars[msix->table_bar], msix->table_offset, msix->table_bytes());
  }
  const char* missing = !transport->m_common   ? "common configuration"
                        : !transport->m_notify ? "notification"
                        : !msix                ? "MSI-X"
                        : !table               ? "MSI-X table"
                                               : nullptr;
  if (missing) {
    print("nimbus: %s (device %u): no usable %s structure; device ignored\n", transport->m_location,
          *id, missing);
    delete transport;
    return error(Errno::enodev);
  }
  transport->m_msix = *msix;
  uint16_t entries = msix->table_size < kMaxVectors ? msix->table_size : kMaxVectors;
  transport->m_table = pci::MsixTable(reinterpret_cast<volatile uint32_t*>(table), entries);
  for (uint16_t entry = 0; entry < entries; entry++) transport->m_table.mask(entry);
  pci::enable_memory_and_bus_master(function.address);
  return transport;
}

uint8_t PciTransport::status() const {
  return common<uint8_t>(kDeviceStatus);
}

void PciTransport::set_status(uint8_t value) {
  set_common<uint8_t>(kDeviceStatus, value);
  if (value != 0) return;
  for (unsigned i = 0; i < kResetPolls && common<uint8_t>(kDeviceStatus) != 0; i++) x86::pause();
}

uint32_t PciTransport::device_features(uint32_t select) {
  set_common<uint32_t>(kDeviceFeatureSelect, select);
  return common<uint32_t>(kDeviceFeature);
}

void PciTransport::set_driver_features(uint32_t select, uint32_t features) {
  set_common<uint32_t>(kDriverFeatureSelect, select);
  set_common<uint32_t>(kDriverFeature, features);
}

Result<uint16_t> PciTransport::queue_size_max(uint16_t index) {
  if (index >= kMaxQueues || index >= common<uint16_t>(kNumQueues)) return error(Errno::enoent);
  set_common<uint16_t>(kQueueSelect, index);
  if (common<uint16_t>(kQueueEnable)) return error(Errno::ebusy);
  uint16_t size = common<uint16_t>(kQueueSize);  // the maximum until the driver writes it
  if (size == 0) return error(Errno::enoent);
  return size;
}

Result<> PciTransport::enable_queue(uint16_t index, uint16_t size, uint64_t descriptors,
                                    uint64_t driver, uint64_t device, const QueueInterrupt& interrupt) {
  // 4.1.4.4: the queue's notification address must lie inside the notify structure.
  uint16_t notify_off = common<uint16_t>(kQueueNotifyOff);
  uint64_t notify_at = static_cast<uint64_t>(notify_off) * m_notify_multiplier;
  if (notify_at + 2 > m_notify_length) return error(Errno::einval);
  m_notify_offsets[index] = static_cast<uint16_t>(notify_off);
  set_common<uint16_t>(kQueueSize, size);
  if (m_handler && interrupt.wanted) {
    uint16_t entry = TRY(allocate_entry(index, interrupt.apic_id.value_or(apic::this_cpu_id())));
    set_common<uint16_t>(kQueueSelect, index);
    set_common<uint16_t>(kQueueMsixVector, entry);
    if (common<uint16_t>(kQueueMsixVector) != entry) return error(Errno::enospc);  // 4.1.5.1.2.1
  } else {
    set_common<uint16_t>(kQueueMsixVector, kNoVector);
  }
  // 4.1.3.1: a 64-bit field may be written as two 32-bit halves, low first.
  auto set64 = [this](size_t offset, uint64_t value) {
    set_common<uint32_t>(offset, static_cast<uint32_t>(value));
    set_common<uint32_t>(offset + 4, static_cast<uint32_t>(value >> 32));
  };
  set64(kQueueDesc, descriptors);
  set64(kQueueDriver, driver);
  set64(kQueueDevice, device);
  set_common<uint16_t>(kQueueEnable, 1);
  return {};
}

Result<uint16_t> PciTransport::allocate_entry(uint16_t queue, uint32_t apic_id) {
  if (m_vector_count >= m_table.size()) {
    // Out of entries: the queue shares entry 0, whose handler looks at everything.
    return 0;
  }
  Vector& slot = m_vectors[m_vector_count];
  slot.transport = this;
  slot.queue = queue;
  slot.vector = TRY(interrupt_vectors::allocate(on_vector, &slot));
  auto message = pci::compose_msi_message(apic_id, slot.vector);
  if (!message) {
    interrupt_vectors::release(slot.vector);
    return error(Errno::enodev);  // an APIC id MSI cannot address without interrupt remapping
  }
  m_table.program(m_vector_count, *message);
  return m_vector_count++;
}

Result<> PciTransport::set_interrupt_handler(InterruptHandler handler, void* context) {
  if (m_handler) return error(Errno::ebusy);
  m_context = context;
  m_handler = handler;
  pci::enable_msix(m_access, m_address, m_msix);
  auto entry = allocate_entry(kAnyQueue, apic::this_cpu_id());
  if (!entry) {
    m_handler = nullptr;
    return error(entry.error());
  }
  set_common<uint16_t>(kConfigMsixVector, *entry);
  if (common<uint16_t>(kConfigMsixVector) != *entry) {
    print("nimbus: %s: the device refuses MSI-X vector %u\n", m_location, *entry);
    m_handler = nullptr;
    return error(Errno::enodev);
  }
  return {};
}

void PciTransport::on_vector(void* slot) {
  auto* vector = static_cast<Vector*>(slot);
  vector->transport->m_handler(vector->transport->m_context, vector->queue);
}

void PciTransport::notify(uint16_t queue_index) {
  if (queue_index >= kMaxQueues) return;
  uint64_t at = static_cast<uint64_t>(m_notify_offsets[queue_index]) * m_notify_multiplier;
  *reinterpret_cast<volatile uint16_t*>(m_notify + at) = queue_index;
}

uint8_t PciTransport::config8(size_t offset) const {
  return device_config_fits(offset, 1) ? m_device[offset] : 0xff;
}

uint16_t PciTransport::config16(size_t offset) const {
  return device_config_fits(offset, 2)
             ? *reinterpret_cast<volatile const uint16_t*>(m_device + offset)
             : 0xffff;
}

uint32_t PciTransport::config32(size_t offset) const {
  return device_config_fits(offset, 4)
             ? *reinterpret_cast<volatile const uint32_t*>(m_device + offset)
             : ~0u;
}

uint32_t PciTransport::config_generation() const {
  return common<uint8_t>(kConfigGeneration);
}

}  // namespace nimbus::virtio
