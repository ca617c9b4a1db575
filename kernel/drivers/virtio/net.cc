// virtio-net: feature negotiation, the transmit ring (packets handed to the device in
// place), the receive ring (buffers copied into fresh Packets by a per-device thread) and
// the interrupt that wakes that thread.
#include "kernel/drivers/virtio/net.h"

#include <atomic>
#include <cstring>
#include <new>
#include <optional>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/local_apic.h"
#include "kernel/drivers/virtio/transport.h"
#include "kernel/drivers/virtio/virtqueue.h"
#include "kernel/lib/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/physical.h"
#include "kernel/net/checksum.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/spinlock.h"
#include "kernel/sync/wait_queue.h"
#include "kernel/time/clock.h"

namespace nimbus::virtio_net {
namespace {

using net::Packet;
using virtio::Buffer;
using virtio::SplitVirtqueue;

constexpr uint32_t kDeviceIdNet = 1;

// 5.1.3: feature bits.
constexpr uint64_t kFeatureCsum = 1ull << 0;        // VIRTIO_NET_F_CSUM: the device completes our checksums
constexpr uint64_t kFeatureGuestCsum = 1ull << 1;   // VIRTIO_NET_F_GUEST_CSUM: it may skip checking them for us
constexpr uint64_t kFeatureMtu = 1ull << 3;         // VIRTIO_NET_F_MTU
constexpr uint64_t kFeatureMac = 1ull << 5;         // VIRTIO_NET_F_MAC
constexpr uint64_t kFeatureGuestTso4 = 1ull << 7;   // VIRTIO_NET_F_GUEST_TSO4: it may hand us 64 KiB TCP frames
constexpr uint64_t kFeatureGuestTso6 = 1ull << 8;   // VIRTIO_NET_F_GUEST_TSO6
constexpr uint64_t kFeatureHostTso4 = 1ull << 11;   // VIRTIO_NET_F_HOST_TSO4: it cuts our 64 KiB TCP frames
constexpr uint64_t kFeatureHostTso6 = 1ull << 12;   // VIRTIO_NET_F_HOST_TSO6
constexpr uint64_t kFeatureMergeRx = 1ull << 15;    // VIRTIO_NET_F_MRG_RXBUF
constexpr uint64_t kFeatureStatus = 1ull << 16;     // VIRTIO_NET_F_STATUS
constexpr uint64_t kGuestTso = kFeatureGuestTso4 | kFeatureGuestTso6;
constexpr uint64_t kHostTso = kFeatureHostTso4 | kFeatureHostTso6;
constexpr uint64_t kWantedFeatures = kFeatureCsum | kFeatureGuestCsum | kFeatureMtu | kFeatureMac | kFeatureMergeRx |
                                     kFeatureStatus | virtio::kFeatureEventIndex | kGuestTso | kHostTso;

// 5.1.3.1: features that depend on others; without them the driver must not accept them.
// GUEST_TSO also wants merged buffers here: without them every receive buffer would have to
// hold a 64 KiB frame.
uint64_t unusable_features(uint64_t features) {
  uint64_t drop = 0;
  if (!(features & kFeatureCsum)) drop |= kHostTso;
  if (!(features & kFeatureGuestCsum) || !(features & kFeatureMergeRx)) drop |= kGuestTso;
  return features & drop;
}

// 5.1.4: struct virtio_net_config offsets.
constexpr size_t kConfigMac = 0;
constexpr size_t kConfigStatus = 6;
constexpr size_t kConfigMtu = 10;
constexpr uint16_t kStatusLinkUp = 1;  // VIRTIO_NET_S_LINK_UP

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
constexpr uint8_t kGsoTcpV4 = 1;             // VIRTIO_NET_HDR_GSO_TCPV4
constexpr uint8_t kGsoTcpV6 = 4;             // VIRTIO_NET_HDR_GSO_TCPV6
constexpr size_t kLargestGsoFrame = 14 + 40 + 65535;  // Ethernet, IPv6 and its largest payload

// 5.1.2: receiveq1 and transmitq1 (no multiqueue, no control queue).
constexpr uint16_t kReceiveQueue = 0;
constexpr uint16_t kTransmitQueue = 1;
constexpr uint16_t kQueueSize = 256;

constexpr size_t kEthernetHeader = 14;
constexpr uint32_t kDefaultMtu = 1500;
constexpr uint32_t kMinimumMtu = 68;  // RFC 791: every IPv4 link carries 68-byte datagrams
// 256 KiB of receive buffers per device: 128 of 2 KiB with MRG_RXBUF (a frame bigger than
// one buffer spans several), else 64 of 4 KiB, each holding a whole frame. With GUEST_TSO
// (frames of up to 64 KiB) 512 KiB: 128 buffers of 4 KiB, room for eight such frames.
constexpr unsigned kReceiveAreaOrder = 6;
constexpr unsigned kLargeReceiveAreaOrder = 7;
constexpr uint32_t kMergedBufferSize = 2048;
constexpr uint32_t kWholeBufferSize = 4096;
// A merged frame spanning more buffers than a 64 KiB frame needs is a broken device.
constexpr uint16_t kMaxMergedBuffers = 64 * 1024 / kMergedBufferSize + 1;
// Frames handled per round before the receive thread lets other threads run (it keeps
// polling with interrupts off while frames keep coming).
constexpr size_t kReceiveBudget = 64;
// A device that had frames this recently is busy: an idle CPU polls its ring (for the
// scheduler's idle_poll_us) before halting, its interrupts off.
constexpr uint64_t kBusyWindowNs = 2'000'000;

// Does what VIRTIO_NET_HDR_F_NEEDS_CSUM asks of a device: the 16 bits at start + offset
// hold the pseudo-header sum; the one's complement sum from `start` to the end replaces
// them. False when the offsets do not fit the frame.
bool complete_checksum(std::span<std::byte> frame, size_t start, size_t offset) {
  if (start > frame.size() || offset + 2 > frame.size() - start) return false;
  net::store_be16(&frame[start + offset], net::checksum_finish(net::checksum_add(0, frame.subspan(start))));
  return true;
}

}  // namespace

struct Device::State {
  explicit State(virtio::Transport& transport_, size_t index_)
      : device(*this), transport(transport_), index(index_) {}

