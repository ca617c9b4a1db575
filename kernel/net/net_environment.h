// NetEnvironment: what the network stack needs from the rest of the kernel, injected so the
// same protocol code runs in host unit tests over a virtual clock.
#pragma once

#include <cstdint>

namespace nimbus::net {

class NetEnvironment {
 public:
  // Monotonic nanoseconds.
  virtual uint64_t now_ns() = 0;
  // Wall-clock seconds since the epoch (for nothing protocol-critical: DHCP lease logs).
  virtual uint64_t wall_seconds() = 0;
  // Wall-clock nanoseconds since the epoch (SO_TIMESTAMP, SIOCGSTAMP).
  virtual uint64_t wall_ns() { return wall_seconds() * 1'000'000'000; }
  // Asks for NetStack::poll() to run soon on the stack's worker (deferred packets such as
  // loopback's, or a timer armed earlier than the worker's current deadline). May be called
  // with stack locks held; must not call back into the stack.
  virtual void request_poll() = 0;
  // Unpredictable bits: initial sequence numbers, ephemeral ports, SYN cookie secrets, DHCP
  // transaction ids.
  virtual uint64_t random64() = 0;

 protected:
  ~NetEnvironment() = default;
};

}  // namespace nimbus::net
