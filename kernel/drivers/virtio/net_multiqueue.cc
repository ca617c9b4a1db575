// virtio-net multiqueue: the number of queue pairs and the VQ_PAIRS_SET request.
#include "kernel/drivers/virtio/net_multiqueue.h"

#include <cstddef>

namespace nimbus::virtio_net {

uint16_t device_queue_pairs(uint64_t features, uint16_t max_virtqueue_pairs) {
  bool multiqueue = (features & kFeatureMultiqueue) && (features & kFeatureControlQueue);
  if (!multiqueue || max_virtqueue_pairs < 1 || max_virtqueue_pairs > kMaxDeviceQueuePairs) return 1;
  return max_virtqueue_pairs;
}

uint16_t choose_queue_pairs(uint16_t device_pairs, size_t cpus, uint64_t memory_bytes,
                            uint64_t receive_bytes_per_pair) {
  uint16_t pairs = device_pairs < kMaxQueuePairs ? device_pairs : kMaxQueuePairs;
  if (cpus < pairs) pairs = static_cast<uint16_t>(cpus);
  uint64_t budget = memory_bytes / kReceiveMemoryShare;
  while (pairs > 1 && uint64_t{pairs} * receive_bytes_per_pair > budget) pairs--;
  return pairs ? pairs : 1;
}

std::array<virtio::Buffer, 3> pairs_set_request(PairsSetCommand& command, uint64_t physical, uint16_t pairs) {
  command.command_class = kControlMq;
  command.command = kControlMqPairsSet;
  command.virtqueue_pairs = pairs;  // x86 is little-endian
  command.ack = kControlNoAck;
  return {{
      {physical + offsetof(PairsSetCommand, command_class), 2, false},
      {physical + offsetof(PairsSetCommand, virtqueue_pairs), 2, false},
      {physical + offsetof(PairsSetCommand, ack), 1, true},
  }};
}

}  // namespace nimbus::virtio_net
