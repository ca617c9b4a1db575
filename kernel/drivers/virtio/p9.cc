// virtio-9p: the mount tag (5.11.4), one request queue, and a request/reply exchange that
// sleeps until the device has used the chain (5.11.6).
#include "kernel/drivers/virtio/p9.h"

#include <cstring>
#include <new>

#include "kernel/drivers/virtio/virtqueue.h"
#include "kernel/lib/console.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/physical.h"
#include "kernel/sync/mutex.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::virtio_9p {
namespace {

constexpr uint32_t kDeviceId9p = 9;
constexpr uint64_t kFeatureMountTag = 1ull << 0;  // VIRTIO_9P_MOUNT_TAG
constexpr size_t kConfigTagLength = 0, kConfigTag = 2;
constexpr size_t kMaxTag = 64;
constexpr unsigned kBufferOrder = 5;  // 128 KiB: more than kMessageSize
static_assert((kPageSize << kBufferOrder) >= kMessageSize);
constexpr size_t kMaxDevices = 8;

class Device final : public Channel {
 public:
  explicit Device(virtio::Transport& transport) : m_transport(transport) {}
  const char* tag() const override { return m_tag; }
  Result<size_t> exchange(size_t length) override;
  std::span<std::byte> request_buffer() override { return {m_request, kMessageSize}; }
  std::span<const std::byte> reply_buffer() override { return {m_reply, kMessageSize}; }
  Result<> start();

 private:
  static void on_interrupt(void* context, uint16_t queue);

  virtio::Transport& m_transport;
  char m_tag[kMaxTag + 1] = {};
  Spinlock m_lock;  // guards the queue; taken in the interrupt handler too
  virtio::SplitVirtqueue m_queue;
  Semaphore m_done{0};
  size_t m_written = 0;
  bool m_lost = false;  // the device used a chain it was not given
  std::byte* m_request = nullptr;
  uint64_t m_request_physical = 0;
  std::byte* m_reply = nullptr;
  uint64_t m_reply_physical = 0;
};

Result<size_t> Device::exchange(size_t length) {
  if (length == 0 || length > kMessageSize) return error(Errno::einval);
  virtio::Buffer buffers[2] = {{m_request_physical, static_cast<uint32_t>(length), false},
                               {m_reply_physical, static_cast<uint32_t>(kMessageSize), true}};
  bool interrupts = m_lock.lock();
  bool submitted = m_queue.submit(buffers, 1).has_value();
  if (submitted && m_queue.device_wants_notification()) m_transport.notify(0);
  m_lock.unlock(interrupts);
  if (!submitted) return error(Errno::ebusy);
  m_done.acquire();
  if (m_lost) return error(Errno::eio);
  return m_written;
}

void Device::on_interrupt(void* context, uint16_t) {
  auto& device = *static_cast<Device*>(context);
  device.m_transport.acknowledge_interrupt();
  device.m_lock.lock_raw();
  for (;;) {
    while (auto used = device.m_queue.pop_used()) {
      device.m_written = used->written;
      device.m_lost = used->token != 1;
      device.m_done.release();
    }
    device.m_queue.suppress_interrupts(false);
    if (!device.m_queue.has_used()) break;
  }
  device.m_lock.unlock_raw();
}

Result<> Device::start() {
  uint64_t features = TRY(m_transport.negotiate(kFeatureMountTag));
  TRY(m_transport.set_interrupt_handler(on_interrupt, this));
  if (features & kFeatureMountTag) {
    size_t length = m_transport.config16(kConfigTagLength);
    if (length > kMaxTag) length = kMaxTag;
    for (size_t i = 0; i < length; i++) m_tag[i] = static_cast<char>(m_transport.config8(kConfigTag + i));
  }
  TRY(m_transport.set_up_queue(0, m_queue, 16));
  m_request_physical = TRY(frames::allocate(kBufferOrder));
  m_reply_physical = TRY(frames::allocate(kBufferOrder));
  m_request = phys_to_virt<std::byte>(m_request_physical);
  m_reply = phys_to_virt<std::byte>(m_reply_physical);
  m_transport.driver_ok();
  return {};
}

Device* g_devices[kMaxDevices];
size_t g_count = 0;

}  // namespace

size_t init(std::span<virtio::Transport* const> devices) {
  for (virtio::Transport* transport : devices) {
    if (transport->device_id() != kDeviceId9p || g_count == kMaxDevices) continue;
    auto* device = new (kNoThrow) Device(*transport);
    if (!device) break;
    if (auto started = device->start(); !started) {
      print("nimbus: virtio-9p (%s) cannot start (error %d)\n", transport->location(),
            static_cast<int>(started.error()));
      continue;
    }
    g_devices[g_count++] = device;
    log("virtio-9p: %s, tag '%s'\n", transport->location(), device->tag());
  }
  return g_count;
}

Channel* find(std::string_view tag) {
  for (size_t i = 0; i < g_count; i++)
    if (tag == g_devices[i]->tag()) return g_devices[i];
  return nullptr;
}

}  // namespace nimbus::virtio_9p
