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
  // A timer now due at `deadline_ns` became the earliest: poll() must run by then. The
  // default asks at once; the kernel's worker wakes only when it would otherwise sleep past
  // the deadline (a stale earlier deadline is as good: poll() then computes the next one).
  virtual void request_poll_by(uint64_t deadline_ns) {
    (void)deadline_ns;
    request_poll();
  }
  // Unpredictable bits: initial sequence numbers, ephemeral ports, SYN cookie secrets, DHCP
  // transaction ids.
  virtual uint64_t random64() = 0;

 protected:
  ~NetEnvironment() = default;
};

}  // namespace nimbus::net
