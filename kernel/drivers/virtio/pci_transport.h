// PciTransport: a virtio device on the PCI bus through the modern interface (virtio 1.2,
// 4.1), its interrupts through MSI-X: one vector for configuration changes and one per queue.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/drivers/pci/config_access.h"
#include "kernel/drivers/pci/enumerate.h"
#include "kernel/drivers/pci/msix.h"
#include "kernel/drivers/virtio/transport.h"

namespace nimbus::virtio {

class PciTransport final : public Transport {
 public:
  // Finds the common, notify and device-configuration structures and the MSI-X table, maps
  // them and lets the function master the bus. ENODEV for a function that is no virtio
  // device, lacks a structure, or has no MSI-X (legacy INTx needs the ACPI _PRT routing,
  // which Nimbus cannot read without an AML interpreter). The transport lives for good.
  static Result<PciTransport*> try_open(pci::ConfigAccess& access, const pci::Function& function);

  uint32_t device_id() const override { return m_device_id; }

  // 4.1.5.1.2: MSI-X on, table entry 0 for configuration changes (and for any queue the
  // table has no entry of its own left for, which then reports kAnyQueue).
  Result<> set_interrupt_handler(InterruptHandler handler, void* context) override;
  void notify(uint16_t queue_index) override;
  uint32_t acknowledge_interrupt() override {
    return kInterruptUsedBuffer | kInterruptConfigChange;
  }

  uint8_t config8(size_t offset) const override;
  uint16_t config16(size_t offset) const override;
  uint32_t config32(size_t offset) const override;
  uint32_t config_generation() const override;

  static constexpr uint16_t kMaxQueues = 64;
  static constexpr uint16_t kMaxVectors = 16;

 private:
  struct Vector {
    PciTransport* transport = nullptr;
    uint16_t queue = kAnyQueue;
    uint8_t vector = 0;
  };

  PciTransport(pci::ConfigAccess& access, const pci::Function& function, uint32_t device_id);
  static void on_vector(void* vector);

  template <typename T>
  T common(size_t offset) const {
    return *reinterpret_cast<volatile const T*>(m_common + offset);
  }
  template <typename T>
  void set_common(size_t offset, T value) {
    *reinterpret_cast<volatile T*>(m_common + offset) = value;
  }
  bool device_config_fits(size_t offset, size_t width) const {
    return offset <= m_device_length && width <= m_device_length - offset;
  }
  // Takes the next MSI-X entry and a vector for `queue`, aimed at local APIC `apic_id`;
  // entry 0 when none is left.
  Result<uint16_t> allocate_entry(uint16_t queue, uint32_t apic_id);

  uint8_t status() const override;
  void set_status(uint8_t status) override;
  uint32_t device_features(uint32_t select) override;
  void set_driver_features(uint32_t select, uint32_t features) override;
  Result<uint16_t> queue_size_max(uint16_t index) override;
  Result<> enable_queue(uint16_t index, uint16_t size, uint64_t descriptors, uint64_t driver,
                        uint64_t device, const QueueInterrupt& interrupt) override;

  pci::ConfigAccess& m_access;
  pci::Address m_address;
  uint32_t m_device_id;
  volatile uint8_t* m_common = nullptr;
  volatile uint8_t* m_notify = nullptr;
  uint32_t m_notify_length = 0;
  uint32_t m_notify_multiplier = 0;
  volatile uint8_t* m_device = nullptr;
  uint32_t m_device_length = 0;
  uint16_t m_notify_offsets[kMaxQueues] = {};

  pci::MsixCapability m_msix;
  pci::MsixTable m_table;
  InterruptHandler m_handler = nullptr;
  void* m_context = nullptr;
  Vector m_vectors[kMaxVectors];
  uint16_t m_vector_count = 0;  // MSI-X entries in use, entry 0 (configuration) first
};

}  // namespace nimbus::virtio