  Device device;
  virtio::Transport& transport;
  size_t index;
  char name[8] = {};
  uint64_t features = 0;
  net::MacAddress mac{};
  uint32_t mtu = kDefaultMtu;

  // Receive side: the queue, the buffers and the thread's wake-up, guarded by rx_lock
  // (taken by the interrupt handler too).
  Spinlock rx_lock;
  SplitVirtqueue rx;
  uint64_t rx_area = 0;  // physical
  uint32_t rx_buffer_size = 0;
  uint32_t rx_buffer_count = 0;
  bool rx_pending = false;
  bool rx_sleeping = false;    // the receive thread waits, the ring's interrupts on
  bool idle_watched = false;   // an idle CPU polls the ring instead, its interrupts off
  uint64_t last_frame_ns = 0;  // when the receive thread last handled frames
  WaitQueue rx_waiters;
  ReceiveHandler handler = nullptr;
  void* handler_context = nullptr;
  net::DeviceStatistics rx_statistics;  // its rx_* fields
  // The receive thread's alone: a merged frame being gathered.
  Packet* partial = nullptr;
  uint8_t partial_flags = 0;
  uint16_t partial_start = 0, partial_offset = 0;
  uint16_t buffers_left = 0;   // of the frame being gathered
  uint16_t buffers_to_skip = 0;  // of a frame being dropped

