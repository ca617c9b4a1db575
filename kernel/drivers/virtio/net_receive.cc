// virtio-net's receive side, per receive queue: the buffers, the thread that copies frames out
// of them into fresh Packets, the interrupt that wakes it and the idle CPU that may poll for it.
#include <cstring>

#include "kernel/drivers/virtio/net_queues.h"
#include "kernel/mm/physical.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/time/clock.h"

namespace nimbus::virtio_net {
namespace {

using net::Packet;

// A merged frame spanning more buffers than a 64 KiB frame needs is a broken device (the
// smallest merged buffer is 2 KiB).
constexpr uint16_t kMaxMergedBuffers = 64 * 1024 / 2048 + 1;
// Frames handled per round before the receive thread lets other threads run (it keeps
// polling with interrupts off while frames keep coming).
constexpr size_t kReceiveBudget = 64;
// A queue that had frames this recently is busy: an idle CPU polls its ring (for the
// scheduler's idle_poll_us) before halting, its interrupts off.
constexpr uint64_t kBusyWindowNs = 2'000'000;

// Hands a finished frame to the handler (or drops it), outside the queue's lock.
void deliver(ReceiveQueue& queue, Packet* packet, uint8_t flags, uint16_t start, uint16_t offset) {
  bool ok = packet->length() >= kEthernetHeader;
  // 5.1.6.4: a partially checksummed frame (the host's own, or another guest's through a
  // host bridge) never crossed a wire: its data cannot have been damaged on the way, so, as
  // Linux does with CHECKSUM_PARTIAL, nothing is summed; the stack only checks the offsets and
  // takes it as verified. Nimbus forwards nothing, so the checksum is never completed.
  if (ok && (flags & kHeaderNeedsChecksum)) {
    ok = start <= packet->length() && offset + 2u <= packet->length() - start;
    packet->offload.checksum_verified = ok;
  } else if (queue.device->features & kFeatureGuestCsum) {
    packet->offload.checksum_verified = (flags & kHeaderDataValid) != 0;
  }
  bool interrupts = queue.lock.lock();
  ReceiveHandler handler = queue.handler;
  void* context = queue.handler_context;
  if (!ok) {
    queue.statistics.rx_errors++;
  } else if (!handler) {
    queue.statistics.rx_dropped++;
  } else {
    queue.statistics.rx_packets++;
    queue.statistics.rx_bytes += packet->length();
  }
  queue.lock.unlock(interrupts);
  if (ok && handler) {
    handler(context, packet);
  } else {
    Packet::free(packet);
  }
}

// One used receive buffer: starts, continues or ends a frame.
void take_buffer(ReceiveQueue& queue, uint32_t token, uint32_t written) {
  const auto* bytes = phys_to_virt<const std::byte>(queue.area + uint64_t{token} * queue.buffer_size);
  size_t length = written < queue.buffer_size ? written : queue.buffer_size;
  if (queue.buffers_to_skip) {
    queue.buffers_to_skip--;
    return;
  }
  if (!queue.partial) {
    if (length < sizeof(NetHeader)) {
      SpinlockGuard guard(queue.lock);
      queue.statistics.rx_errors++;
      return;
    }
    NetHeader header;
    memcpy(&header, bytes, sizeof(header));
    uint16_t buffers = (queue.device->features & kFeatureMergeRx) ? header.num_buffers : 1;
    bool sane = buffers >= 1 && buffers <= kMaxMergedBuffers;
    // A frame in one buffer gets a packet of its own size (most do: ACKs, requests); one
    // spread over several, room for all of them.
    size_t room = buffers == 1 ? length - sizeof(NetHeader) : size_t{buffers} * queue.buffer_size;
    auto packet = sane ? Packet::try_allocate(Packet::kDefaultHeadroom + room) : Result<Packet*>(error(Errno::einval));
    if (!packet) {
      SpinlockGuard guard(queue.lock);
      if (sane) queue.statistics.rx_dropped++;
      else queue.statistics.rx_errors++;
      queue.buffers_to_skip = sane ? static_cast<uint16_t>(buffers - 1) : 0;
      return;
    }
    queue.partial = *packet;
    queue.partial_flags = header.flags;
    queue.partial_start = header.checksum_start;
    queue.partial_offset = header.checksum_offset;
    queue.buffers_left = buffers;
    bytes += sizeof(NetHeader);
    length -= sizeof(NetHeader);
  }
  // The packet was sized for buffers_left whole buffers: put() cannot fail.
  if (std::byte* to = queue.partial->put(length)) memcpy(to, bytes, length);
  if (--queue.buffers_left) return;
  Packet* packet = queue.partial;
  queue.partial = nullptr;
  deliver(queue, packet, queue.partial_flags, queue.partial_start, queue.partial_offset);
}

// Handles up to kReceiveBudget used buffers; returns how many.
size_t receive_round(ReceiveQueue& queue) {
  size_t handled = 0;
  while (handled < kReceiveBudget) {
    bool interrupts = queue.lock.lock();
    auto used = queue.ring.pop_used();
    queue.lock.unlock(interrupts);
    if (!used) break;
    // The buffer stays ours until re-posted: copy out of it without the lock.
    if (used->token < queue.buffer_count) take_buffer(queue, used->token, used->written);
    interrupts = queue.lock.lock();
    if (used->token < queue.buffer_count) post_receive_buffer_locked(queue, used->token);
    queue.lock.unlock(interrupts);
    handled++;
  }
  if (handled) {
    bool interrupts = queue.lock.lock();
    if (queue.ring.device_wants_notification()) queue.device->transport.notify(queue.index);
    queue.lock.unlock(interrupts);
  }
  return handled;
}

// With the queue's lock held and interrupts off: the thread takes over with the ring's
// interrupts off, as if interrupted.
void wake_receiver_locked(ReceiveQueue& queue) {
  queue.pending = true;
  queue.idle_watched = false;
  queue.ring.suppress_interrupts(true);
  queue.waiters.wake_all();
}

}  // namespace

void post_receive_buffer_locked(ReceiveQueue& queue, uint32_t index) {
  virtio::Buffer buffer{queue.area + uint64_t{index} * queue.buffer_size, queue.buffer_size, true};
  (void)queue.ring.submit({&buffer, 1}, index);
}

// Sleeps until the interrupt says buffers were used, then polls with the ring's interrupts
// off until it stays empty (NAPI's scheme, 2.7.7).
void receive_thread(void* argument) {
  auto& queue = *static_cast<ReceiveQueue*>(argument);
  for (;;) {
    bool interrupts = queue.lock.lock();
    queue.sleeping = true;
    while (!queue.pending && !queue.ring.has_used()) queue.waiters.wait(queue.lock);
    queue.sleeping = false;
    queue.idle_watched = false;  // this thread owns the ring's interrupts now
    queue.pending = false;
    queue.ring.suppress_interrupts(true);
    queue.lock.unlock(interrupts);
    bool handled = false;
    for (;;) {
      size_t frames = receive_round(queue);
      handled |= frames != 0;
      if (frames == kReceiveBudget) {
        scheduler::yield();  // under load: keep polling, but let the program run too
        continue;
      }
      interrupts = queue.lock.lock();
      if (handled) queue.last_frame_ns = clock::monotonic_ns();
      queue.ring.suppress_interrupts(false);
      bool more = queue.ring.has_used();  // used before the device saw interrupts back on
      if (more) queue.ring.suppress_interrupts(true);
      queue.lock.unlock(interrupts);
      if (!more) break;
    }
  }
}

void on_device_interrupt(void* context, uint16_t vector_queue) {
  auto& state = *static_cast<Device::State*>(context);
  // Acknowledged first, so the level line drops before the EOI; a configuration change
  // (link status) needs nothing: link_up() reads it when asked.
  state.transport.acknowledge_interrupt();
  uint16_t pairs = __atomic_load_n(&state.pairs, __ATOMIC_ACQUIRE);  // 0 while start() sets them up
  for (uint16_t pair = 0; pair < pairs; pair++) {
    ReceiveQueue& queue = state.receive[pair];
    bool own_vector = vector_queue == queue.index;
    if (vector_queue != virtio::Transport::kAnyQueue && !own_vector) continue;
    queue.lock.lock_raw();  // interrupts are off in handlers
    // A shared line or the configuration vector says nothing of which ring has work: only
    // the threads whose rings have used buffers are woken (the device writes the used index
    // before it interrupts).
    if (own_vector || pairs == 1 || queue.ring.has_used()) wake_receiver_locked(queue);
    queue.lock.unlock_raw();
  }
}

bool idle_watch_begin(void* context) {
  auto& queue = *static_cast<ReceiveQueue*>(context);
  // A pinned queue is watched by its own CPU only: the frames stay where its thread runs.
  if (queue.cpu && *queue.cpu != this_cpu().index) return false;
  bool interrupts = queue.lock.lock();
  bool watch = queue.sleeping && !queue.pending && !queue.idle_watched &&
               clock::monotonic_ns() - queue.last_frame_ns < kBusyWindowNs;
  if (watch) {
    queue.idle_watched = true;
    queue.ring.suppress_interrupts(true);
  }
  queue.lock.unlock(interrupts);
  return watch;
}

bool idle_watch_poll(void* context) {
  auto& queue = *static_cast<ReceiveQueue*>(context);
  if (!queue.ring.has_used()) return false;  // an unlocked peek at the device's index
  bool interrupts = queue.lock.lock();
  if (queue.idle_watched) wake_receiver_locked(queue);
  queue.lock.unlock(interrupts);
  return true;
}

bool idle_watch_end(void* context) {
  auto& queue = *static_cast<ReceiveQueue*>(context);
  bool work = false;
  bool interrupts = queue.lock.lock();
  if (queue.idle_watched) {
    queue.idle_watched = false;
    queue.ring.suppress_interrupts(false);
    // Used before the device saw interrupts back on: no interrupt will say so.
    if (queue.ring.has_used()) {
      wake_receiver_locked(queue);
      work = true;
    }
  }
  queue.lock.unlock(interrupts);
  return work;
}

}  // namespace nimbus::virtio_net
