// MmioTransport: device initialization and queue setup through the MMIO registers.
#include "kernel/drivers/virtio/mmio_transport.h"

#include <bit>

#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/lib/console.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/physical.h"

namespace nimbus::virtio {
namespace {

constexpr uint32_t kMagicValue = 0x74726976;  // "virt"
// 2.1: device status bits.
constexpr uint32_t kAcknowledge = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kFailed = 128;

}  // namespace

Result<MmioTransport> MmioTransport::try_open(const VirtioMmioDevice& device) {
  auto* registers = static_cast<volatile uint32_t*>(
      mmu::map_physical(device.base, device.size < kPageSize ? kPageSize : device.size, mmu::Caching::uncached));
  MmioTransport transport(registers, device.irq);
  if (transport.read(kMagic) != kMagicValue) {
    log("virtio-mmio at 0x%lx: no virtio magic value\n", device.base);
    return error(Errno::enodev);
  }
  if (transport.read(kDeviceId) == 0) return error(Errno::enodev);
  if (uint32_t version = transport.read(kVersion); version != 2) {
    print("nimbus: virtio-mmio at 0x%lx is version %u (legacy); only virtio 1.x (version 2) is supported: "
          "give QEMU -global virtio-mmio.force-legacy=false\n",
          device.base, version);
    return error(Errno::enodev);
  }
  return transport;
}

Result<uint64_t> MmioTransport::negotiate(uint64_t wanted) {
  write(kStatus, 0);  // reset
  write(kStatus, kAcknowledge);
  write(kStatus, kAcknowledge | kDriver);
  uint64_t offered = 0;
  for (uint32_t half = 0; half < 2; half++) {
    write(kDeviceFeaturesSelect, half);
    offered |= static_cast<uint64_t>(read(kDeviceFeatures)) << (32 * half);
  }
  uint64_t accepted = offered & (wanted | kFeatureVersion1);
  if (!(accepted & kFeatureVersion1)) {
    fail();
    return error(Errno::enodev);
  }
  for (uint32_t half = 0; half < 2; half++) {
    write(kDriverFeaturesSelect, half);
    write(kDriverFeatures, static_cast<uint32_t>(accepted >> (32 * half)));
  }
  write(kStatus, kAcknowledge | kDriver | kFeaturesOk);
  if (!(read(kStatus) & kFeaturesOk)) {
    fail();
    return error(Errno::enodev);
  }
  return accepted;
}

Result<> MmioTransport::set_up_queue(uint16_t index, SplitVirtqueue& queue, uint16_t max_size) {
  write(kQueueSelect, index);
  if (read(kQueueReady)) return error(Errno::ebusy);
  uint32_t device_max = read(kQueueSizeMax);
  if (device_max == 0) return error(Errno::enoent);
  uint32_t limit = device_max < max_size ? device_max : max_size;
  if (limit > SplitVirtqueue::kMaxSize) limit = SplitVirtqueue::kMaxSize;
  auto size = static_cast<uint16_t>(std::bit_floor(limit));
  VirtqueueLayout layout = VirtqueueLayout::for_size(size);
  unsigned order = 0;
  while ((kPageSize << order) < layout.total) order++;
  uint64_t memory = TRY(frames::allocate(order));
  __builtin_memset(phys_to_virt(memory), 0, kPageSize << order);
  queue.attach(phys_to_virt(memory), size);
  write(kQueueSize, size);
  write64(kQueueDescriptorLow, memory + layout.descriptors);
  write64(kQueueDriverLow, memory + layout.available);
  write64(kQueueDeviceLow, memory + layout.used);
  write(kQueueReady, 1);
  return {};
}

void MmioTransport::driver_ok() { write(kStatus, read(kStatus) | kDriverOk); }

void MmioTransport::fail() { write(kStatus, read(kStatus) | kFailed); }

uint32_t MmioTransport::acknowledge_interrupt() {
  uint32_t status = read(kInterruptStatus);
  if (status) write(kInterruptAck, status);
  return status;
}

}  // namespace nimbus::virtio