  // Transmit side, guarded by tx_lock: the packets the device holds, by slot.
  Spinlock tx_lock;
  SplitVirtqueue tx;
  Packet* tx_packets[SplitVirtqueue::kMaxSize] = {};
  uint16_t tx_free_slots[SplitVirtqueue::kMaxSize] = {};
  uint16_t tx_free_count = 0;
  net::DeviceStatistics tx_statistics;  // its tx_* fields
};

namespace {

// Started devices, eth0 first.
Device::State* g_devices[kMaxDevices];
std::atomic<size_t> g_device_count{0};

void post_receive_buffer_locked(Device::State& state, uint32_t index) {
  Buffer buffer{state.rx_area + uint64_t{index} * state.rx_buffer_size, state.rx_buffer_size, true};
  (void)state.rx.submit({&buffer, 1}, index);
}

// Moves finished transmissions to `done` (freed by the caller outside the lock).
void reclaim_transmitted_locked(Device::State& state, net::PacketList& done) {
  while (auto finished = state.tx.pop_used()) {
    uint32_t slot = finished->token;
    if (slot >= SplitVirtqueue::kMaxSize || !state.tx_packets[slot]) continue;
    done.push_back(state.tx_packets[slot]);
    state.tx_packets[slot] = nullptr;
    state.tx_free_slots[state.tx_free_count++] = static_cast<uint16_t>(slot);
  }
}

void free_all(net::PacketList& packets) {
  while (Packet* packet = packets.pop_front()) Packet::free(packet);
}

// Hands a finished frame to the handler (or drops it), outside rx_lock.
void deliver(Device::State& state, Packet* packet, uint8_t flags, uint16_t start, uint16_t offset) {
  bool ok = packet->length() >= kEthernetHeader;
  // 5.1.6.4: a partially checksummed frame (the host's own, or another guest's through a
  // host bridge) never crossed a wire: its data cannot have been damaged on the way, so, as
  // Linux does with CHECKSUM_PARTIAL, nothing is summed; the stack only checks the offsets and
  // takes it as verified. Nimbus forwards nothing, so the checksum is never completed.
  if (ok && (flags & kHeaderNeedsChecksum)) {
    ok = start <= packet->length() && offset + 2u <= packet->length() - start;
    packet->offload.checksum_verified = ok;
  } else if (state.features & kFeatureGuestCsum) {
    packet->offload.checksum_verified = (flags & kHeaderDataValid) != 0;
  }
  bool interrupts = state.rx_lock.lock();
  ReceiveHandler handler = state.handler;
  void* context = state.handler_context;
  if (!ok) {
    state.rx_statistics.rx_errors++;
  } else if (!handler) {
    state.rx_statistics.rx_dropped++;
  } else {
    state.rx_statistics.rx_packets++;
    state.rx_statistics.rx_bytes += packet->length();
  }
  state.rx_lock.unlock(interrupts);
  if (ok && handler) {
    handler(context, packet);
  } else {
    Packet::free(packet);
  }
}

// One used receive buffer: starts, continues or ends a frame.
void take_buffer(Device::State& state, uint32_t token, uint32_t written) {
  const auto* bytes = phys_to_virt<const std::byte>(state.rx_area + uint64_t{token} * state.rx_buffer_size);
  size_t length = written < state.rx_buffer_size ? written : state.rx_buffer_size;
  if (state.buffers_to_skip) {
    state.buffers_to_skip--;
    return;
  }
  if (!state.partial) {
    if (length < sizeof(NetHeader)) {
      SpinlockGuard guard(state.rx_lock);
      state.rx_statistics.rx_errors++;
      return;
    }
    NetHeader header;
    memcpy(&header, bytes, sizeof(header));
    uint16_t buffers = (state.features & kFeatureMergeRx) ? header.num_buffers : 1;
    bool sane = buffers >= 1 && buffers <= kMaxMergedBuffers;
    // A frame in one buffer gets a packet of its own size (most do: ACKs, requests); one
    // spread over several, room for all of them.
    size_t room = buffers == 1 ? length - sizeof(NetHeader) : size_t{buffers} * state.rx_buffer_size;
    auto packet = sane ? Packet::try_allocate(Packet::kDefaultHeadroom + room) : Result<Packet*>(error(Errno::einval));
    if (!packet) {
      SpinlockGuard guard(state.rx_lock);
      if (sane) state.rx_statistics.rx_dropped++;
      else state.rx_statistics.rx_errors++;
      state.buffers_to_skip = sane ? static_cast<uint16_t>(buffers - 1) : 0;
      return;
    }
    state.partial = *packet;
    state.partial_flags = header.flags;
    state.partial_start = header.checksum_start;
    state.partial_offset = header.checksum_offset;
    state.buffers_left = buffers;
    bytes += sizeof(NetHeader);
    length -= sizeof(NetHeader);
  }
  // The packet was sized for buffers_left whole buffers: put() cannot fail.
  if (std::byte* to = state.partial->put(length)) memcpy(to, bytes, length);
  if (--state.buffers_left) return;
  Packet* packet = state.partial;
  state.partial = nullptr;
  deliver(state, packet, state.partial_flags, state.partial_start, state.partial_offset);
}

// Handles up to kReceiveBudget used buffers; returns how many.
size_t receive_round(Device::State& state) {
  size_t handled = 0;
  while (handled < kReceiveBudget) {
    bool interrupts = state.rx_lock.lock();
    auto used = state.rx.pop_used();
    state.rx_lock.unlock(interrupts);
    if (!used) break;
    // The buffer stays ours until re-posted: copy out of it without the lock.
    if (used->token < state.rx_buffer_count) take_buffer(state, used->token, used->written);
    interrupts = state.rx_lock.lock();
    if (used->token < state.rx_buffer_count) post_receive_buffer_locked(state, used->token);
    state.rx_lock.unlock(interrupts);
    handled++;
  }
  if (handled) {
    bool interrupts = state.rx_lock.lock();
    if (state.rx.device_wants_notification()) state.transport.notify(kReceiveQueue);
    state.rx_lock.unlock(interrupts);
  }
  return handled;
}

// The receive thread: sleeps until the interrupt says buffers were used, then polls with
// the device's interrupts off until the ring stays empty (NAPI's scheme, 2.7.7).
void receive_thread(void* argument) {
  auto& state = *static_cast<Device::State*>(argument);
  for (;;) {
    bool interrupts = state.rx_lock.lock();
    state.rx_sleeping = true;
    while (!state.rx_pending && !state.rx.has_used()) state.rx_waiters.wait(state.rx_lock);
    state.rx_sleeping = false;
    state.idle_watched = false;  // this thread owns the ring's interrupts now
    state.rx_pending = false;
    state.rx.suppress_interrupts(true);
    state.rx_lock.unlock(interrupts);
    bool handled = false;
    for (;;) {
      size_t frames = receive_round(state);
      handled |= frames != 0;
      if (frames == kReceiveBudget) {
        scheduler::yield();  // under load: keep polling, but let the program run too
        continue;
      }
      interrupts = state.rx_lock.lock();
      if (handled) state.last_frame_ns = clock::monotonic_ns();
      state.rx.suppress_interrupts(false);
      bool more = state.rx.has_used();  // used before the device saw interrupts back on
      if (more) state.rx.suppress_interrupts(true);
      state.rx_lock.unlock(interrupts);
      if (!more) break;
    }
  }
}

net::MacAddress read_mac(Device::State& state) {
  net::MacAddress mac{};
  if (state.features & kFeatureMac) {
    // 4.2.2: re-read until the generation is stable, so the six bytes belong together.
    uint32_t generation;
    do {
      generation = state.transport.config_generation();
      for (size_t i = 0; i < mac.size(); i++) mac[i] = state.transport.config8(kConfigMac + i);
    } while (generation != state.transport.config_generation());
    return mac;
  }
  // 5.1.5: without VIRTIO_NET_F_MAC the driver picks one: locally administered, unicast.
  uint64_t seed = x86::rdtsc() ^ (state.index * 0x9e3779b97f4a7c15ull);
  for (size_t i = 0; i < mac.size(); i++) mac[i] = static_cast<uint8_t>(seed >> (8 * i));
  mac[0] = static_cast<uint8_t>((mac[0] & 0xfe) | 0x02);
  return mac;
}

// Every vector of the device (one line on virtio-mmio; on virtio-pci one per queue and one for
// the configuration) wakes the receive thread.
void on_device_interrupt(void* context, uint16_t) {
  Device::State& state = *static_cast<Device::State*>(context);
  state.rx_lock.lock_raw();  // interrupts are off in handlers
  // Acknowledged first, so the level line drops before the EOI; a configuration change
  // (link status) needs nothing: link_up() reads it when asked.
  state.transport.acknowledge_interrupt();
  state.rx_pending = true;
  state.idle_watched = false;
  state.rx.suppress_interrupts(true);
  state.rx_waiters.wake_all();
  state.rx_lock.unlock_raw();
}

// The idle poller (scheduler::IdlePoller): an idle CPU watches a busy device's ring with its
// interrupts off, and wakes the receive thread itself when a frame comes.
bool idle_watch_begin(void* context) {
  Device::State& state = *static_cast<Device::State*>(context);
  bool interrupts = state.rx_lock.lock();
  bool watch = state.rx_sleeping && !state.rx_pending && !state.idle_watched &&
               clock::monotonic_ns() - state.last_frame_ns < kBusyWindowNs;
  if (watch) {
    state.idle_watched = true;
    state.rx.suppress_interrupts(true);
  }
  state.rx_lock.unlock(interrupts);
  return watch;
}

bool idle_watch_poll(void* context) {
  Device::State& state = *static_cast<Device::State*>(context);
  if (!state.rx.has_used()) return false;  // an unlocked peek at the device's index
  bool interrupts = state.rx_lock.lock();
  if (state.idle_watched) {
    // The receive thread takes over with interrupts still off, as if interrupted.
    state.idle_watched = false;
    state.rx_pending = true;
    state.rx_waiters.wake_all();
  }
  state.rx_lock.unlock(interrupts);
  return true;
}

bool idle_watch_end(void* context) {
  Device::State& state = *static_cast<Device::State*>(context);
  bool work = false;
  bool interrupts = state.rx_lock.lock();
  if (state.idle_watched) {
    state.idle_watched = false;
    state.rx.suppress_interrupts(false);
    // Used before the device saw interrupts back on: no interrupt will say so.
    if (state.rx.has_used()) {
      state.rx.suppress_interrupts(true);
      state.rx_pending = true;
      state.rx_waiters.wake_all();
      work = true;
    }
  }
  state.rx_lock.unlock(interrupts);
  return work;
}

Result<> start(Device::State& state) {
  virtio::Transport& transport = state.transport;
  state.features = TRY(transport.negotiate(kWantedFeatures));
  // Offered without what they need: negotiate again (from reset) without them.
  if (uint64_t unusable = unusable_features(state.features))
    state.features = TRY(transport.negotiate(kWantedFeatures & ~unusable));
  // Before the queues: on virtio-pci each queue gets its MSI-X vector as it is set up.
  TRY(transport.set_interrupt_handler(on_device_interrupt, &state));
  state.mac = read_mac(state);
  if (state.features & kFeatureMtu) {
    uint16_t mtu = transport.config16(kConfigMtu);
    if (mtu >= kMinimumMtu) state.mtu = mtu;
  }
  bool merged = state.features & kFeatureMergeRx;
  bool large_frames = state.features & kGuestTso;
  state.rx_buffer_size = merged && !large_frames ? kMergedBufferSize : kWholeBufferSize;
  unsigned area_order = large_frames ? kLargeReceiveAreaOrder : kReceiveAreaOrder;
  // Without merging, one buffer holds a whole frame: no bigger MTU than that allows.
  uint32_t largest = state.rx_buffer_size - sizeof(NetHeader) - kEthernetHeader;
  if (!merged && state.mtu > largest) state.mtu = largest;

  TRY(transport.set_up_queue(kReceiveQueue, state.rx, kQueueSize));
  TRY(transport.set_up_queue(kTransmitQueue, state.tx, kQueueSize));
  if (state.features & virtio::kFeatureEventIndex) {
    state.rx.enable_event_index();
    state.tx.enable_event_index();
  }
  state.rx_area = TRY(frames::allocate(area_order));
  uint32_t fit = static_cast<uint32_t>((kPageSize << area_order) / state.rx_buffer_size);
  state.rx_buffer_count = fit < state.rx.size() ? fit : state.rx.size();
  for (uint32_t i = 0; i < state.rx_buffer_count; i++) post_receive_buffer_locked(state, i);
  // Finished transmissions are reclaimed by the next transmit(): no interrupt for them.
  state.tx.suppress_interrupts(true);
  for (uint16_t i = 0; i < state.tx.size(); i++) state.tx_free_slots[state.tx_free_count++] = i;

  format_to(state.name, sizeof(state.name), "eth%zu", state.index);
  Thread* thread = TRY(Thread::try_create("virtio-net-rx", receive_thread, &state));
  thread->detach();
  scheduler::add_idle_poller({idle_watch_begin, idle_watch_poll, idle_watch_end, &state});
  transport.driver_ok();
  SpinlockGuard guard(state.rx_lock);
  transport.notify(kReceiveQueue);  // 3.1.1: the device may use the buffers from DRIVER_OK on
  return {};
}

}  // namespace

size_t init(std::span<virtio::Transport* const> devices) {
  for (virtio::Transport* transport : devices) {
    size_t count = g_device_count.load(std::memory_order_relaxed);
    if (count == kMaxDevices) break;
    if (transport->device_id() != kDeviceIdNet) continue;
    auto* state = new (kNoThrow) Device::State(*transport, count);
    if (!state) return count;
    if (auto started = start(*state); !started) {
      // The queues' memory stays with the failed device: it may still be reading it.
      print("nimbus: virtio-net (%s) cannot start (error %d)\n", transport->location(),
            static_cast<int>(started.error()));
      continue;
    }
    g_devices[count] = state;
    g_device_count.store(count + 1, std::memory_order_release);
    const net::MacAddress& mac = state->mac;
    log("virtio-net: %s, %s, mac %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, features 0x%lx\n",
        state->name, transport->location(), mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], state->mtu,
        state->features);
  }
  return g_device_count.load(std::memory_order_relaxed);
}

