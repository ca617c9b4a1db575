// VirtualEnvironment: a NetEnvironment for host tests, with a clock that only moves when the
// test says so and seeded randomness, so every run of a test sees the same packets.
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/net/net_environment.h"

namespace nimbus::net::test {

class VirtualEnvironment final : public nimbus::net::NetEnvironment {
 public:
  // The clock and the poll counter may be used from several threads (a thread moving the
  // clock under a blocked receive, senders asking for polls); random64 is for one thread
  // at a time (the stack calls it under its locks).
  explicit VirtualEnvironment(uint64_t seed = 1, uint64_t start_ns = 1'000'000'000) : m_now(start_ns), m_state(seed | 1) {}

  uint64_t now_ns() override { return m_now.load(); }
  uint64_t wall_seconds() override { return 1'700'000'000 + m_now.load() / 1'000'000'000; }
  void request_poll() override { m_poll_requests.fetch_add(1); }
  // xorshift64*: deterministic, good enough for ports and sequence numbers in tests.
  uint64_t random64() override {
    m_state ^= m_state >> 12;
    m_state ^= m_state << 25;
    m_state ^= m_state >> 27;
    return m_state * 0x2545f4914f6cdd1dull;
  }

  void advance(uint64_t ns) { m_now += ns; }
  void set_now(uint64_t ns) {
    if (ns > m_now.load()) m_now.store(ns);
  }
  // How many request_poll() calls since the last take (the harness polls when non-zero).
  uint64_t take_poll_requests() { return m_poll_requests.exchange(0); }

 private:
  std::atomic<uint64_t> m_now;  // a test's helper thread may move it
  uint64_t m_state;
  std::atomic<uint64_t> m_poll_requests{0};  // sockets on other threads ask too
};

}  // namespace nimbus::net::test
