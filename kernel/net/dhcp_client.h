// DhcpClient: a DHCPv4 client (RFC 2131, options from RFC 2132) for one interface. It sends
// from 0.0.0.0 to the broadcast address straight through the interface (no socket), takes
// the replies through a NetStack UDP hook on port 68, applies the address, prefix and
// default gateway to the stack, and renews and rebinds on the stack's timers, so the whole
// exchange runs in host tests against a scripted server.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.h"
#include "kernel/net/ip_address.h"
#include "kernel/net/net_device.h"
#include "kernel/net/net_stack.h"
#include "kernel/sync/mutex.h"

namespace nimbus::net {

// What the client learnt, for the kernel to write /etc/resolv.conf, /etc/hosts and the
// host name from.
struct DhcpLease {
  static constexpr size_t kMaxDnsServers = 4;
  static constexpr size_t kMaxName = 64;

  Ipv4Address address;
  uint8_t prefix_length = 0;
  Ipv4Address router;  // 0.0.0.0: none offered
  Ipv4Address server;  // the DHCP server that granted it
  Ipv4Address dns_servers[kMaxDnsServers];
  size_t dns_server_count = 0;
  char domain_name[kMaxName] = {};  // option 15, NUL-terminated ("" if none)
  char host_name[kMaxName] = {};    // option 12
  uint32_t mtu = 0;                 // option 26 (0: none)
  uint32_t lease_seconds = 0;       // 0xffffffff: infinite
  uint32_t renewal_seconds = 0;     // T1
  uint32_t rebinding_seconds = 0;   // T2
  uint64_t obtained_ns = 0;         // monotonic time of the ACK
};

class DhcpClient {
 public:
  enum class State : uint8_t { stopped, selecting, requesting, bound, renewing, rebinding };
  // Told about every lease applied (bound = true) or lost (bound = false). Runs on the
  // stack's receive or timer path, with no lock held.
  using Listener = void (*)(void* context, const DhcpLease& lease, bool bound);

  DhcpClient(NetStack& stack, uint32_t interface_index);
  ~DhcpClient();
  DhcpClient(const DhcpClient&) = delete;
  DhcpClient& operator=(const DhcpClient&) = delete;

  void set_listener(Listener listener, void* context);
  // Starts discovery (ENOSPC: the stack has no room for another UDP hook).
  Result<> start();
  // Stops: no more messages or timers; the address stays as it is.
  void stop();

  State state();
  bool has_lease();
  DhcpLease lease();

  // Retransmission bounds (RFC 2131 4.1: 4 s doubling to 64 s, randomized by +-1 s).
  static constexpr uint64_t kFirstRetransmitNs = 4'000'000'000ull;
  static constexpr uint64_t kMaxRetransmitNs = 64'000'000'000ull;
  static constexpr int kRequestAttempts = 4;  // REQUESTs before starting over

 private:
  static void on_datagram(void* context, const IpReceiveInfo& info, Packet* packet);
  static void on_timer(NetTimer& timer);
  struct Reply;
  void handle(const Reply& reply);
  void timer_fired();
  // Lock held.
  void send_discover();
  void send_request();
  void schedule_retransmit();
  void restart();
  void drop_lease();
  bool send(uint8_t message_type, Ipv4Address source, Ipv4Address destination, Ipv4Address client_address,
            bool with_request_options);
  void notify(bool bound);

  NetStack& m_stack;
  uint32_t m_interface_index;
  MacAddress m_mac{};
  Mutex m_lock;  // guards what follows
  State m_state = State::stopped;
  uint32_t m_xid = 0;
  int m_attempt = 0;
  uint64_t m_started_ns = 0;  // for the secs field
  Ipv4Address m_offered;
  Ipv4Address m_offer_server;
  DhcpLease m_lease;
  bool m_has_lease = false;
  NetTimer m_timer;
  Listener m_listener = nullptr;
  void* m_listener_context = nullptr;
  // Lease events to report once the lock is released.
  bool m_pending_notify = false;
  bool m_pending_bound = false;
};

}  // namespace nimbus::net