size_t device_count() { return g_device_count.load(std::memory_order_acquire); }

Device* device(size_t index) { return index < device_count() ? &g_devices[index]->device : nullptr; }


bool Device::transmit_idle() {
  net::PacketList finished;
  bool interrupts = m_state.tx_lock.lock();
  reclaim_transmitted_locked(m_state, finished);
  bool idle = m_state.tx_free_count == m_state.tx.size();
  m_state.tx_lock.unlock(interrupts);
  free_all(finished);
  return idle;
}

const char* Device::name() const { return m_state.name; }
net::MacAddress Device::mac() const { return m_state.mac; }
uint32_t Device::mtu() const { return m_state.mtu; }

net::DeviceFeatures Device::features() const {
  net::DeviceFeatures features;
  features.tx_checksum = m_state.features & kFeatureCsum;
  features.rx_checksum = m_state.features & kFeatureGuestCsum;
  features.tcp_segmentation_ipv4 = m_state.features & kFeatureHostTso4;
  features.tcp_segmentation_ipv6 = m_state.features & kFeatureHostTso6;
  return features;
}

bool Device::link_up() const {
  if (!(m_state.features & kFeatureStatus)) return true;  // 5.1.4.2: assume the link is up
  return m_state.transport.config16(kConfigStatus) & kStatusLinkUp;
}

