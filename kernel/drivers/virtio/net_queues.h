// virtio-net's driver state, shared by net.cc (start-up, transmit) and net_receive.cc: the
// device, and its queue pairs, each receive queue with its own lock, buffers and thread and
// each transmit queue with its own lock, so that CPUs working on different pairs never meet.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "kernel/drivers/virtio/net.h"
#include "kernel/drivers/virtio/transport.h"
#include "kernel/drivers/virtio/virtqueue.h"
#include "kernel/net/packet.h"
#include "kernel/sync/spinlock.h"
#include "kernel/sync/wait_queue.h"

namespace nimbus::virtio_net {

// 5.1.3: the feature bits both halves of the driver look at.
constexpr uint64_t kFeatureGuestCsum = 1ull << 1;  // VIRTIO_NET_F_GUEST_CSUM: it may skip checking them for us
constexpr uint64_t kFeatureMergeRx = 1ull << 15;   // VIRTIO_NET_F_MRG_RXBUF

// 5.1.6: struct virtio_net_hdr, as VERSION_1 has it (num_buffers always present).
struct NetHeader {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t header_length;
  uint16_t gso_size;
  uint16_t checksum_start;
  uint16_t checksum_offset;
  uint16_t num_buffers;
};
static_assert(sizeof(NetHeader) == 12);
constexpr uint8_t kHeaderNeedsChecksum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr uint8_t kHeaderDataValid = 2;      // VIRTIO_NET_HDR_F_DATA_VALID

constexpr size_t kEthernetHeader = 14;

// One receive queue: its ring, buffers and thread's wake-up, guarded by `lock` (taken by the
// interrupt handler too).
struct ReceiveQueue {
  Device::State* device = nullptr;
  uint16_t index = 0;             // the virtqueue's number
  std::optional<uint32_t> cpu;    // the CPU its thread is pinned to (several pairs only)
  Spinlock lock;
  virtio::SplitVirtqueue ring;
  uint64_t area = 0;  // physical
  uint32_t buffer_size = 0;
  uint32_t buffer_count = 0;
  bool pending = false;
  bool sleeping = false;       // the receive thread waits, the ring's interrupts on
  bool idle_watched = false;   // an idle CPU polls the ring instead, its interrupts off
  uint64_t last_frame_ns = 0;  // when the receive thread last handled frames
  WaitQueue waiters;
  ReceiveHandler handler = nullptr;  // each queue's copy, so a frame takes no shared lock
  void* handler_context = nullptr;
  net::DeviceStatistics statistics;  // its rx_* fields
  // The receive thread's alone: a merged frame being gathered.
  net::Packet* partial = nullptr;
  uint8_t partial_flags = 0;
  uint16_t partial_start = 0, partial_offset = 0;
  uint16_t buffers_left = 0;     // of the frame being gathered
  uint16_t buffers_to_skip = 0;  // of a frame being dropped
};

// One transmit queue, guarded by `lock`: the packets the device holds, by slot.
struct TransmitQueue {
  uint16_t index = 0;  // the virtqueue's number
  Spinlock lock;
  virtio::SplitVirtqueue ring;
  net::Packet* packets[virtio::SplitVirtqueue::kMaxSize] = {};
  uint16_t free_slots[virtio::SplitVirtqueue::kMaxSize] = {};
  uint16_t free_count = 0;
  net::DeviceStatistics statistics;  // its tx_* fields
};

struct Device::State {
  State(virtio::Transport& transport_, size_t index_) : device(*this), transport(transport_), index(index_) {}

  Device device;
  virtio::Transport& transport;
  size_t index;
  char name[8] = {};
  uint64_t features = 0;
  net::MacAddress mac{};
  uint32_t mtu = 0;
  // The pairs set up (`pairs` of each array; 0 until all are, for the interrupt handler), and
  // those the device uses: as many once it acknowledged VQ_PAIRS_SET, one before or if it refused.
  uint16_t pairs = 0;
  std::atomic<uint16_t> active_pairs{1};
  ReceiveQueue* receive = nullptr;
  TransmitQueue* transmit = nullptr;
};

// net_receive.cc: what start() needs of the receive side.
void post_receive_buffer_locked(ReceiveQueue& queue, uint32_t index);
void receive_thread(void* queue);
// Every vector of the device (one line on virtio-mmio; on virtio-pci one per receive queue
// and one for the configuration) wakes the receive threads whose rings have work.
void on_device_interrupt(void* state, uint16_t queue);
// scheduler::IdlePoller's three functions, for one receive queue.
bool idle_watch_begin(void* queue);
bool idle_watch_poll(void* queue);
bool idle_watch_end(void* queue);

}  // namespace nimbus::virtio_net
