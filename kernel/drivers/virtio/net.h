// virtio-net (virtio 1.2, 5.1) over virtio-mmio or virtio-pci: one queue pair per vCPU when
// the device has multiqueue (else one pair), each device a net::NetDevice named eth0, eth1, ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/net/net_device.h"
#include "kernel/drivers/virtio/transport.h"

namespace nimbus::virtio_net {

constexpr size_t kMaxDevices = 4;

// Where a device's receive thread hands each arriving frame (it owns the packet from then
// on). Runs in thread context; without a handler, frames are dropped and counted.
using ReceiveHandler = void (*)(void* context, net::Packet* packet);

class Device;

// Starts every virtio-net device among `devices` (up to kMaxDevices), each with a receive
// thread per queue pair. Needs interrupts and the scheduler. Returns how many started.
size_t init(std::span<virtio::Transport* const> devices);
size_t device_count();
Device* device(size_t index);

// The driver state behind net.cc; only what the network stage and the self-test use.
class Device final : public net::NetDevice {
 public:
  const char* name() const override;
  net::MacAddress mac() const override;
  uint32_t mtu() const override;
  net::DeviceFeatures features() const override;
  Result<> transmit(net::Packet* packet) override;
  net::DeviceStatistics statistics() const override;
  size_t queue_count() const override;
  net::QueueStatistics queue_statistics(size_t pair) const override;

  // The device reports its link up (always true without VIRTIO_NET_F_STATUS).
  bool link_up() const;
  // Whether the device has taken every frame it was given (finished ones are reclaimed):
  // QEMU sends them from its own loop, so a VM that powers off sooner loses them.
  bool transmit_idle();
  void set_receive_handler(ReceiveHandler handler, void* context);

  struct State;
  explicit Device(State& state) : m_state(state) {}

 private:
  State& m_state;
};

}  // namespace nimbus::virtio_net
