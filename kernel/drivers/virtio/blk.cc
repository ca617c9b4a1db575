// virtio-blk: feature negotiation and configuration (5.2.3-5.2.5), requests on the queues
// (5.2.6: a header the device reads, the data, a status byte it writes), completion by
// interrupt, and the batching of adjacent waiting requests into one device request.
#include "kernel/drivers/virtio/blk.h"

#include <cstring>
#include <new>

#include "kernel/block/block_device.h"
#include "kernel/block/block_io.h"
#include "kernel/block/pending_requests.h"
#include "kernel/drivers/virtio/virtqueue.h"
#include "kernel/lib/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/physical.h"
#include "kernel/sched/cpu.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::virtio_blk {
namespace {

using block::Request;
using virtio::Buffer;
using virtio::SplitVirtqueue;

constexpr uint32_t kDeviceIdBlock = 2;

// 5.2.3: feature bits.
constexpr uint64_t kFeatureSizeMax = 1ull << 1;      // VIRTIO_BLK_F_SIZE_MAX
constexpr uint64_t kFeatureSegMax = 1ull << 2;       // VIRTIO_BLK_F_SEG_MAX
constexpr uint64_t kFeatureReadOnly = 1ull << 5;     // VIRTIO_BLK_F_RO
constexpr uint64_t kFeatureBlockSize = 1ull << 6;    // VIRTIO_BLK_F_BLK_SIZE
constexpr uint64_t kFeatureFlush = 1ull << 9;        // VIRTIO_BLK_F_FLUSH
constexpr uint64_t kFeatureMultiQueue = 1ull << 12;  // VIRTIO_BLK_F_MQ
constexpr uint64_t kFeatureDiscard = 1ull << 13;     // VIRTIO_BLK_F_DISCARD
constexpr uint64_t kFeatureWriteZeroes = 1ull << 14; // VIRTIO_BLK_F_WRITE_ZEROES
constexpr uint64_t kWantedFeatures = kFeatureSizeMax | kFeatureSegMax | kFeatureReadOnly | kFeatureBlockSize |
                                     kFeatureFlush | kFeatureMultiQueue | kFeatureDiscard | kFeatureWriteZeroes |
                                     virtio::kFeatureEventIndex;

// 5.2.4: struct virtio_blk_config offsets.
constexpr size_t kConfigCapacity = 0, kConfigSizeMax = 8, kConfigSegMax = 12, kConfigBlockSize = 20,
                 kConfigNumQueues = 34, kConfigMaxDiscardSectors = 36, kConfigMaxWriteZeroesSectors = 48;

// 5.2.6: request types and status values.
constexpr uint32_t kTypeIn = 0, kTypeOut = 1, kTypeFlush = 4, kTypeDiscard = 11, kTypeWriteZeroes = 13;
constexpr uint8_t kStatusOk = 0, kStatusUnsupported = 2;

struct RequestHeader {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};
// 5.2.6: the data of DISCARD and WRITE_ZEROES.
struct DiscardSegment {
  uint64_t sector;
  uint32_t sector_count;
  uint32_t flags;
};
static_assert(sizeof(RequestHeader) == 16 && sizeof(DiscardSegment) == 16);

// What the device sees of one request in flight: in one frame per queue, so each has a
// physical address.
struct SlotMemory {
  RequestHeader header;
  DiscardSegment segment;
  uint8_t status;
};

constexpr uint16_t kQueueSize = 256;
constexpr size_t kMaxQueues = 8;
constexpr uint16_t kSlots = kPageSize / sizeof(SlotMemory) < 64 ? kPageSize / sizeof(SlotMemory) : 64;
// Data buffers per device request: bounded by what a batch may hold here, whatever seg_max says.
constexpr uint32_t kMaxSegments = 32;
constexpr uint32_t kDefaultMaxSectors = 2048;  // 1 MiB per device request

struct Queue {
  uint16_t index = 0;
  Spinlock lock;  // guards everything below; taken in the interrupt handler too
  SplitVirtqueue ring;
  SlotMemory* slots = nullptr;
  uint64_t slots_physical = 0;
  block::RequestList in_flight[kSlots];  // the requests each slot carries, in disk order
  uint16_t free_slots[kSlots] = {};
  uint16_t free_count = 0;
  block::PendingRequests pending;
};

class Device final : public block::BlockDevice {
 public:
  Device(virtio::Transport& transport, size_t index) : m_transport(transport) {
    format_to(m_name, sizeof(m_name), "vd%c", static_cast<char>('a' + index));
  }
  const char* name() const override { return m_name; }
  const block::DeviceInfo& info() const override { return m_info; }
  void submit(Request& request) override;
  void submit_all(block::RequestList& requests) override;

