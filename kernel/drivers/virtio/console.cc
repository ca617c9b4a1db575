// virtio-console: the control queue conversation (5.3.6.2), receive buffers for input ports
// and a bounce buffer per output port.
#include "kernel/drivers/virtio/console.h"

#include <bit>
#include <cstring>
#include <optional>

#include "kernel/drivers/virtio/transport.h"
#include "kernel/drivers/virtio/virtqueue.h"
#include "kernel/lib/console.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/physical.h"
#include "kernel/sync/mutex.h"
#include "kernel/sync/spinlock.h"
#include "kernel/sync/wait_queue.h"

namespace nimbus::virtio_console {
namespace {

using virtio::Buffer;
using virtio::SplitVirtqueue;

constexpr uint32_t kDeviceIdConsole = 3;
constexpr uint64_t kFeatureMultiport = 1ull << 1;  // VIRTIO_CONSOLE_F_MULTIPORT
constexpr size_t kConfigMaxPorts = 4;              // struct virtio_console_config.max_nr_ports

// 5.3.6.2: struct virtio_console_control and its events.
struct ControlMessage {
  uint32_t id;
  uint16_t event;
  uint16_t value;
};
enum ControlEvent : uint16_t {
  kDeviceReady = 0,
  kDeviceAdd = 1,
  kDeviceRemove = 2,
  kPortReady = 3,
  kPortOpen = 6,
  kPortName = 7,
};

// 5.3.2: queue 0/1 are port 0's, 2/3 the control queues, then two per port from port 1 on.
constexpr uint16_t kControlReceiveQueue = 2;
constexpr uint16_t kControlTransmitQueue = 3;
constexpr uint16_t receive_queue(uint32_t port) { return static_cast<uint16_t>(port == 0 ? 0 : 2 * port + 2); }
constexpr uint16_t transmit_queue(uint32_t port) { return static_cast<uint16_t>(receive_queue(port) + 1); }

// `nimbus run` numbers its ports 1-4 (stdin, stdout, stderr, the --strace trace); higher ids
// are refused (PORT_READY 0).
constexpr uint32_t kMaxPorts = 5;
constexpr uint16_t kQueueSize = 64;
constexpr size_t kControlBufferSize = 256;  // a header and a port name
constexpr size_t kControlBuffers = kPageSize / kControlBufferSize;
constexpr size_t kControlSlots = 64;  // outgoing 8-byte messages, one bit each in g_free_slots
// Each data port gets 64 KiB: sixteen 4 KiB receive buffers, or one transmit buffer.
constexpr unsigned kBufferOrder = 4;
constexpr size_t kReceiveBufferSize = 4096;
constexpr size_t kReceiveBuffers = (kPageSize << kBufferOrder) / kReceiveBufferSize;
constexpr size_t kTransmitBufferSize = kPageSize << kBufferOrder;
constexpr size_t kMaxNameLength = 64;

}  // namespace

// One port. Its state is guarded by g_lock; `reader` and `writer` serialize the threads
// that copy between the program's memory (which may fault, so no spinlock is held) and
// the port's buffers.
struct Port {
  struct Filled {
    uint16_t buffer;
    uint16_t length;
    uint16_t offset;
  };

  uint32_t id = 0;
  bool added = false;
  bool host_open = false;
  bool input_ended = false;  // the host closed the port after having opened it
  // Bytes arrived or the input ended since the consoles reading this port last heard of it
  // (announce_input tells them, outside g_lock).
  bool input_news = false;
  fs::Console* listeners[2] = {};  // the consoles that read this port (poll readiness)
  size_t listener_count = 0;
  char name[kMaxNameLength] = {};
  size_t name_length = 0;
  SplitVirtqueue receive;
  SplitVirtqueue transmit;

  uint64_t receive_buffers = 0;  // physical; 0 until opened for input
  Filled filled[kReceiveBuffers] = {};  // received buffers in arrival order
  size_t filled_head = 0;
  size_t filled_count = 0;
  size_t readable = 0;
  Mutex reader;
  WaitQueue readers;

