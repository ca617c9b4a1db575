// Transport: feature negotiation and queue memory, the same on every transport.
#include "kernel/drivers/virtio/transport.h"

#include <bit>

#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/physical.h"

namespace nimbus::virtio {

Result<uint64_t> Transport::negotiate(uint64_t wanted) {
  set_status(0);  // reset
  set_status(status::kAcknowledge);
  set_status(status::kAcknowledge | status::kDriver);
  uint64_t offered = 0;
  for (uint32_t half = 0; half < 2; half++)
    offered |= static_cast<uint64_t>(device_features(half)) << (32 * half);
  uint64_t accepted = offered & (wanted | kFeatureVersion1);
  if (!(accepted & kFeatureVersion1)) {
    fail();
    return error(Errno::enodev);
  }
  for (uint32_t half = 0; half < 2; half++)
    set_driver_features(half, static_cast<uint32_t>(accepted >> (32 * half)));
  set_status(status::kAcknowledge | status::kDriver | status::kFeaturesOk);
  if (!(status() & status::kFeaturesOk)) {
    fail();
    return error(Errno::enodev);
  }
  return accepted;
}

Result<> Transport::set_up_queue(uint16_t index, SplitVirtqueue& queue, uint16_t max_size,
                                 const QueueInterrupt& interrupt) {
  uint32_t limit = TRY(queue_size_max(index));
  if (limit > max_size) limit = max_size;
  if (limit > SplitVirtqueue::kMaxSize) limit = SplitVirtqueue::kMaxSize;
  if (limit == 0) return error(Errno::einval);
  auto size = static_cast<uint16_t>(std::bit_floor(limit));
  VirtqueueLayout layout = VirtqueueLayout::for_size(size);
  unsigned order = 0;
  while ((kPageSize << order) < layout.total) order++;
  uint64_t memory = TRY(frames::allocate(order));
  __builtin_memset(phys_to_virt(memory), 0, kPageSize << order);
  if (auto enabled = enable_queue(index, size, memory + layout.descriptors,
                                  memory + layout.available, memory + layout.used, interrupt);
      !enabled) {
    frames::free(memory, order);
    return enabled;
  }
  queue.attach(phys_to_virt(memory), size);
  return {};
}

}  // namespace nimbus::virtio
