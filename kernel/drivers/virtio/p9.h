// virtio-9p (virtio 1.2, 5.11): a host directory shared through QEMU's -fsdev/-device
// virtio-9p-*, found by its mount tag. The transport carries one 9P request and its reply
// at a time; the 9P2000.L client (kernel/fs/9p) speaks the protocol over it.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "kernel/drivers/virtio/transport.h"
#include "kernel/lib/result.h"

namespace nimbus::virtio_9p {

// The largest message either side sends (Tversion's msize): 64 KiB of data and the header.
constexpr size_t kMessageSize = 64 * 1024 + 4096;

class Channel {
 public:
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  virtual const char* tag() const = 0;
  // Sends the first `length` bytes of request_buffer() and waits for the reply, which then
  // fills reply_buffer(); returns its length as the device wrote it. The caller serialises
  // its use (one request at a time). Thread context.
  virtual Result<size_t> exchange(size_t length) = 0;
  virtual std::span<std::byte> request_buffer() = 0;
  virtual std::span<const std::byte> reply_buffer() = 0;

 protected:
  Channel() = default;
  ~Channel() = default;
};

// Starts every virtio-9p device among `devices`; returns how many.
size_t init(std::span<virtio::Transport* const> devices);
// The device whose mount tag is `tag`, or null.
Channel* find(std::string_view tag);

}  // namespace nimbus::virtio_9p