void Device::set_receive_handler(ReceiveHandler handler, void* context) {
  SpinlockGuard guard(m_state.rx_lock);
  m_state.handler = handler;
  m_state.handler_context = context;
}

net::DeviceStatistics Device::statistics() const {
  net::DeviceStatistics statistics;
  {
    SpinlockGuard guard(m_state.rx_lock);
    statistics.rx_packets = m_state.rx_statistics.rx_packets;
    statistics.rx_bytes = m_state.rx_statistics.rx_bytes;
    statistics.rx_errors = m_state.rx_statistics.rx_errors;
    statistics.rx_dropped = m_state.rx_statistics.rx_dropped;
  }
  SpinlockGuard guard(m_state.tx_lock);
  statistics.tx_packets = m_state.tx_statistics.tx_packets;
  statistics.tx_bytes = m_state.tx_statistics.tx_bytes;
  statistics.tx_errors = m_state.tx_statistics.tx_errors;
  statistics.tx_dropped = m_state.tx_statistics.tx_dropped;
  return statistics;
}

// 5.1.6.2: the frame goes to the device in place, the header pushed into its headroom (one
// descriptor: VERSION_1 allows any layout); the device reads it from the direct map.
Result<> Device::transmit(Packet* packet) {
  State& state = m_state;
  if (!packet) return error(Errno::einval);
  auto count_error = [&state](bool dropped) {
    SpinlockGuard guard(state.tx_lock);
    if (dropped) state.tx_statistics.tx_dropped++;
    else state.tx_statistics.tx_errors++;
  };
  size_t frame_length = packet->length();
  size_t largest = packet->offload.gso_size ? kLargestGsoFrame : state.mtu + kEthernetHeader;
  if (frame_length < kEthernetHeader || frame_length > largest) {
    count_error(false);
    Packet::free(packet);
    return error(Errno::emsgsize);
  }
  if (packet->headroom() < sizeof(NetHeader)) {
    // Rare (the stack leaves kDefaultHeadroom): copy into a packet that has the room.
    auto copy = Packet::try_allocate(Packet::kDefaultHeadroom + frame_length);
    if (!copy) {
      count_error(true);
      Packet::free(packet);
      return error(Errno::enobufs);
    }
    memcpy((*copy)->put(frame_length), packet->data(), frame_length);
    (*copy)->offload = packet->offload;
    Packet::free(packet);
    packet = *copy;
  }
  NetHeader header{};
  const net::PacketOffload& offload = packet->offload;
  if (offload.checksum_needed) {
    bool fits = offload.checksum_start <= frame_length && offload.checksum_offset + 2u <= frame_length - offload.checksum_start;
    if (!fits) {
      count_error(false);
      Packet::free(packet);
      return error(Errno::einval);
    }
    if (state.features & kFeatureCsum) {
      header.flags = kHeaderNeedsChecksum;
      header.checksum_start = offload.checksum_start;
      header.checksum_offset = offload.checksum_offset;
    } else {
      complete_checksum(packet->bytes(), offload.checksum_start, offload.checksum_offset);
    }
  }
  if (offload.gso_size) {
    // 5.1.6.2: a TSO frame: the device cuts it into gso_size-byte pieces, each with a copy of
    // the first header_length bytes (Ethernet, IP and TCP headers). IP sends one only when
    // the device has HOST_TSO for its family (Device::features).
    const std::byte* frame = packet->data();
    uint16_t ethertype = net::load_be16(frame + 12);
    uint8_t type = ethertype == 0x0800 ? kGsoTcpV4 : ethertype == 0x86dd ? kGsoTcpV6 : 0;
    uint64_t needed = type == kGsoTcpV4 ? kFeatureHostTso4 : kFeatureHostTso6;
    size_t tcp_start = offload.checksum_start;
    bool usable = type && offload.checksum_needed && (state.features & needed) && tcp_start + 20 <= frame_length;
    size_t headers = usable ? tcp_start + (uint8_t(frame[tcp_start + 12]) >> 4) * 4u : 0;
    if (!usable || headers > frame_length) {
      count_error(false);
      Packet::free(packet);
      return error(Errno::einval);
    }
    header.gso_type = type;
    header.gso_size = offload.gso_size;
    header.header_length = static_cast<uint16_t>(headers);
  }
  memcpy(packet->push(sizeof(NetHeader)), &header, sizeof(header));
  Buffer buffer{virt_to_phys(packet->data()), static_cast<uint32_t>(packet->length()), false};

  net::PacketList finished;
  bool interrupts = state.tx_lock.lock();
  reclaim_transmitted_locked(state, finished);
  bool sent = false;
  if (state.tx_free_count) {
    uint16_t slot = state.tx_free_slots[state.tx_free_count - 1];
    if (state.tx.submit({&buffer, 1}, slot)) {
      state.tx_free_count--;
      state.tx_packets[slot] = packet;
      state.tx_statistics.tx_packets++;
      state.tx_statistics.tx_bytes += frame_length;
      if (state.tx.device_wants_notification()) state.transport.notify(kTransmitQueue);
      sent = true;
    }
  }
  if (!sent) state.tx_statistics.tx_dropped++;
  state.tx_lock.unlock(interrupts);
  free_all(finished);
  if (!sent) {
    Packet::free(packet);
    return error(Errno::enobufs);
  }
  return {};
}

}  // namespace nimbus::virtio_net
