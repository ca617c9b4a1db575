// Transport: what a virtio driver needs from the bus its device sits on (virtio 1.2, 4.1
// PCI, 4.2 MMIO), so each device driver is written once for every transport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "kernel/drivers/virtio/virtqueue.h"
#include "kernel/lib/result.h"

namespace nimbus::virtio {

constexpr uint64_t kFeatureVersion1 = 1ull << 32;  // VIRTIO_F_VERSION_1

// 2.1: device status bits.
namespace status {
constexpr uint8_t kAcknowledge = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kFailed = 128;
}  // namespace status

// 4.1.4.5 / 4.2.2: interrupt causes, as acknowledge_interrupt() returns them.
constexpr uint32_t kInterruptUsedBuffer = 1, kInterruptConfigChange = 2;

// Where a queue's interrupt goes. virtio-pci gives each queue its own MSI-X vector, aimed at
// the CPU whose local APIC id is `apic_id` (none: this CPU), or none at all for a queue the
// driver polls or reclaims by itself (`wanted` false), which then spends no vector; virtio-mmio
// has one line for everything, routed once, and ignores both.
struct QueueInterrupt {
  bool wanted = true;
  std::optional<uint32_t> apic_id;
};

class Transport {
 public:
  // Runs in interrupt context (interrupts off; the dispatcher sends the end-of-interrupt
  // afterwards). `queue` is the queue whose own vector fired, or kAnyQueue when the
  // transport cannot tell (one line for everything, or the configuration vector): then look
  // at every queue and the configuration.
  using InterruptHandler = void (*)(void* context, uint16_t queue);
  static constexpr uint16_t kAnyQueue = 0xffff;

  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  virtual uint32_t device_id() const = 0;
  // Where the device is, for messages ("virtio-mmio at 0xfeb00000, irq 16", "virtio-pci 00:02.0").
  const char* location() const { return m_location; }

  // 3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, then offer `wanted` & what the device has
  // (VERSION_1 is required) and check FEATURES_OK. Returns the accepted features.
  Result<uint64_t> negotiate(uint64_t wanted);
  // After negotiate and before set_up_queue: where the device's interrupts go (a vector from
  // the registry, routed to this CPU). Without it the queues get no interrupts.
  virtual Result<> set_interrupt_handler(InterruptHandler handler, void* context) = 0;
  // 4.1.5.1.3 / 4.2.3.2: gives queue `index` zeroed memory for min(device maximum,
  // max_size) entries (rounded down to a power of two), its interrupt, and enables it.
  Result<> set_up_queue(uint16_t index, SplitVirtqueue& queue, uint16_t max_size,
                        const QueueInterrupt& interrupt = {});
  // 3.1.1 step 8: the device may now use its queues.
  void driver_ok() { set_status(static_cast<uint8_t>(status() | status::kDriverOk)); }
  void fail() { set_status(static_cast<uint8_t>(status() | status::kFailed)); }
  virtual void notify(uint16_t queue_index) = 0;
  // Acknowledges a line interrupt (virtio-mmio's InterruptStatus, read and written back) and
  // returns its causes; process the queues afterwards, so that nothing the device adds after
  // the acknowledgement goes unnoticed. With MSI-X there is nothing to acknowledge (4.1.4.5:
  // the ISR is not read) and the result is both causes: the handler's `queue` says which.
  virtual uint32_t acknowledge_interrupt() = 0;

  // Device-specific configuration (4.1.4.6 / 4.2.2), read with the field's own width;
  // all ones past its end.
  virtual uint8_t config8(size_t offset) const = 0;
  virtual uint16_t config16(size_t offset) const = 0;
  virtual uint32_t config32(size_t offset) const = 0;
  // Changes whenever the configuration does: read it before and after a multi-field read.
  virtual uint32_t config_generation() const = 0;

 protected:
  Transport() = default;
  ~Transport() = default;

  virtual uint8_t status() const = 0;
  // Writing 0 resets the device and returns once the reset is complete.
  virtual void set_status(uint8_t status) = 0;
  // 32 feature bits from `select` * 32 on.
  virtual uint32_t device_features(uint32_t select) = 0;
  virtual void set_driver_features(uint32_t select, uint32_t features) = 0;
  // Selects queue `index`: its maximum size; EBUSY if it is already enabled, ENOENT if the
  // device has no such queue.
  virtual Result<uint16_t> queue_size_max(uint16_t index) = 0;
  // Gives the selected queue its size, ring addresses (physical) and interrupt, then enables it.
  virtual Result<> enable_queue(uint16_t index, uint16_t size, uint64_t descriptors,
                                uint64_t driver, uint64_t device, const QueueInterrupt& interrupt) = 0;

  char m_location[48] = {};
};

}  // namespace nimbus::virtio