  uint64_t transmit_buffer = 0;  // physical; 0 until opened for output
  bool transmitting = false;
  Mutex writer;
  WaitQueue writers;
};

namespace {

Spinlock g_lock;  // guards the queues, the ports and everything below
virtio::Transport* g_transport = nullptr;
bool g_present = false;
Port g_ports[kMaxPorts];
uint32_t g_port_count = 0;  // ports with queues: min(max_nr_ports, kMaxPorts)
SplitVirtqueue g_control_receive;
SplitVirtqueue g_control_transmit;
uint64_t g_control_buffers = 0;  // physical: kControlBuffers incoming messages
uint64_t g_control_slots = 0;    // physical: kControlSlots outgoing messages
uint64_t g_free_slots = ~0ull;
WaitQueue g_port_changes;

void notify_locked(SplitVirtqueue& queue, uint16_t index) {
  if (queue.device_wants_notification()) g_transport->notify(index);
}

void post_control_buffer_locked(uint32_t index) {
  Buffer buffer{g_control_buffers + index * kControlBufferSize, kControlBufferSize, true};
  (void)g_control_receive.submit({&buffer, 1}, index);
}

void post_receive_buffer_locked(Port& port, uint32_t index) {
  Buffer buffer{port.receive_buffers + index * kReceiveBufferSize, kReceiveBufferSize, true};
  (void)port.receive.submit({&buffer, 1}, index);
}

// Sends from interrupt context too: the message is copied into a free slot and not waited for.
void send_control_locked(uint32_t id, uint16_t event, uint16_t value) {
  while (auto done = g_control_transmit.pop_used()) g_free_slots |= 1ull << done->token;
  if (g_free_slots == 0) {
    print("virtio-console: control queue full, event %u for port %u dropped\n", event, id);
    return;
  }
  auto slot = static_cast<uint32_t>(std::countr_zero(g_free_slots));
  uint64_t address = g_control_slots + slot * sizeof(ControlMessage);
  *phys_to_virt<ControlMessage>(address) = ControlMessage{id, event, value};
  Buffer buffer{address, sizeof(ControlMessage), false};
  if (!g_control_transmit.submit({&buffer, 1}, slot)) return;
  g_free_slots &= ~(1ull << slot);
  notify_locked(g_control_transmit, kControlTransmitQueue);
}

void handle_control_locked(const ControlMessage& message, const char* extra, size_t extra_length) {
  if (message.event == kDeviceAdd) {
    bool usable = message.id < g_port_count;
    if (usable) g_ports[message.id].added = true;
    send_control_locked(message.id, kPortReady, usable ? 1 : 0);
  }
  if (message.id >= g_port_count) return;
  Port& port = g_ports[message.id];
  switch (message.event) {
    case kDeviceRemove:
      port.added = false;
      port.input_ended = true;
      port.input_news = true;
      port.host_open = false;
      break;
    case kPortName:
      // The name arrives NUL-terminated; a longer one than we keep cannot match ours anyway.
      port.name_length = 0;
      while (port.name_length < extra_length && port.name_length < kMaxNameLength && extra[port.name_length]) {
        port.name[port.name_length] = extra[port.name_length];
        port.name_length++;
      }
      break;
    case kPortOpen:
      // Closing is what a host file or pipe hitting its end looks like: the end of input.
      if (!message.value && port.host_open) port.input_ended = port.input_news = true;
      port.host_open = message.value != 0;
      break;
    default:  // console port, resize: nothing to do for a raw byte stream
      break;
  }
  port.readers.wake_all();
  port.writers.wake_all();
  g_port_changes.wake_all();
}

void reap_control_locked() {
  bool reposted = false;
  while (auto done = g_control_receive.pop_used()) {
    const auto* bytes = phys_to_virt<const char>(g_control_buffers + done->token * kControlBufferSize);
    size_t length = done->written < kControlBufferSize ? done->written : kControlBufferSize;
    if (length >= sizeof(ControlMessage)) {
      ControlMessage message;
      memcpy(&message, bytes, sizeof(message));
      handle_control_locked(message, bytes + sizeof(message), length - sizeof(message));
    }
    post_control_buffer_locked(done->token);
    reposted = true;
  }
  if (reposted) notify_locked(g_control_receive, kControlReceiveQueue);
}

void reap_port_locked(Port& port) {
  if (!port.receive.attached()) return;
  bool received = false, reposted = false;
  while (auto done = port.receive.pop_used()) {
    if (done->written == 0) {
      post_receive_buffer_locked(port, done->token);
      reposted = true;
      continue;
    }
    uint32_t length = done->written < kReceiveBufferSize ? done->written : kReceiveBufferSize;
    port.filled[(port.filled_head + port.filled_count++) % kReceiveBuffers] =
        Port::Filled{static_cast<uint16_t>(done->token), static_cast<uint16_t>(length), 0};
    port.readable += length;
    received = true;
  }
  if (reposted) notify_locked(port.receive, receive_queue(port.id));
  if (received) {
    port.readers.wake_all();
    port.input_news = true;
  }
  if (port.transmit.pop_used()) {
    port.transmitting = false;
    port.writers.wake_all();
  }
}

Port* find_named_locked(std::string_view name) {
  for (uint32_t i = 0; i < g_port_count; i++) {
    Port& port = g_ports[i];
    if (port.added && std::string_view(port.name, port.name_length) == name) return &port;
  }
  return nullptr;
}

void on_device_interrupt(void*, uint16_t);

Result<> start(virtio::Transport& transport) {
  uint64_t features = TRY(transport.negotiate(kFeatureMultiport));
  if (!(features & kFeatureMultiport)) {
    print("nimbus: virtio-console without named ports (no MULTIPORT); using the serial console\n");
    transport.fail();
    return error(Errno::enodev);
  }
  uint32_t max_ports = transport.config32(kConfigMaxPorts);
  g_port_count = max_ports < kMaxPorts ? max_ports : kMaxPorts;
  // Every vector (one per queue with MSI-X, one line on virtio-mmio) reaps every queue: the
  // conversation on the control queue and the data ports depend on each other anyway.
  if (auto routed = transport.set_interrupt_handler(on_device_interrupt, nullptr); !routed) {
    transport.fail();
    return routed;
  }
  TRY(transport.set_up_queue(kControlReceiveQueue, g_control_receive, kQueueSize));
  TRY(transport.set_up_queue(kControlTransmitQueue, g_control_transmit, kQueueSize));
  for (uint32_t id = 0; id < g_port_count; id++) {
    g_ports[id].id = id;
    TRY(transport.set_up_queue(receive_queue(id), g_ports[id].receive, kQueueSize));
    TRY(transport.set_up_queue(transmit_queue(id), g_ports[id].transmit, kQueueSize));
  }
  g_control_buffers = TRY(frames::allocate(0));
  g_control_slots = TRY(frames::allocate(0));
  for (uint32_t i = 0; i < kControlBuffers; i++) post_control_buffer_locked(i);
  static_assert(kControlSlots * sizeof(ControlMessage) <= kPageSize && kControlSlots <= 64);
  g_transport = &transport;
  SpinlockGuard guard(g_lock);
  g_transport->driver_ok();
  g_present = true;
  send_control_locked(0, kDeviceReady, 1);
  return {};
}

}  // namespace

bool init(std::span<virtio::Transport* const> devices) {
  for (virtio::Transport* transport : devices) {
    if (transport->device_id() != kDeviceIdConsole) continue;
    if (auto started = start(*transport); !started) {
      print("nimbus: virtio-console (%s) cannot start (error %d); using the serial console\n",
            transport->location(), static_cast<int>(started.error()));
      return false;
    }
    log("virtio-console: %s, %u ports\n", transport->location(), g_port_count);
    return true;
  }
  return false;
}

bool present() { return g_present; }

namespace {

// Tells the consoles reading each port with news that it may be readable now. Outside
// g_lock: poll and epoll callbacks may ask for readiness, which takes g_lock.
void announce_input() {
  for (uint32_t i = 0; i < g_port_count; i++) {
    Port& port = g_ports[i];
    g_lock.lock_raw();
    bool news = port.input_news;
    port.input_news = false;
    g_lock.unlock_raw();
    if (!news) continue;
    for (size_t j = 0; j < port.listener_count; j++) port.listeners[j]->input_arrived();
  }
}

}  // namespace

namespace {

void on_device_interrupt(void*, uint16_t) {
  if (!g_present) return;
  g_lock.lock_raw();  // interrupts are off in handlers
  g_transport->acknowledge_interrupt();
  reap_control_locked();
  for (uint32_t i = 0; i < g_port_count; i++) reap_port_locked(g_ports[i]);
  g_lock.unlock_raw();
  announce_input();
}

}  // namespace

void listen_for_input(Port& port, fs::Console& console) {
  SpinlockGuard guard(g_lock);
  if (port.listener_count < sizeof(port.listeners) / sizeof(port.listeners[0]))
    port.listeners[port.listener_count++] = &console;
}

Port* open_port(std::string_view name, PortUse use, uint64_t deadline_ns) {
  if (!g_present) return nullptr;
  bool interrupts = g_lock.lock();
  Port* port = find_named_locked(name);
  while (!port && g_port_changes.wait_until(g_lock, deadline_ns)) port = find_named_locked(name);
  if (!port) port = find_named_locked(name);
  g_lock.unlock(interrupts);
  if (!port) return nullptr;

  // Buffers come from the frame allocator outside the lock.
  if (use == PortUse::input && !port->receive_buffers) {
    auto buffers = frames::allocate(kBufferOrder);
    if (!buffers) return nullptr;
    SpinlockGuard guard(g_lock);
    port->receive_buffers = *buffers;
    for (uint32_t i = 0; i < kReceiveBuffers; i++) post_receive_buffer_locked(*port, i);
    notify_locked(port->receive, receive_queue(port->id));
  }
  if (use == PortUse::output && !port->transmit_buffer) {
    auto buffer = frames::allocate(kBufferOrder);
    if (!buffer) return nullptr;
    port->transmit_buffer = *buffer;
  }
  SpinlockGuard guard(g_lock);
  send_control_locked(port->id, kPortOpen, 1);  // the guest side is open: the host may send
  return port;
}

Result<size_t> write(Port& port, std::span<const std::byte> data) {
  if (!port.transmit_buffer) return error(Errno::ebadf);
  MutexGuard guard(port.writer);
  size_t done = 0;
  while (done < data.size()) {
    size_t chunk = data.size() - done < kTransmitBufferSize ? data.size() - done : kTransmitBufferSize;
    memcpy(phys_to_virt(port.transmit_buffer), data.data() + done, chunk);
    bool interrupts = g_lock.lock();
    Buffer buffer{port.transmit_buffer, static_cast<uint32_t>(chunk), false};
    if (!port.transmit.submit({&buffer, 1}, 0)) {
      g_lock.unlock(interrupts);
      return error(Errno::eio);
    }
    port.transmitting = true;
    notify_locked(port.transmit, transmit_queue(port.id));
    // QEMU usually takes the bytes during the notification itself: no interrupt to wait for.
    reap_port_locked(port);
    while (port.transmitting) port.writers.wait(g_lock);
    g_lock.unlock(interrupts);
    done += chunk;
  }
  return done;
}

Result<size_t> read(Port& port, std::span<std::byte> buffer, bool nonblocking) {
  if (buffer.empty()) return 0;
  if (!port.receive_buffers) return error(Errno::ebadf);
  MutexGuard guard(port.reader);
  bool interrupts = g_lock.lock();
  while (port.readable == 0 && !port.input_ended) {
    if (nonblocking) {
      g_lock.unlock(interrupts);
      return error(Errno::eagain);
    }
    if (port.readers.wait_interruptible(g_lock, kNoDeadline) == WaitResult::interrupted) {
      g_lock.unlock(interrupts);
      return error(Errno::erestartsys);  // a signal: EINTR, or a restart under SA_RESTART
    }
  }
  size_t copied = 0;
  bool reposted = false;
  while (copied < buffer.size() && port.filled_count) {
    // Only this reader consumes filled buffers, so the entry stays put while the copy into
    // the program's memory (which may fault) runs without the spinlock.
    Port::Filled filled = port.filled[port.filled_head];
    g_lock.unlock(interrupts);
    size_t n = filled.length - filled.offset;
    if (n > buffer.size() - copied) n = buffer.size() - copied;
    memcpy(buffer.data() + copied,
           phys_to_virt<std::byte>(port.receive_buffers + filled.buffer * kReceiveBufferSize) + filled.offset, n);
    copied += n;
    interrupts = g_lock.lock();
    Port::Filled& entry = port.filled[port.filled_head];
    entry.offset = static_cast<uint16_t>(entry.offset + n);
    port.readable -= n;
    if (entry.offset == entry.length) {
      port.filled_head = (port.filled_head + 1) % kReceiveBuffers;
      port.filled_count--;
      post_receive_buffer_locked(port, entry.buffer);
      reposted = true;
    }
  }
  if (reposted) notify_locked(port.receive, receive_queue(port.id));
  g_lock.unlock(interrupts);
  return copied;
}

size_t readable_bytes(Port& port) {
  SpinlockGuard guard(g_lock);
  return port.readable;
}

bool input_ended(Port& port) {
  SpinlockGuard guard(g_lock);
  return port.input_ended && port.readable == 0;
}

}  // namespace nimbus::virtio_console
