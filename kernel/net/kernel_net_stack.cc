// The kernel's NetEnvironment and NetStack: clocks and randomness from the kernel, a worker
// thread that runs poll() when asked or when a timer is due, and the network boot stage.
#include "kernel/net/kernel_net_stack.h"

#include <atomic>
#include <cstring>
#include <new>

#include "kernel/drivers/virtio/net.h"
#include "kernel/fs/kernel_random.h"
#include "kernel/lib/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/linux/process.h"
#include "kernel/net/dhcp_client.h"
#include "kernel/net/loopback_device.h"
#include "kernel/net/net_environment.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/tcp/tcp_protocol.h"
#include "kernel/net/netlink/stack_route_source.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/spinlock.h"
#include "kernel/sync/wait_queue.h"
#include "kernel/time/clock.h"

namespace nimbus::net {
namespace {

class KernelNetEnvironment final : public NetEnvironment {
 public:
  uint64_t now_ns() override { return clock::monotonic_ns(); }
  uint64_t wall_seconds() override { return clock::wall_ns() / 1'000'000'000; }
  uint64_t wall_ns() override { return clock::wall_ns(); }
  // Any thread, stack locks possibly held: only sets a flag and wakes the worker.
  void request_poll() override {
    SpinlockGuard guard(m_lock);
    m_poll_requested = true;
    m_worker_wakeup.wake_all();
  }
  // A TCP exchange arms and disarms timers at every request (delayed ACK, retransmission):
  // waking the worker for each would cost two thread switches per request. The worker only
  // needs waking when it sleeps past the new deadline; while it runs (m_sleep_until == 0) the
  // flag makes it poll again before it sleeps.
  void request_poll_by(uint64_t deadline_ns) override {
    SpinlockGuard guard(m_lock);
    if (m_sleep_until != 0 && deadline_ns >= m_sleep_until) return;
    m_poll_requested = true;
    if (m_sleep_until != 0) m_worker_wakeup.wake_all();
  }
  uint64_t random64() override {
    uint64_t value;
    fs::kernel_random().fill({reinterpret_cast<std::byte*>(&value), sizeof(value)});
    return value;
  }

  // The worker: poll() whenever asked, or when the deadline it last returned passes.
  [[noreturn]] void run_worker(NetStack& stack) {
    uint64_t deadline = 0;
    for (;;) {
      bool interrupts = m_lock.lock();
      m_sleep_until = deadline == kNoTimer || deadline == 0 ? UINT64_MAX : deadline;
      while (!m_poll_requested && clock::monotonic_ns() < deadline &&
             m_worker_wakeup.wait_until(m_lock, deadline == kNoTimer ? kNoDeadline : deadline)) {
      }
      m_poll_requested = false;
      m_sleep_until = 0;
      m_lock.unlock(interrupts);
      deadline = stack.poll();
    }
  }

 private:
  Spinlock m_lock;  // guards m_poll_requested and the wait queue
  bool m_poll_requested = false;
  // The deadline the worker sleeps until (UINT64_MAX: none), 0 while it runs poll().
  uint64_t m_sleep_until = 0;
  WaitQueue m_worker_wakeup;
};

// Static storage: the stack lives as long as the kernel, and a failed boot stage leaves
// nothing half-freed behind threads that may still run.
alignas(KernelNetEnvironment) std::byte g_environment_storage[sizeof(KernelNetEnvironment)];
alignas(NetStack) std::byte g_stack_storage[sizeof(NetStack)];
alignas(LoopbackDevice) std::byte g_loopback_storage[sizeof(LoopbackDevice)];
alignas(netlink::StackRouteSource) std::byte g_route_source_storage[sizeof(netlink::StackRouteSource)];
std::atomic<netlink::RouteSource*> g_route_source{nullptr};
KernelNetEnvironment* g_environment = nullptr;
std::atomic<NetStack*> g_stack{nullptr};

// How long boot waits for the first DHCP lease before the program starts anyway (the
// client keeps trying; slirp answers at once).
constexpr uint64_t kLeaseWaitNs = 5'000'000'000;

char g_hostname[64] = "nimbus";
// Guarded by g_identity_lock: the DHCP listener updates it from the stack's threads.
Spinlock g_identity_lock;
KernelNetworkIdentity g_identity{"nimbus", {}, {}};
bool g_hostname_given = false;
bool g_dns_given = false;
WaitQueue g_lease_waiters;
bool g_leased = false;
alignas(DhcpClient) std::byte g_dhcp_storage[sizeof(DhcpClient)];

void set_hostname_locked(std::string_view name) {
  if (name.empty() || name.size() >= sizeof(g_hostname)) return;
  memcpy(g_hostname, name.data(), name.size());
  g_hostname[name.size()] = '\0';
  g_identity.hostname = {g_hostname, name.size()};
}

// The DHCP client's news: the address, DNS server and host name it leased (the command
// line's dns= and hostname= win), or their loss.
void on_lease(void*, const DhcpLease& lease, bool bound) {
  SpinlockGuard guard(g_identity_lock);
  g_identity.address = bound ? lease.address : Ipv4Address{};
  if (bound && !g_dns_given && lease.dns_server_count) g_identity.dns = lease.dns_servers[0];
  if (bound && !g_hostname_given && lease.host_name[0]) set_hostname_locked(lease.host_name);
  if (bound) {
    uint32_t v = lease.address.value;
    log("net: DHCP lease %u.%u.%u.%u/%u for %u s\n", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff,
        lease.prefix_length, lease.lease_seconds);
    g_leased = true;
    g_lease_waiters.wake_all();
  } else {
    log("net: DHCP lease lost\n");
  }
}

// Each virtio-net device's receive thread hands frames to the stack with its interface index.
struct DeviceBinding {
  NetStack* stack = nullptr;
  uint32_t interface_index = 0;
};
DeviceBinding g_bindings[virtio_net::kMaxDevices];

void deliver_to_stack(void* context, Packet* packet) {
  auto& binding = *static_cast<DeviceBinding*>(context);
  packet->interface_index = binding.interface_index;
  binding.stack->receive(binding.interface_index, packet);
}

void worker_entry(void* argument) { g_environment->run_worker(*static_cast<NetStack*>(argument)); }

void print_address(const char* what, const char* name, Ipv4Address address, uint8_t prefix_length) {
  uint32_t v = address.value;
  log("net: %s %s %u.%u.%u.%u/%u\n", name, what, v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff,
      prefix_length);
}

size_t clamp_length(size_t produced, size_t size) { return produced < size ? produced : (size ? size - 1 : 0); }

}  // namespace

NetStack* kernel_net_stack() { return g_stack.load(std::memory_order_acquire); }

void drain_kernel_network(uint64_t deadline_ns) {
  NetStack* stack = kernel_net_stack();
  if (!stack) return;
  constexpr size_t kRows = 256;
  auto* rows = new (kNoThrow) TcpConnectionRow[kRows];
  if (!rows) return;
  // Linux's state numbers, as TcpConnectionRow has them.
  constexpr uint8_t kFinWait1 = 4, kTimeWait = 6, kClose = 7, kLastAck = 9, kListen = 10, kClosing = 11;
  while (clock::monotonic_ns() < deadline_ns) {
    size_t count = stack->tcp().list_connections({rows, kRows});
    bool pending = false;
    for (size_t i = 0; i < count && i < kRows && !pending; i++) {
      uint8_t state = rows[i].state;
      if (state == kListen || state == kTimeWait || state == kClose) continue;
      pending = rows[i].send_queue > 0 || state == kFinWait1 || state == kClosing || state == kLastAck;
    }
    if (!pending) break;
    scheduler::sleep_for(5'000'000);
  }
  delete[] rows;
  // Then the devices: what they hold has not left the machine yet.
  for (size_t i = 0; i < virtio_net::device_count(); i++)
    while (!virtio_net::device(i)->transmit_idle() && clock::monotonic_ns() < deadline_ns) scheduler::sleep_for(1'000'000);
}
netlink::RouteSource* kernel_route_source() { return g_route_source.load(std::memory_order_acquire); }

Result<NetStack*> start_kernel_network(const KernelNetworkConfig& config) {
  if (NetStack* existing = kernel_net_stack()) return existing;
  // Ephemeral ports and sequence numbers need it before the file layer (which also seeds
  // it) exists; seeding twice only mixes in more.
  fs::kernel_random().init();
  g_environment = new (g_environment_storage) KernelNetEnvironment();
  auto* stack = new (g_stack_storage) NetStack(*g_environment);
  auto* loopback = new (g_loopback_storage) LoopbackDevice(*stack);
  TRY(LoopbackDevice::attach(*stack, *loopback));
  Thread* worker = TRY(Thread::try_create("net-worker", worker_entry, stack));
  worker->detach();

  uint32_t first_ethernet = 0;
  for (size_t i = 0; i < virtio_net::device_count(); i++) {
    virtio_net::Device* device = virtio_net::device(i);
    auto index = stack->add_interface(*device);
    if (!index) {
      print("nimbus: network: cannot add %s (error %d)\n", device->name(), static_cast<int>(index.error()));
      continue;
    }
    g_bindings[i] = DeviceBinding{stack, *index};
    device->set_receive_handler(deliver_to_stack, &g_bindings[i]);
    // IPv6 on every link: a link-local address now, SLAAC from router advertisements.
    if (auto enabled = stack->enable_ipv6(*index); !enabled)
      print("nimbus: network: no IPv6 on %s (error %d)\n", device->name(), static_cast<int>(enabled.error()));
    if (!first_ethernet) first_ethernet = *index;
  }

  {
    SpinlockGuard guard(g_identity_lock);
    g_hostname_given = !config.hostname.empty();
    if (g_hostname_given) set_hostname_locked(config.hostname);
    g_dns_given = !config.dns.is_any();
    g_identity.dns = config.dns;
  }
  g_route_source.store(new (g_route_source_storage) netlink::StackRouteSource(*stack, linux::kInitPid),
                       std::memory_order_release);
  g_stack.store(stack, std::memory_order_release);
  if (!first_ethernet) return stack;
  const char* name = stack->device(first_ethernet)->name();
  if (config.static_ip) {
    TRY(stack->set_ipv4_address(first_ethernet, {config.address, config.prefix_length}));
    {
      SpinlockGuard guard(g_identity_lock);
      g_identity.address = config.address;
    }
    print_address("address", name, config.address, config.prefix_length);
    if (!config.gateway.is_any()) TRY(stack->set_ipv4_gateway(config.gateway));
    return stack;
  }
  // No ip=: DHCP. The program starts once the first lease is in (its /etc files name the
  // address), or after kLeaseWaitNs without one; the client keeps trying either way.
  auto* dhcp = new (g_dhcp_storage) DhcpClient(*stack, first_ethernet);
  dhcp->set_listener(on_lease, nullptr);
  TRY(dhcp->start());
  uint64_t deadline = clock::monotonic_ns() + kLeaseWaitNs;
  bool interrupts = g_identity_lock.lock();
  while (!g_leased && g_lease_waiters.wait_until(g_identity_lock, deadline)) {
  }
  bool leased = g_leased;
  g_identity_lock.unlock(interrupts);
  if (!leased) print("nimbus: %s: no DHCP lease yet; the program starts without an address\n", name);
  if (leased && !config.gateway.is_any()) TRY(stack->set_ipv4_gateway(config.gateway));
  return stack;
}

KernelNetworkIdentity kernel_network_identity() {
  SpinlockGuard guard(g_identity_lock);
  return g_identity;
}

size_t format_etc_hosts(const KernelNetworkIdentity& identity, char* buffer, size_t size) {
  int name_length = static_cast<int>(identity.hostname.size());
  const char* name = identity.hostname.data();
  size_t length = clamp_length(format_to(buffer, size, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
                               size);
  uint32_t v = identity.address.value;
  // Debian's convention without a fixed address: the host name on 127.0.1.1.
  if (identity.address.is_any()) v = 0x7f000101;
  length += clamp_length(format_to(buffer + length, size - length, "%u.%u.%u.%u\t%.*s\n", v >> 24, (v >> 16) & 0xff,
                                   (v >> 8) & 0xff, v & 0xff, name_length, name),
                         size - length);
  return length;
}

size_t format_resolv_conf(const KernelNetworkIdentity& identity, char* buffer, size_t size) {
  if (size) buffer[0] = '\0';
  if (identity.dns.is_any()) return 0;
  uint32_t v = identity.dns.value;
  return clamp_length(
      format_to(buffer, size, "nameserver %u.%u.%u.%u\n", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff),
      size);
}

}  // namespace nimbus::net