  Result<> start();
  size_t queue_count() const { return m_queue_count; }
  uint64_t features() const { return m_features; }

 private:
  static void on_interrupt(void* context, uint16_t queue);
  Queue& queue_for_this_cpu() { return m_queues[this_cpu().index % m_queue_count]; }
  // Whether the device can take `request` now; otherwise it completes it with the error.
  bool accept(Request& request);
  void dispatch_locked(Queue& queue);
  // Moves finished requests to `done` and returns the slots; then takes waiting requests.
  void reap_locked(Queue& queue, block::RequestList& done);
  void complete_all(block::RequestList& done);

  virtio::Transport& m_transport;
  char m_name[8] = {};
  uint64_t m_features = 0;
  block::DeviceInfo m_info;
  Queue m_queues[kMaxQueues];
  size_t m_queue_count = 1;
};

bool Device::accept(Request& request) {
  if (auto checked = block::check(m_info, request); !checked) {
    block::complete(request, checked);
    return false;
  }
  // 5.2.6.2: without VIRTIO_BLK_F_FLUSH the device has no volatile cache to empty.
  if (request.operation == block::Operation::flush && !(m_features & kFeatureFlush)) {
    block::complete(request, {});
    return false;
  }
  return true;
}

void Device::submit(Request& request) {
  if (!accept(request)) return;
  Queue& queue = queue_for_this_cpu();
  bool interrupts = queue.lock.lock();
  queue.pending.push(request);
  dispatch_locked(queue);
  queue.lock.unlock(interrupts);
}

void Device::submit_all(block::RequestList& requests) {
  Queue& queue = queue_for_this_cpu();
  block::RequestList refused;
  bool interrupts = queue.lock.lock();
  while (Request* request = requests.pop_front()) {
    // accept() completes refused requests: not under the lock.
    if (block::check(m_info, *request) &&
        !(request->operation == block::Operation::flush && !(m_features & kFeatureFlush))) {
      queue.pending.push(*request);
    } else {
      refused.push_back(request);
    }
  }
  dispatch_locked(queue);
  queue.lock.unlock(interrupts);
  while (Request* request = refused.pop_front()) (void)accept(*request);
}

// 5.2.6: header (device-readable), data buffers, status byte (device-writable), one chain.
void Device::dispatch_locked(Queue& queue) {
  uint32_t max_segments = m_info.max_segments < kMaxSegments ? m_info.max_segments : kMaxSegments;
  while (!queue.pending.empty() && queue.free_count) {
    // Room for the header, the status and at least one data buffer.
    uint16_t free_descriptors = queue.ring.free_descriptors();
    if (free_descriptors < 3) return;
    uint32_t segments = free_descriptors - 2u < max_segments ? free_descriptors - 2u : max_segments;
    Request* batch[kMaxSegments];
    size_t count = queue.pending.take_batch({batch, segments}, m_info.max_sectors);
    uint16_t slot = queue.free_slots[--queue.free_count];
    SlotMemory& memory = queue.slots[slot];
    uint64_t memory_physical = queue.slots_physical + slot * sizeof(SlotMemory);
    const Request& first = *batch[0];
    memory.header = RequestHeader{0, 0, first.sector};
    memory.status = 0xff;
    Buffer buffers[kMaxSegments + 2];
    size_t used = 0;
    buffers[used++] = Buffer{memory_physical + offsetof(SlotMemory, header), sizeof(RequestHeader), false};
    switch (first.operation) {
      case block::Operation::read:
      case block::Operation::write: {
        bool read = first.operation == block::Operation::read;
        memory.header.type = read ? kTypeIn : kTypeOut;
        for (size_t i = 0; i < count; i++)
          buffers[used++] = Buffer{virt_to_phys(batch[i]->buffer), static_cast<uint32_t>(batch[i]->byte_count()), read};
        break;
      }
      case block::Operation::flush:
        memory.header = RequestHeader{kTypeFlush, 0, 0};
        break;
      case block::Operation::discard:
      case block::Operation::write_zeroes: {
        bool discard = first.operation == block::Operation::discard;
        memory.header = RequestHeader{discard ? kTypeDiscard : kTypeWriteZeroes, 0, 0};
        memory.segment = DiscardSegment{first.sector, first.sector_count, 0};
        buffers[used++] = Buffer{memory_physical + offsetof(SlotMemory, segment), sizeof(DiscardSegment), false};
        break;
      }
    }
    buffers[used++] = Buffer{memory_physical + offsetof(SlotMemory, status), 1, true};
    for (size_t i = 0; i < count; i++) queue.in_flight[slot].push_back(batch[i]);
    // Cannot fail: the descriptors were counted above.
    (void)queue.ring.submit({buffers, used}, slot);
    if (queue.ring.device_wants_notification()) m_transport.notify(queue.index);
  }
}

void Device::reap_locked(Queue& queue, block::RequestList& done) {
  for (;;) {
    while (auto finished = queue.ring.pop_used()) {
      uint32_t slot = finished->token;
      if (slot >= kSlots || queue.in_flight[slot].empty()) continue;
      uint8_t status = queue.slots[slot].status;
      Result<> result = status == kStatusOk            ? Result<>{}
                        : status == kStatusUnsupported ? Result<>(error(Errno::eopnotsupp))
                                                       : Result<>(error(Errno::eio));
      while (Request* request = queue.in_flight[slot].pop_front()) {
        request->result = result;
        done.push_back(request);
      }
      queue.free_slots[queue.free_count++] = static_cast<uint16_t>(slot);
    }
    // Re-arms the interrupt (with event indices: used_event at what was consumed), then
    // looks once more for a buffer used before the device saw it.
    queue.ring.suppress_interrupts(false);
    if (!queue.ring.has_used()) break;
  }
  dispatch_locked(queue);
}

void Device::complete_all(block::RequestList& done) {
  // The request may be freed by its handler: nothing touches it afterwards.
  while (Request* request = done.pop_front()) {
    if (request->on_complete) request->on_complete(*request);
  }
}

void Device::on_interrupt(void* context, uint16_t queue_index) {
  auto& device = *static_cast<Device*>(context);
  // First, so a level-triggered line drops before the end-of-interrupt.
  device.m_transport.acknowledge_interrupt();
  for (size_t i = 0; i < device.m_queue_count; i++) {
    Queue& queue = device.m_queues[i];
    if (queue_index != virtio::Transport::kAnyQueue && queue_index != queue.index) continue;
    block::RequestList done;
    queue.lock.lock_raw();  // interrupts are off in handlers
    device.reap_locked(queue, done);
    queue.lock.unlock_raw();
    device.complete_all(done);
  }
}

Result<> Device::start() {
  m_features = TRY(m_transport.negotiate(kWantedFeatures));
  TRY(m_transport.set_interrupt_handler(on_interrupt, this));
  // 4.1.4.3 / 4.2.2: a multi-field read is repeated until the generation is stable.
  uint32_t generation;
  do {
    generation = m_transport.config_generation();
    m_info.sector_count = m_transport.config32(kConfigCapacity) |
                          uint64_t{m_transport.config32(kConfigCapacity + 4)} << 32;
  } while (generation != m_transport.config_generation());
  m_info.read_only = m_features & kFeatureReadOnly;
  m_info.flush = m_features & kFeatureFlush;
  m_info.discard = m_features & kFeatureDiscard && m_transport.config32(kConfigMaxDiscardSectors) != 0;
  m_info.write_zeroes = m_features & kFeatureWriteZeroes && m_transport.config32(kConfigMaxWriteZeroesSectors) != 0;
  if (m_features & kFeatureBlockSize) {
    uint32_t size = m_transport.config32(kConfigBlockSize);
    // 5.2.5: a power of two of at least 512; anything else is ignored.
    if (size >= block::kSectorSize && size <= 65536 && (size & (size - 1)) == 0) m_info.logical_block_size = size;
  }
  m_info.max_segments = 1;
  if (m_features & kFeatureSegMax) {
    uint32_t segments = m_transport.config32(kConfigSegMax);
    m_info.max_segments = segments == 0 ? 1 : segments < kMaxSegments ? segments : kMaxSegments;
  }
  m_info.max_sectors = kDefaultMaxSectors;
  if (m_features & kFeatureSizeMax) {
    // size_max bounds one segment; a request is never larger than one segment can be here
    // unless merged, so keep batches within it too.
    uint32_t size_max = m_transport.config32(kConfigSizeMax);
    if (size_max >= m_info.logical_block_size && size_max / block::kSectorSize < m_info.max_sectors)
      m_info.max_sectors = size_max / block::kSectorSize;
  }
  // 5.2.5: one request queue per vCPU, as many as the device has.
  if (m_features & kFeatureMultiQueue) {
    size_t offered = m_transport.config16(kConfigNumQueues);
    size_t wanted = cpus::count() < kMaxQueues ? cpus::count() : kMaxQueues;
    m_queue_count = offered == 0 ? 1 : offered < wanted ? offered : wanted;
  }
  for (size_t i = 0; i < m_queue_count; i++) {
    Queue& queue = m_queues[i];
    queue.index = static_cast<uint16_t>(i);
    TRY(m_transport.set_up_queue(queue.index, queue.ring, kQueueSize));
    if (m_features & virtio::kFeatureEventIndex) queue.ring.enable_event_index();
    queue.slots_physical = TRY(frames::allocate(0));
    queue.slots = phys_to_virt<SlotMemory>(queue.slots_physical);
    memset(queue.slots, 0, kPageSize);
    for (uint16_t slot = 0; slot < kSlots; slot++) queue.free_slots[queue.free_count++] = slot;
  }
  m_transport.driver_ok();
  return {};
}

Device* g_devices[kMaxDevices];
size_t g_device_count = 0;

}  // namespace

size_t init(std::span<virtio::Transport* const> devices) {
  for (virtio::Transport* transport : devices) {
    if (g_device_count == kMaxDevices) break;
    if (transport->device_id() != kDeviceIdBlock) continue;
    auto* device = new (kNoThrow) Device(*transport, g_device_count);
    if (!device) break;
    if (auto started = device->start(); !started) {
      // The queues' memory stays with the failed device: it may still be reading it.
      print("nimbus: virtio-blk (%s) cannot start (error %d)\n", transport->location(),
            static_cast<int>(started.error()));
      continue;
    }
    if (!block::add_device(*device)) break;
    g_devices[g_device_count++] = device;
    const block::DeviceInfo& info = device->info();
    log("virtio-blk: %s, %s, %lu sectors, block %u, %s, queues %zu, segments %u, features 0x%lx\n",
        device->name(), transport->location(), info.sector_count, info.logical_block_size,
        info.read_only ? "read-only" : "read-write", device->queue_count(), info.max_segments, device->features());
  }
  return g_device_count;
}

}  // namespace nimbus::virtio_blk
