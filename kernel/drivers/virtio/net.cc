// virtio-net: feature negotiation, the queue pairs (and the control queue that turns several
// on), and the transmit rings (packets handed to the device in place). The receive rings are
// in net_receive.cc.
#include "kernel/drivers/virtio/net.h"

#include <atomic>
#include <cstring>
#include <new>
#include <optional>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/local_apic.h"
#include "kernel/drivers/virtio/net_multiqueue.h"
#include "kernel/drivers/virtio/net_queues.h"
#include "kernel/drivers/virtio/transport.h"
#include "kernel/drivers/virtio/virtqueue.h"
#include "kernel/lib/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/physical.h"
#include "kernel/net/checksum.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/spinlock.h"
#include "kernel/time/clock.h"

namespace nimbus::virtio_net {
namespace {

using net::Packet;
using virtio::Buffer;
using virtio::SplitVirtqueue;

constexpr uint32_t kDeviceIdNet = 1;

// 5.1.3: feature bits.
constexpr uint64_t kFeatureCsum = 1ull << 0;        // VIRTIO_NET_F_CSUM: the device completes our checksums
constexpr uint64_t kFeatureMtu = 1ull << 3;         // VIRTIO_NET_F_MTU
constexpr uint64_t kFeatureMac = 1ull << 5;         // VIRTIO_NET_F_MAC
constexpr uint64_t kFeatureGuestTso4 = 1ull << 7;   // VIRTIO_NET_F_GUEST_TSO4: it may hand us 64 KiB TCP frames
constexpr uint64_t kFeatureGuestTso6 = 1ull << 8;   // VIRTIO_NET_F_GUEST_TSO6
constexpr uint64_t kFeatureHostTso4 = 1ull << 11;   // VIRTIO_NET_F_HOST_TSO4: it cuts our 64 KiB TCP frames
constexpr uint64_t kFeatureHostTso6 = 1ull << 12;   // VIRTIO_NET_F_HOST_TSO6
constexpr uint64_t kFeatureStatus = 1ull << 16;     // VIRTIO_NET_F_STATUS
constexpr uint64_t kGuestTso = kFeatureGuestTso4 | kFeatureGuestTso6;
constexpr uint64_t kHostTso = kFeatureHostTso4 | kFeatureHostTso6;
constexpr uint64_t kWantedFeatures = kFeatureCsum | kFeatureGuestCsum | kFeatureMtu | kFeatureMac | kFeatureMergeRx |
                                     kFeatureStatus | virtio::kFeatureEventIndex | kGuestTso | kHostTso |
                                     kFeatureControlQueue | kFeatureMultiqueue;

// 5.1.3.1: features that depend on others; without them the driver must not accept them.
// GUEST_TSO also wants merged buffers here: without them every receive buffer would have to
// hold a 64 KiB frame.
uint64_t unusable_features(uint64_t features) {
  uint64_t drop = 0;
  if (!(features & kFeatureCsum)) drop |= kHostTso;
  if (!(features & kFeatureGuestCsum) || !(features & kFeatureMergeRx)) drop |= kGuestTso;
  // The control queue serves only multiqueue here: without MQ the device is driven as one
  // pair with no control queue, as before multiqueue existed.
  if (!(features & kFeatureControlQueue)) drop |= kFeatureMultiqueue;
  if (!(features & kFeatureMultiqueue)) drop |= kFeatureControlQueue;
  return features & drop;
}

// 5.1.4: struct virtio_net_config offsets.
constexpr size_t kConfigMac = 0;
constexpr size_t kConfigStatus = 6;
constexpr size_t kConfigMaxQueuePairs = 8;
constexpr size_t kConfigMtu = 10;
constexpr uint16_t kStatusLinkUp = 1;  // VIRTIO_NET_S_LINK_UP

constexpr uint8_t kGsoTcpV4 = 1;             // VIRTIO_NET_HDR_GSO_TCPV4
constexpr uint8_t kGsoTcpV6 = 4;             // VIRTIO_NET_HDR_GSO_TCPV6
constexpr size_t kLargestGsoFrame = 14 + 40 + 65535;  // Ethernet, IPv6 and its largest payload

constexpr uint16_t kQueueSize = 256;
constexpr uint16_t kControlQueueSize = 16;  // one command at a time
// QEMU answers a control command as it is notified; a device that takes this long is broken.
constexpr uint64_t kControlTimeoutNs = 1'000'000'000;
constexpr uint32_t kDefaultMtu = 1500;
constexpr uint32_t kMinimumMtu = 68;  // RFC 791: every IPv4 link carries 68-byte datagrams
// 256 KiB of receive buffers per receive queue: 128 of 2 KiB with MRG_RXBUF (a frame bigger than
// one buffer spans several), else 64 of 4 KiB, each holding a whole frame. With GUEST_TSO
// (frames of up to 64 KiB) 512 KiB: 128 buffers of 4 KiB, room for eight such frames.
constexpr unsigned kReceiveAreaOrder = 6;
constexpr unsigned kLargeReceiveAreaOrder = 7;
constexpr uint32_t kMergedBufferSize = 2048;
constexpr uint32_t kWholeBufferSize = 4096;

// Does what VIRTIO_NET_HDR_F_NEEDS_CSUM asks of a device: the 16 bits at start + offset
// hold the pseudo-header sum; the one's complement sum from `start` to the end replaces
// them. False when the offsets do not fit the frame.
bool complete_checksum(std::span<std::byte> frame, size_t start, size_t offset) {
  if (start > frame.size() || offset + 2 > frame.size() - start) return false;
  net::store_be16(&frame[start + offset], net::checksum_finish(net::checksum_add(0, frame.subspan(start))));
  return true;
}

// Started devices, eth0 first.
Device::State* g_devices[kMaxDevices];
std::atomic<size_t> g_device_count{0};

// Moves finished transmissions to `done` (freed by the caller outside the lock).
void reclaim_transmitted_locked(TransmitQueue& queue, net::PacketList& done) {
  while (auto finished = queue.ring.pop_used()) {
    uint32_t slot = finished->token;
    if (slot >= SplitVirtqueue::kMaxSize || !queue.packets[slot]) continue;
    done.push_back(queue.packets[slot]);
    queue.packets[slot] = nullptr;
    queue.free_slots[queue.free_count++] = static_cast<uint16_t>(slot);
  }
}

void free_all(net::PacketList& packets) {
  while (Packet* packet = packets.pop_front()) Packet::free(packet);
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

// The CPUs that are online, by index: pair i's thread and interrupt go to the i-th.
size_t online_cpus(uint32_t (&indexes)[kMaxQueuePairs]) {
  size_t count = 0;
  for (size_t i = 0; i < cpus::count() && count < kMaxQueuePairs; i++)
    if (cpus::get(i).online.load()) indexes[count++] = static_cast<uint32_t>(i);
  return count;
}

// 5.1.6.5.5: asks the device to use `pairs` queue pairs and waits for its ack (the control
// queue raises no interrupt: QEMU answers as it is notified). False when it refuses or is
// silent; it then keeps using the first pair.
bool set_queue_pairs(Device::State& state, SplitVirtqueue& control, uint16_t control_index, uint16_t pairs) {
  auto page = frames::allocate(0);
  if (!page) return false;
  auto& command = *phys_to_virt<PairsSetCommand>(*page);
  auto request = pairs_set_request(command, *page, pairs);
  if (!control.submit(request, 0)) {
    frames::free(*page, 0);
    return false;
  }
  state.transport.notify(control_index);
  uint64_t deadline = clock::monotonic_ns() + kControlTimeoutNs;
  bool answered = false;
  while (!(answered = control.pop_used().has_value()) && clock::monotonic_ns() < deadline) x86::pause();
  uint8_t ack = __atomic_load_n(&command.ack, __ATOMIC_ACQUIRE);
  if (answered && ack == kControlOk) {
    frames::free(*page, 0);
    return true;
  }
  // Unanswered, the request may still be read: its page stays with the device.
  if (answered) frames::free(*page, 0);
  print("nimbus: virtio-net %s: the device %s %u queue pairs (ack %u); using one\n", state.name,
        answered ? "refused" : "did not answer the request for", pairs, ack);
  return false;
}

// `cpu`: where the queue's thread and interrupt go (several pairs), none: anywhere.
Result<> set_up_receive_queue(Device::State& state, ReceiveQueue& queue, uint16_t pair, unsigned area_order,
                              std::optional<uint32_t> cpu) {
  queue.device = &state;
  queue.index = receive_queue(pair);
  queue.cpu = cpu;
  virtio::QueueInterrupt interrupt;
  if (queue.cpu) interrupt.apic_id = cpus::get(*queue.cpu).apic_id;
  TRY(state.transport.set_up_queue(queue.index, queue.ring, kQueueSize, interrupt));
  if (state.features & virtio::kFeatureEventIndex) queue.ring.enable_event_index();
  bool merged = state.features & kFeatureMergeRx;
  bool large_frames = state.features & kGuestTso;
  queue.buffer_size = merged && !large_frames ? kMergedBufferSize : kWholeBufferSize;
  queue.area = TRY(frames::allocate(area_order));
  uint32_t fit = static_cast<uint32_t>((kPageSize << area_order) / queue.buffer_size);
  queue.buffer_count = fit < queue.ring.size() ? fit : queue.ring.size();
  for (uint32_t i = 0; i < queue.buffer_count; i++) post_receive_buffer_locked(queue, i);
  Thread* thread = TRY(queue.cpu ? Thread::try_create_pinned("virtio-net-rx", receive_thread, &queue, *queue.cpu)
                                 : Thread::try_create("virtio-net-rx", receive_thread, &queue));
  thread->detach();
  return {};
}

Result<> set_up_transmit_queue(Device::State& state, TransmitQueue& queue, uint16_t pair) {
  queue.index = transmit_queue(pair);
  // Finished transmissions are reclaimed by the next transmit(): no interrupt for them.
  TRY(state.transport.set_up_queue(queue.index, queue.ring, kQueueSize, {.wanted = false}));
  if (state.features & virtio::kFeatureEventIndex) queue.ring.enable_event_index();
  queue.ring.suppress_interrupts(true);
  for (uint16_t i = 0; i < queue.ring.size(); i++) queue.free_slots[queue.free_count++] = i;
  return {};
}

Result<> start(Device::State& state) {
  virtio::Transport& transport = state.transport;
  state.features = TRY(transport.negotiate(kWantedFeatures));
  // Offered without what they need: negotiate again (from reset) without them.
  if (uint64_t unusable = unusable_features(state.features))
    state.features = TRY(transport.negotiate(kWantedFeatures & ~unusable));
  // Before the queues: on virtio-pci each receive queue gets its MSI-X vector as it is set up.
  TRY(transport.set_interrupt_handler(on_device_interrupt, &state));
  state.mac = read_mac(state);
  state.mtu = kDefaultMtu;
  if (state.features & kFeatureMtu) {
    uint16_t mtu = transport.config16(kConfigMtu);
    if (mtu >= kMinimumMtu) state.mtu = mtu;
  }
  bool merged = state.features & kFeatureMergeRx;
  unsigned area_order = (state.features & kGuestTso) ? kLargeReceiveAreaOrder : kReceiveAreaOrder;
  // Without merging, one buffer holds a whole frame: no bigger MTU than that allows.
  uint32_t largest = kWholeBufferSize - sizeof(NetHeader) - kEthernetHeader;
  if (!merged && state.mtu > largest) state.mtu = largest;

  uint16_t device_pairs = device_queue_pairs(state.features, transport.config16(kConfigMaxQueuePairs));
  uint32_t cpu_indexes[kMaxQueuePairs] = {};
  size_t cpu_count = online_cpus(cpu_indexes);
  uint16_t pairs = choose_queue_pairs(device_pairs, cpu_count, frames::total_bytes(), kPageSize << area_order);
  // The control queue sits past every pair the device has: a transport without that many
  // queues (virtio-pci here stops at 64) leaves it, and the extra pairs, unused.
  SplitVirtqueue* control = nullptr;
  uint16_t control_index = control_queue(device_pairs);
  if (pairs > 1 && (state.features & kFeatureControlQueue)) {
    control = new (kNoThrow) SplitVirtqueue();
    if (!control) return error(Errno::enomem);
    if (auto ready = transport.set_up_queue(control_index, *control, kControlQueueSize, {.wanted = false}); !ready) {
      log("virtio-net: %s: no control queue %u (error %d)\n", transport.location(), control_index,
          static_cast<int>(ready.error()));
      delete control;
      control = nullptr;
    }
  }
  if (!control) pairs = 1;

  state.receive = new (kNoThrow) ReceiveQueue[pairs];
  state.transmit = new (kNoThrow) TransmitQueue[pairs];
  if (!state.receive || !state.transmit) return error(Errno::enomem);
  format_to(state.name, sizeof(state.name), "eth%zu", state.index);
  for (uint16_t pair = 0; pair < pairs; pair++) {
    std::optional<uint32_t> cpu;
    if (pairs > 1) cpu = cpu_indexes[pair];
    TRY(set_up_receive_queue(state, state.receive[pair], pair, area_order, cpu));
    TRY(set_up_transmit_queue(state, state.transmit[pair], pair));
  }
  // Only now may the interrupt handler look at the rings (it reads `pairs` of them).
  __atomic_store_n(&state.pairs, pairs, __ATOMIC_RELEASE);
  transport.driver_ok();
  // 3.1.1: the device may use the buffers from DRIVER_OK on.
  for (uint16_t pair = 0; pair < pairs; pair++) {
    SpinlockGuard guard(state.receive[pair].lock);
    transport.notify(state.receive[pair].index);
  }
  // 5.1.5: with MQ the device uses only the first pair until told otherwise.
  if (pairs > 1 && set_queue_pairs(state, *control, control_index, pairs))
    state.active_pairs.store(pairs, std::memory_order_release);
  for (uint16_t pair = 0; pair < state.active_pairs.load(std::memory_order_relaxed); pair++)
    scheduler::add_idle_poller({idle_watch_begin, idle_watch_poll, idle_watch_end, &state.receive[pair]});
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
    log("virtio-net: %s, %s, mac %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, features 0x%lx, %u queue pairs\n",
        state->name, transport->location(), mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], state->mtu,
        state->features, unsigned{state->active_pairs.load()});
  }
  return g_device_count.load(std::memory_order_relaxed);
}

size_t device_count() { return g_device_count.load(std::memory_order_acquire); }

Device* device(size_t index) { return index < device_count() ? &g_devices[index]->device : nullptr; }

bool Device::transmit_idle() {
  bool idle = true;
  for (uint16_t pair = 0; pair < m_state.pairs; pair++) {
    TransmitQueue& queue = m_state.transmit[pair];
    net::PacketList finished;
    bool interrupts = queue.lock.lock();
    reclaim_transmitted_locked(queue, finished);
    idle &= queue.free_count == queue.ring.size();
    queue.lock.unlock(interrupts);
    free_all(finished);
  }
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
  for (uint16_t pair = 0; pair < m_state.pairs; pair++) {
    ReceiveQueue& queue = m_state.receive[pair];
    SpinlockGuard guard(queue.lock);
    queue.handler = handler;
    queue.handler_context = context;
  }
}

size_t Device::queue_count() const { return m_state.active_pairs.load(std::memory_order_acquire); }

net::QueueStatistics Device::queue_statistics(size_t pair) const {
  net::QueueStatistics result;
  if (pair >= m_state.pairs) return result;
  ReceiveQueue& receive = m_state.receive[pair];
  TransmitQueue& transmit = m_state.transmit[pair];
  if (receive.cpu) result.cpu = static_cast<int32_t>(*receive.cpu);
  {
    SpinlockGuard guard(receive.lock);
    result.counters.rx_packets = receive.statistics.rx_packets;
    result.counters.rx_bytes = receive.statistics.rx_bytes;
    result.counters.rx_errors = receive.statistics.rx_errors;
    result.counters.rx_dropped = receive.statistics.rx_dropped;
  }
  SpinlockGuard guard(transmit.lock);
  result.counters.tx_packets = transmit.statistics.tx_packets;
  result.counters.tx_bytes = transmit.statistics.tx_bytes;
  result.counters.tx_errors = transmit.statistics.tx_errors;
  result.counters.tx_dropped = transmit.statistics.tx_dropped;
  return result;
}

net::DeviceStatistics Device::statistics() const {
  net::DeviceStatistics total;
  for (uint16_t pair = 0; pair < m_state.pairs; pair++) {
    net::DeviceStatistics s = queue_statistics(pair).counters;
    total.rx_packets += s.rx_packets;
    total.rx_bytes += s.rx_bytes;
    total.rx_errors += s.rx_errors;
    total.rx_dropped += s.rx_dropped;
    total.tx_packets += s.tx_packets;
    total.tx_bytes += s.tx_bytes;
    total.tx_errors += s.tx_errors;
    total.tx_dropped += s.tx_dropped;
  }
  return total;
}

// 5.1.6.2: the frame goes to the device in place, the header pushed into its headroom (one
// descriptor: VERSION_1 allows any layout); the device reads it from the direct map.
//
// Each CPU sends on its own pair's transmit queue (its own lock): two CPUs sending do not
// contend on one ring. A thread moved to another CPU meanwhile only costs locality.
Result<> Device::transmit(Packet* packet) {
  State& state = m_state;
  if (!packet) return error(Errno::einval);
  uint16_t active = state.active_pairs.load(std::memory_order_relaxed);
  TransmitQueue& queue = state.transmit[active > 1 ? this_cpu().index % active : 0];
  auto count_error = [&queue](bool dropped) {
    SpinlockGuard guard(queue.lock);
    if (dropped) queue.statistics.tx_dropped++;
    else queue.statistics.tx_errors++;
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
  bool interrupts = queue.lock.lock();
  reclaim_transmitted_locked(queue, finished);
  bool sent = false;
  if (queue.free_count) {
    uint16_t slot = queue.free_slots[queue.free_count - 1];
    if (queue.ring.submit({&buffer, 1}, slot)) {
      queue.free_count--;
      queue.packets[slot] = packet;
      queue.statistics.tx_packets++;
      queue.statistics.tx_bytes += frame_length;
      if (queue.ring.device_wants_notification()) state.transport.notify(queue.index);
      sent = true;
    }
  }
  if (!sent) queue.statistics.tx_dropped++;
  queue.lock.unlock(interrupts);
  free_all(finished);
  if (!sent) {
    Packet::free(packet);
    return error(Errno::enobufs);
  }
  return {};
}

}  // namespace nimbus::virtio_net
