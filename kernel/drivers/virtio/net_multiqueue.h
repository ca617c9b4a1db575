// virtio-net multiqueue (virtio 1.2, 5.1.2, 5.1.6.5.5): how many queue pairs to use, which
// virtqueue is which, and the control command that turns the pairs on. Pure logic, so the
// host unit tests check it against a fake device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <array>
#include <span>

#include "kernel/drivers/virtio/virtqueue.h"

namespace nimbus::virtio_net {

constexpr uint64_t kFeatureControlQueue = 1ull << 17;  // VIRTIO_NET_F_CTRL_VQ
constexpr uint64_t kFeatureMultiqueue = 1ull << 22;    // VIRTIO_NET_F_MQ (needs CTRL_VQ)

// More pairs than this buys nothing on the VMs Nimbus runs, and each costs receive buffers,
// a thread and an MSI-X vector.
constexpr uint16_t kMaxQueuePairs = 8;
// 5.1.4: max_virtqueue_pairs holds 1 to 0x8000.
constexpr uint16_t kMaxDeviceQueuePairs = 0x8000;
// Receive buffers may take at most this share of the VM's memory: above one pair, pairs are
// dropped until they fit (a 16 MiB redis VM keeps one pair of 512 KiB).
constexpr uint64_t kReceiveMemoryShare = 32;

// 5.1.2: receiveqN is 2(N-1), transmitqN 2(N-1)+1 (pairs counted from 0 here).
constexpr uint16_t receive_queue(uint16_t pair) { return static_cast<uint16_t>(2 * pair); }
constexpr uint16_t transmit_queue(uint16_t pair) { return static_cast<uint16_t>(2 * pair + 1); }
// The control queue follows every pair the device has, used or not: 2 * max_virtqueue_pairs
// with MQ, else 2.
constexpr uint16_t control_queue(uint16_t device_pairs) { return static_cast<uint16_t>(2 * device_pairs); }

// The device's pairs from max_virtqueue_pairs: 1 without MQ or for a value outside 1-0x8000.
uint16_t device_queue_pairs(uint64_t features, uint16_t max_virtqueue_pairs);
// The pairs to use: one per vCPU, at most kMaxQueuePairs and what the device has, and no more
// than kReceiveMemoryShare of `memory_bytes` in receive buffers of `receive_bytes_per_pair`.
uint16_t choose_queue_pairs(uint16_t device_pairs, size_t cpus, uint64_t memory_bytes,
                            uint64_t receive_bytes_per_pair);

// 5.1.6.5: struct virtio_net_ctrl for VIRTIO_NET_CTRL_MQ / VQ_PAIRS_SET: class and command,
// then struct virtio_net_ctrl_mq, both read by the device, then the ack the device writes.
struct PairsSetCommand {
  uint8_t command_class;
  uint8_t command;
  uint16_t virtqueue_pairs;  // little-endian, as every VERSION_1 field
  uint8_t ack;
};
constexpr uint8_t kControlMq = 4;            // VIRTIO_NET_CTRL_MQ
constexpr uint8_t kControlMqPairsSet = 0;    // VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET
constexpr uint8_t kControlOk = 0;            // VIRTIO_NET_OK
constexpr uint8_t kControlNoAck = 0xff;      // not an ack: the device has not answered

// Fills `command` (at guest-physical `physical`) and returns the three buffers of its request:
// the header and the pair count for the device to read, the ack for it to write.
std::array<virtio::Buffer, 3> pairs_set_request(PairsSetCommand& command, uint64_t physical, uint16_t pairs);

}  // namespace nimbus::virtio_net
