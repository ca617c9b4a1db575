// LoopbackDevice: "lo", the interface whose transmit is its own receive. Frames are IP
// datagrams (no link header) and are handed back through NetStack::defer_receive, so a
// sender never re-enters the stack's receive path from inside its own send.
#pragma once

#include "kernel/net/net_device.h"
#include "kernel/net/net_stack.h"

namespace nimbus::net {

class LoopbackDevice final : public NetDevice {
 public:
  static constexpr uint32_t kMtu = 65536;

  explicit LoopbackDevice(NetStack& stack) : m_stack(stack) {}
  // Adds the device to `stack` as an interface with 127.0.0.1/8; returns its index.
  static Result<uint32_t> attach(NetStack& stack, LoopbackDevice& device);

  const char* name() const override { return "lo"; }
  MacAddress mac() const override { return {}; }
  uint32_t mtu() const override { return kMtu; }
  DeviceFeatures features() const override;
  Result<> transmit(Packet* packet) override;
  DeviceStatistics statistics() const override;

 private:
  NetStack& m_stack;
  uint32_t m_interface_index = 0;
  Mutex m_lock;  // guards m_statistics
  DeviceStatistics m_statistics;
};

}  // namespace nimbus::net
