// MmioTransport: a virtio device behind a virtio-mmio register window (virtio 1.2, 4.2),
// modern interface (version 2) only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/drivers/virtio/transport.h"
#include "kernel/lib/result.h"
#include "kernel/platform/kvm/virtio_mmio_devices.h"

namespace nimbus::virtio {

class MmioTransport final : public Transport {
 public:
  // Maps the window and checks the magic value and version. A legacy (version 1) device is
  // ENODEV with a message saying how to get a modern one; an empty slot (device id 0) is
  // ENODEV silently. The transport lives for good (its interrupt handler points at it).
  static Result<MmioTransport*> try_open(const VirtioMmioDevice& device);

  uint32_t device_id() const override { return read(kDeviceId); }
  uint32_t irq() const { return m_irq; }

  // The interrupt line is level-triggered and active high (the DSDT says so; Firecracker
  // likewise): it stays raised until acknowledged, so none is lost while another is handled.
  Result<> set_interrupt_handler(InterruptHandler handler, void* context) override;
  void notify(uint16_t queue_index) override { write(kQueueNotify, queue_index); }
  uint32_t acknowledge_interrupt() override;

  uint8_t config8(size_t offset) const override {
    return reinterpret_cast<volatile const uint8_t*>(m_registers)[kConfig + offset];
  }
  uint16_t config16(size_t offset) const override {
    return reinterpret_cast<volatile const uint16_t*>(m_registers)[(kConfig + offset) / 2];
  }
  uint32_t config32(size_t offset) const override { return read(kConfig + offset); }
  uint32_t config_generation() const override { return read(kConfigGeneration); }

 private:
  // 4.2.2: register offsets.
  static constexpr size_t kMagic = 0x000, kVersion = 0x004, kDeviceId = 0x008, kDeviceFeatures = 0x010,
                          kDeviceFeaturesSelect = 0x014, kDriverFeatures = 0x020,
                          kDriverFeaturesSelect = 0x024, kQueueSelect = 0x030, kQueueSizeMax = 0x034,
                          kQueueSize = 0x038, kQueueReady = 0x044, kQueueNotify = 0x050,
                          kInterruptStatus = 0x060, kInterruptAck = 0x064, kStatus = 0x070,
                          kQueueDescriptorLow = 0x080, kQueueDriverLow = 0x090, kQueueDeviceLow = 0x0a0,
                          kConfigGeneration = 0x0fc,
                          kConfig = 0x100;  // each 64-bit address: low word, then high word at +4

  MmioTransport(volatile uint32_t* registers, const VirtioMmioDevice& device);
  uint32_t read(size_t offset) const { return m_registers[offset / 4]; }
  void write(size_t offset, uint32_t value) { m_registers[offset / 4] = value; }
  void write64(size_t low_offset, uint64_t value) {
    write(low_offset, static_cast<uint32_t>(value));
    write(low_offset + 4, static_cast<uint32_t>(value >> 32));
  }
  static void on_vector(void* self);

  uint8_t status() const override { return static_cast<uint8_t>(read(kStatus)); }
  void set_status(uint8_t status) override { write(kStatus, status); }
  uint32_t device_features(uint32_t select) override;
  void set_driver_features(uint32_t select, uint32_t features) override;
  Result<uint16_t> queue_size_max(uint16_t index) override;
  Result<> enable_queue(uint16_t index, uint16_t size, uint64_t descriptors, uint64_t driver,
                        uint64_t device, const QueueInterrupt& interrupt) override;

  volatile uint32_t* m_registers;
  uint32_t m_irq;
  InterruptHandler m_handler = nullptr;
  void* m_context = nullptr;
};

}  // namespace nimbus::virtio
