// Tests for virtio-net multiqueue: how many queue pairs the driver uses, their numbering, and
// the VQ_PAIRS_SET request as a device reads it from a split virtqueue (virtio 1.2, 5.1.6.5.5).
#include "kernel/drivers/virtio/net_multiqueue.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace nimbus::virtio_net {
namespace {

constexpr uint64_t kMultiqueue = kFeatureMultiqueue | kFeatureControlQueue;
constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kLargeReceiveArea = 512 * 1024;  // per pair, with GUEST_TSO

TEST(VirtioNetMultiqueue, DevicePairsNeedMqAndControlQueueAndASaneCount) {
  EXPECT_EQ(device_queue_pairs(kMultiqueue, 4), 4);
  EXPECT_EQ(device_queue_pairs(kFeatureMultiqueue, 4), 1);  // MQ without CTRL_VQ is unusable
  EXPECT_EQ(device_queue_pairs(kFeatureControlQueue, 4), 1);
  EXPECT_EQ(device_queue_pairs(0, 4), 1);
  EXPECT_EQ(device_queue_pairs(kMultiqueue, 0), 1);  // 5.1.4: 1 to 0x8000
  EXPECT_EQ(device_queue_pairs(kMultiqueue, 0x8001), 1);
  EXPECT_EQ(device_queue_pairs(kMultiqueue, 0x8000), 0x8000);
}

TEST(VirtioNetMultiqueue, OnePairPerCpuUpToTheDeviceAndTheCap) {
  EXPECT_EQ(choose_queue_pairs(2, 2, 256 * kMiB, kLargeReceiveArea), 2);
  EXPECT_EQ(choose_queue_pairs(8, 2, 256 * kMiB, kLargeReceiveArea), 2);   // one per vCPU
  EXPECT_EQ(choose_queue_pairs(2, 4, 256 * kMiB, kLargeReceiveArea), 2);   // what the device has
  EXPECT_EQ(choose_queue_pairs(64, 64, 4096 * kMiB, kLargeReceiveArea), kMaxQueuePairs);
  EXPECT_EQ(choose_queue_pairs(4, 1, 256 * kMiB, kLargeReceiveArea), 1);   // one vCPU: one pair
  EXPECT_EQ(choose_queue_pairs(1, 4, 256 * kMiB, kLargeReceiveArea), 1);
}

TEST(VirtioNetMultiqueue, SmallMemoryKeepsFewerPairs) {
  // 18 MiB: a 32nd is 576 KiB, room for one pair of 512 KiB or two of 256 KiB.
  EXPECT_EQ(choose_queue_pairs(4, 4, 18 * kMiB, kLargeReceiveArea), 1);
  EXPECT_EQ(choose_queue_pairs(4, 4, 18 * kMiB, 256 * 1024), 2);
  // 64 MiB: 2 MiB of receive buffers, four pairs of 512 KiB.
  EXPECT_EQ(choose_queue_pairs(8, 8, 64 * kMiB, kLargeReceiveArea), 4);
  // Even a tiny VM keeps its one pair.
  EXPECT_EQ(choose_queue_pairs(4, 4, 4 * kMiB, kLargeReceiveArea), 1);
}

TEST(VirtioNetMultiqueue, QueuesInterleaveAndTheControlQueueFollowsTheDevicesPairs) {
  EXPECT_EQ(receive_queue(0), 0);
  EXPECT_EQ(transmit_queue(0), 1);
  EXPECT_EQ(receive_queue(3), 6);
  EXPECT_EQ(transmit_queue(3), 7);
  EXPECT_EQ(control_queue(1), 2);
  EXPECT_EQ(control_queue(4), 8);  // past all four pairs even when fewer are used
}

// A device reading the request from the queue's rings (2.7.13) and answering it (2.7.8).
TEST(VirtioNetMultiqueue, PairsSetRequestIsWhatTheDeviceExpects) {
  constexpr uint16_t kSize = 16;
  virtio::VirtqueueLayout layout = virtio::VirtqueueLayout::for_size(kSize);
  std::vector<uint8_t> memory(layout.total, 0);
  virtio::SplitVirtqueue queue;
  queue.attach(memory.data(), kSize);

  PairsSetCommand command{};
  // On the host "physical" addresses are plain pointers the fake device follows.
  auto request = pairs_set_request(command, reinterpret_cast<uint64_t>(&command), 3);
  ASSERT_TRUE(queue.submit(request, 42));

  uint16_t available_index;
  std::memcpy(&available_index, &memory[layout.available + 2], 2);
  ASSERT_EQ(available_index, 1);
  uint16_t head;
  std::memcpy(&head, &memory[layout.available + 4], 2);
  std::vector<virtio::Descriptor> chain;
  for (uint16_t id = head;;) {
    virtio::Descriptor d;
    std::memcpy(&d, &memory[layout.descriptors + id * sizeof(d)], sizeof(d));
    chain.push_back(d);
    if (!(d.flags & virtio::kDescriptorNext)) break;
    id = d.next;
  }
  // 5.1.6.5: class and command, then the data, both read-only, then the one-byte ack.
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0].length, 2u);
  EXPECT_FALSE(chain[0].flags & virtio::kDescriptorWrite);
  EXPECT_EQ(chain[1].length, 2u);
  EXPECT_FALSE(chain[1].flags & virtio::kDescriptorWrite);
  EXPECT_EQ(chain[2].length, 1u);
  EXPECT_TRUE(chain[2].flags & virtio::kDescriptorWrite);
  const auto* header = reinterpret_cast<const uint8_t*>(chain[0].address);
  EXPECT_EQ(header[0], 4);  // VIRTIO_NET_CTRL_MQ
  EXPECT_EQ(header[1], 0);  // VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET
  const auto* pairs = reinterpret_cast<const uint8_t*>(chain[1].address);
  EXPECT_EQ(pairs[0] | pairs[1] << 8, 3);  // little-endian
  EXPECT_EQ(command.ack, kControlNoAck);

  // The device acks and returns the chain.
  *reinterpret_cast<uint8_t*>(chain[2].address) = kControlOk;
  virtio::UsedElement used{head, 1};
  std::memcpy(&memory[layout.used + 4], &used, sizeof(used));
  uint16_t used_index = 1;
  std::memcpy(&memory[layout.used + 2], &used_index, 2);
  auto completion = queue.pop_used();
  ASSERT_TRUE(completion);
  EXPECT_EQ(completion->token, 42u);
  EXPECT_EQ(command.ack, kControlOk);
  EXPECT_EQ(queue.free_descriptors(), kSize);
}

}  // namespace
}  // namespace nimbus::virtio_net
