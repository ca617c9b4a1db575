// MmioTransport: a virtio device behind a virtio-mmio register window (virtio 1.2, 4.2),
// modern interface (version 2) only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/drivers/virtio/virtqueue.h"
#include "kernel/lib/result.h"
#include "kernel/platform/kvm/virtio_mmio_devices.h"

namespace nimbus::virtio {

constexpr uint64_t kFeatureVersion1 = 1ull << 32;  // VIRTIO_F_VERSION_1

class MmioTransport {
 public:
  // Maps the window and checks the magic value and version. A legacy (version 1) device is
  // ENODEV with a message saying how to get a modern one; an empty slot (device id 0) is
  // ENODEV silently.
  static Result<MmioTransport> try_open(const VirtioMmioDevice& device);

  uint32_t device_id() const { return read(kDeviceId); }
  uint32_t irq() const { return m_irq; }

  // 3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, then offer `wanted` & what the device has
  // (VERSION_1 is required) and check FEATURES_OK. Returns the accepted features.
  Result<uint64_t> negotiate(uint64_t wanted);
  // 4.2.3.2: gives queue `index` zeroed memory for min(QueueNumMax, max_size) entries
  // (rounded down to a power of two) and marks it ready.
  Result<> set_up_queue(uint16_t index, SplitVirtqueue& queue, uint16_t max_size);
  // 3.1.1 step 8: the device may now use its queues.
  void driver_ok();
  void fail();
  void notify(uint16_t queue_index) { write(kQueueNotify, queue_index); }
  // Reads InterruptStatus and acknowledges it; process the queues afterwards, so that
  // nothing the device adds after the acknowledgement goes unnoticed.
  uint32_t acknowledge_interrupt();

  uint32_t config32(size_t offset) const { return read(kConfig + offset); }
  // 4.2.2.2: device configuration fields are read with their own width (virtio-net's MAC
  // bytes, 16-bit status and MTU).
  uint8_t config8(size_t offset) const {
    return reinterpret_cast<volatile const uint8_t*>(m_registers)[kConfig + offset];
  }
  uint16_t config16(size_t offset) const {
    return reinterpret_cast<volatile const uint16_t*>(m_registers)[(kConfig + offset) / 2];
  }
  // 4.2.2: ConfigGeneration, to read multi-field configuration consistently.
  uint32_t config_generation() const { return read(kConfigGeneration); }

 private:
  // 4.2.2: register offsets.
  static constexpr size_t kMagic = 0x000, kVersion = 0x004, kDeviceId = 0x008, kDeviceFeatures = 0x010,
                          kDeviceFeaturesSelect = 0x014, kDriverFeatures = 0x020,
                          kDriverFeaturesSelect = 0x024, kQueueSelect = 0x030, kQueueSizeMax = 0x034,
                          kQueueSize = 0x038, kQueueReady = 0x044, kQueueNotify = 0x050,
                          kInterruptStatus = 0x060, kInterruptAck = 0x064, kStatus = 0x070, kConfigGeneration = 0x0fc,
                          kQueueDescriptorLow = 0x080, kQueueDriverLow = 0x090, kQueueDeviceLow = 0x0a0,
                          kConfig = 0x100;  // each 64-bit address: low word, then high word at +4

  MmioTransport(volatile uint32_t* registers, uint32_t irq) : m_registers(registers), m_irq(irq) {}
  uint32_t read(size_t offset) const { return m_registers[offset / 4]; }
  void write(size_t offset, uint32_t value) { m_registers[offset / 4] = value; }
  void write64(size_t low_offset, uint64_t value) {
    write(low_offset, static_cast<uint32_t>(value));
    write(low_offset + 4, static_cast<uint32_t>(value >> 32));
  }

  volatile uint32_t* m_registers;
  uint32_t m_irq;
};

}  // namespace nimbus::virtio
